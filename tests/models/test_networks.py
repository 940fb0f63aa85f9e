"""The networks load the published weights strictly and reproduce their measured quality."""

import pytest
import torch
from PIL import Image

from models import weights
from models.cascade import Recipe, Step
from models.images import load_image
from models.networks import cd16x, vgg
from models.tensors import to_tensor
from tests.support.paths import DEVICE, TESTDATA

# Encoder→decoder PSNR of cornell.jpg (longer side 512, cropped to a multiple of 16), from
# ../shared/weights/README.md.
README_PSNR = {
    ("vgg19-normalised", 1): 25.8,
    ("vgg19-normalised", 2): 30.0,
    ("vgg19-normalised", 3): 25.1,
    ("vgg19-cd16x", 1): 43.4,
    ("vgg19-cd16x", 2): 29.2,
    ("vgg19-cd16x", 3): 25.7,
    ("vgg19-cd16x", 4): 21.7,
    ("vgg19-cd16x", 5): 18.7,
}


@pytest.fixture(scope="module")
def cornell_512() -> torch.Tensor:
    image = load_image(TESTDATA / "content/cornell.jpg")
    scale = 512 / max(image.size)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.BICUBIC)
    image = image.crop((0, 0, image.width // 16 * 16, image.height // 16 * 16))
    return to_tensor(image, DEVICE)


def _autoencoder(family: str, level: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    if family == "vgg19-cd16x":
        encoder, decoder = cd16x.CompressedEncoder(level), cd16x.CompressedDecoder(level)
    else:
        encoder, decoder = vgg.vgg_encoder(level), vgg.vgg_decoder(level)
    encoder.load_state_dict(weights.load_state_dict(f"{family}/encoder_relu{level}_1"), strict=True)
    decoder.load_state_dict(weights.load_state_dict(f"{family}/decoder_relu{level}_1"), strict=True)
    return encoder.eval().to(DEVICE), decoder.eval().to(DEVICE)


@pytest.mark.parametrize(("family", "level"), list(README_PSNR))
@torch.inference_mode()
def test_reconstruction_psnr_is_within_half_a_db_of_the_readme(family, level, cornell_512):
    encoder, decoder = _autoencoder(family, level)
    output = decoder(encoder(cornell_512)).clamp(0, 1)
    psnr = 10 * torch.log10(1 / torch.mean((output - cornell_512) ** 2)).item()
    assert abs(psnr - README_PSNR[(family, level)]) < 0.5, f"{family} level {level}: {psnr:.2f} dB"


@torch.inference_mode()
def test_encoder_feature_widths_and_strides_match_the_layouts(cornell_512):
    for level in cd16x.LEVELS:
        encoder, _ = _autoencoder("vgg19-cd16x", level)
        feature = encoder(cornell_512)
        stride = 2 ** (level - 1)
        assert feature.shape == (1, cd16x.CHANNELS[level], 352 // stride, 512 // stride)
    for level in vgg.LEVELS:
        encoder, _ = _autoencoder("vgg19-normalised", level)
        assert encoder(cornell_512).shape[1] == vgg.CHANNELS[level]


@torch.inference_mode()
def test_loss_network_taps_relu1_to_relu3_of_the_real_vgg(cornell_512):
    features = vgg.load_loss_network(DEVICE)(cornell_512)
    assert [tuple(f.shape[1:2]) for f in features.values()] == [(64,), (128,), (256,)]
    assert all((f >= 0).all() for f in features.values())  # they are ReLU outputs


def test_a_level_that_does_not_exist_is_refused_not_invented():
    with pytest.raises(ValueError, match="levels"):
        vgg.vgg_encoder(4)
    with pytest.raises(ValueError, match="levels"):
        cd16x.CompressedDecoder(6)


def test_only_the_compressed_decoders_upsample_bilinear():
    Recipe("cd16x", (Step(4, "ot", upsample="bilinear"),))
    with pytest.raises(ValueError, match="nearest only"):
        Recipe("vgg19", (Step(4, "ot", upsample="bilinear"),))
