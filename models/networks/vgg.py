"""The normalised VGG-19 (Gatys et al.; Huang & Belongie) up to relu3_1, and its decoders.

Flat ``nn.Sequential`` stacks whose indices match the weight files (and the classic AdaIN
``vgg`` layer list), so a state dict loads with ``strict=True`` and the code can be held
against the papers line by line. Only levels 1–3 exist: the deeper VGG-19 layers were not
released with these weights, and nothing here pretends otherwise.

Input: RGB in [0, 1], shape (N, 3, H, W). Index 0 is a fixed 1×1 conv that turns it into
Caffe's BGR×255 minus the ImageNet mean, which is what the VGG weights expect.
"""

import torch
from torch import nn
from torch.nn import functional as F

LEVELS = (1, 2, 3)
CHANNELS = {1: 64, 2: 128, 3: 256}  # width of relu{level}_1
# Sequential length of the encoder that ends at relu{level}_1 (relu1_1 is index 3, ...).
_ENCODER_END = {1: 4, 2: 11, 3: 18}


class ReflectionPad1(nn.Module):
    """``nn.ReflectionPad2d(1)``, with a gradient that is the same on every run on a GPU.

    CUDA's reflection-pad backward adds each border pixel's gradient into the pixel it
    mirrors with atomic additions, in no fixed order: a Gatys job with a fixed seed came
    out different on every run on an H200. On CUDA the pad is made of slices joined by
    ``torch.cat``, whose backward copies and sums in a fixed order; the values are the
    same bit for bit. On the CPU ``F.pad``'s own kernel, deterministic there, is used.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu":
            return F.pad(x, (1, 1, 1, 1), mode="reflect")
        return reflect_pad_by_slices(x)


def reflect_pad_by_slices(x: torch.Tensor) -> torch.Tensor:
    """The one-pixel reflection pad of (…, H ≥ 2, W ≥ 2) ``x`` as two ``torch.cat``s of
    slices: columns first, then rows of the widened map, whose ends are the corners.
    Not ``layers.reflect_pad1``: that one writes the engine networks' channels-last
    layout; the loss network runs in the input's own (NCHW), which this keeps."""
    x = torch.cat([x[..., :, 1:2], x, x[..., :, -2:-1]], dim=-1)
    return torch.cat([x[..., 1:2, :], x, x[..., -2:-1, :]], dim=-2)


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [ReflectionPad1(), nn.Conv2d(cin, cout, 3), nn.ReLU()]


def vgg_encoder(level: int) -> nn.Sequential:
    """Input → relu{level}_1. Keys 0, 2 | 5, 9 | 12, 16 as in the weight files."""
    if level not in LEVELS:
        raise ValueError(f"normalised VGG-19 exists for levels {LEVELS}, not {level}")
    layers: list[nn.Module] = [nn.Conv2d(3, 3, 1)]
    layers += _conv(3, 64)  # conv1_1 → relu1_1 (index 3)
    layers += _conv(64, 64)  # conv1_2
    layers += [nn.MaxPool2d(2, 2, ceil_mode=True)]
    layers += _conv(64, 128)  # conv2_1 → relu2_1 (index 10)
    layers += _conv(128, 128)  # conv2_2
    layers += [nn.MaxPool2d(2, 2, ceil_mode=True)]
    layers += _conv(128, 256)  # conv3_1 → relu3_1 (index 17)
    return nn.Sequential(*layers[: _ENCODER_END[level]])


def vgg_decoder(level: int) -> nn.Sequential:
    """relu{level}_1 → RGB: the encoder mirrored, nearest ×2 upsampling where it pooled.

    Keys 1 | 1, 5, 8 | 1, 5, 8, 12, 15 as in the weight files. The last conv has no ReLU;
    callers clamp the image to [0, 1].
    """
    if level not in LEVELS:
        raise ValueError(f"normalised VGG-19 decoders exist for levels {LEVELS}, not {level}")
    to_rgb: list[nn.Module] = [ReflectionPad1(), nn.Conv2d(64, 3, 3)]
    if level == 1:
        return nn.Sequential(*to_rgb)
    block1 = [nn.Upsample(scale_factor=2, mode="nearest"), *_conv(64, 64), *to_rgb]
    if level == 2:
        return nn.Sequential(*_conv(128, 64), *block1)
    block2 = [nn.Upsample(scale_factor=2, mode="nearest"), *_conv(128, 128), *_conv(128, 64)]
    return nn.Sequential(*_conv(256, 128), *block2, *block1)


class LossNetwork(nn.Module):
    """The real VGG-19 relu1_1, relu2_1, relu3_1 in one pass: the loss and metric network.

    Used by the Gatys optimisation and by the quality benchmark, never for decoding.
    """

    TAPS = {3: "relu1_1", 10: "relu2_1", 17: "relu3_1"}

    def __init__(self, encoder: nn.Sequential) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i in self.TAPS:
                out[self.TAPS[i]] = x
        return out


def load_loss_network(device: torch.device | str = "cpu") -> LossNetwork:
    """The real VGG-19 up to relu3_1 with verified weights, frozen, in eval mode."""
    from models import weights  # local: keeps this module importable without weight files

    encoder = vgg_encoder(3)
    encoder.load_state_dict(
        weights.load_state_dict("vgg19-normalised/encoder_relu3_1"), strict=True
    )
    return LossNetwork(encoder).eval().requires_grad_(False).to(device)
