"""The encoder and decoder networks, laid out so their state dicts load from the weight files.

- ``vgg``: the real normalised VGG-19 up to relu3_1 and its decoders (also the loss and
  metric network, ``LossNetwork``);
- ``cd16x``: the 16×-compressed VGG-19 encoders/decoders for relu1_1 … relu5_1, which the
  stylization cascades run;
- ``layers``: their building blocks, written for speed on a CPU with the same results.
"""
