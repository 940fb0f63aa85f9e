"""The Stylizer as a library: parameters, sizes, colour, blending, masks and typed errors."""

import numpy as np
import pytest
import torch
from PIL import Image

from models.cascade import RECIPES
from models.errors import InvalidMask, InvalidParameter
from models.networks.vgg import load_loss_network
from models.params import StyleParams
from models.tensors import rgb_to_ycbcr, to_tensor
from models.transforms import calc_mean_std, flatten
from tests.support.paths import DEVICE


def _psnr(a: Image.Image, b: Image.Image) -> float:
    x, y = (np.asarray(i, dtype=np.float64) / 255 for i in (a, b))
    return float(10 * np.log10(1 / np.mean((x - y) ** 2)))


@pytest.fixture(scope="module")
def loss_network():
    return load_loss_network(DEVICE)


def _style_gap(net, image: Image.Image, style: Image.Image) -> float:
    """Distance of channel mean/std at relu1_1…relu3_1 (the AdaIN paper's style loss)."""
    with torch.inference_mode():
        a, b = net(to_tensor(image, DEVICE)), net(to_tensor(style, DEVICE))
    gap = 0.0
    for layer in a:
        (ma, sa), (mb, sb) = calc_mean_std(flatten(a[layer])), calc_mean_std(flatten(b[layer]))
        gap += (torch.norm(ma - mb) + torch.norm(sa - sb)).item()
    return gap


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_stylized_output_is_closer_to_the_style_statistics_than_the_content(
    stylizer, loss_network, load, method
):
    # At the product's size: the small decoders over-texture thumbnails (see README).
    photo, painting = (
        load("content/cornell.jpg", 512),
        load("style/woman_with_hat_matisse.jpg", 512),
    )
    out = stylizer.stylize(photo, [painting], StyleParams(method=method, size=None)).image
    assert _style_gap(loss_network, out, painting) < 0.8 * _style_gap(loss_network, photo, painting)


@pytest.mark.parametrize("method", ["adain", "wct"])
def test_alpha_zero_gives_the_content_reconstruction_whatever_the_style(
    stylizer, photo, painting, sketch, method
):
    params = StyleParams(method=method, alpha=0.0, size=None)
    a = stylizer.stylize(photo, [painting], params).image
    b = stylizer.stylize(photo, [sketch], params).image
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert _psnr(a, photo) > 18


def test_alpha_moves_the_output_gradually_from_content_to_style(stylizer, photo, painting):
    outs = [
        stylizer.stylize(photo, [painting], StyleParams(alpha=a, size=None)).image
        for a in (0, 0.5, 1)
    ]
    assert _psnr(outs[0], photo) > _psnr(outs[1], photo) > _psnr(outs[2], photo)


def test_preserve_color_keeps_the_content_chroma(stylizer, photo, painting):
    out = stylizer.stylize(photo, [painting], StyleParams(preserve_color=True, size=None)).image
    plain = stylizer.stylize(photo, [painting], StyleParams(size=None)).image
    chroma = lambda im: rgb_to_ycbcr(to_tensor(im, DEVICE))[:, 1:]  # noqa: E731
    kept = (chroma(out) - chroma(photo)).abs().mean().item()
    assert kept < 0.01  # 8-bit rounding and clamping only
    assert (chroma(plain) - chroma(photo)).abs().mean().item() > 3 * kept


def test_same_inputs_give_the_same_output(stylizer, photo, painting):
    params = StyleParams(method="wct", alpha=0.7, size=None)
    a = stylizer.stylize(photo, [painting], params).image
    b = stylizer.stylize(photo, [painting], params).image
    assert a.tobytes() == b.tobytes()


def test_encoded_style_features_give_the_same_output_as_the_image(stylizer, photo, painting):
    params = StyleParams(size=None, style_size=None)
    features = stylizer.encode_style(painting, size=None)
    a = stylizer.stylize(photo, [features], params).image
    b = stylizer.stylize(photo, [painting], params).image
    assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize(
    ("size", "expected"),
    [((333, 77), (333, 77)), ((17, 250), (17, 250)), ((1, 1), (1, 1)), ((3, 5), (3, 5))],
)
@pytest.mark.parametrize("method", ["adain", "wct"])
def test_output_has_exactly_the_content_size_for_odd_and_tiny_images(
    stylizer, photo, painting, size, expected, method
):
    content = photo.resize(size, Image.BICUBIC)
    out = stylizer.stylize(
        content, [painting.resize((7, 3))], StyleParams(method=method, size=None)
    ).image
    assert out.size == expected
    assert np.isfinite(np.asarray(out, dtype=np.float64)).all()


def test_size_sets_the_longest_side_of_the_output(stylizer, photo, painting):
    out = stylizer.stylize(photo, [painting], StyleParams(size=97)).image
    assert max(out.size) == 97
    assert out.size == (97, 68)  # 128×90 scaled, aspect kept


def test_style_weights_interpolate_between_styles(stylizer, photo, painting, sketch):
    single = stylizer.stylize(photo, [painting], StyleParams(size=None)).image
    only_first = stylizer.stylize(
        photo, [painting, sketch], StyleParams(size=None, style_weights=(1, 0))
    ).image
    half = stylizer.stylize(
        photo, [painting, sketch], StyleParams(size=None, style_weights=(1, 1))
    ).image
    assert single.tobytes() == only_first.tobytes()
    saturation = lambda im: np.asarray(im.convert("HSV"))[..., 1].mean()  # noqa: E731
    assert (
        saturation(only_first)
        > saturation(half)
        > saturation(stylizer.stylize(photo, [sketch], StyleParams(size=None)).image)
    )


def test_style_weights_that_do_not_match_the_styles_are_refused(stylizer, photo, painting, sketch):
    with pytest.raises(InvalidParameter) as error:
        stylizer.stylize(photo, [painting, sketch], StyleParams(style_weights=(1, 2, 3)))
    assert error.value.field == "style_weights"
    assert "3 weights for 2 style images" in error.value.message


def test_mask_assigns_each_region_its_style(stylizer, photo, painting, sketch):
    mask = Image.new("L", photo.size, 0)
    mask.paste(255, (photo.width // 2, 0, photo.width, photo.height))  # right half: second style
    out = np.asarray(
        stylizer.stylize(
            photo, [painting, sketch], StyleParams(size=None), mask=mask
        ).image.convert("HSV")
    )
    half = photo.width // 2
    left_saturation, right_saturation = out[:, : half - 8, 1].mean(), out[:, half + 8 :, 1].mean()
    assert left_saturation > 2 * right_saturation  # matisse left, colourless sketch right


def test_mask_with_another_aspect_ratio_is_refused_naming_both_sizes(
    stylizer, photo, painting, sketch
):
    with pytest.raises(InvalidMask) as error:
        stylizer.stylize(
            photo, [painting, sketch], StyleParams(size=None), mask=Image.new("L", (100, 100))
        )
    assert error.value.field == "mask"
    assert "100x100" in error.value.message and "128x90" in error.value.message


def test_mask_with_a_single_style_is_refused(stylizer, photo, painting):
    with pytest.raises(InvalidMask, match="at least two"):
        stylizer.stylize(photo, [painting], StyleParams(size=None), mask=Image.new("L", photo.size))


def test_mask_and_style_weights_together_are_refused(stylizer, photo, painting, sketch):
    with pytest.raises(InvalidParameter) as error:
        stylizer.stylize(
            photo,
            [painting, sketch],
            StyleParams(style_weights=(1, 1)),
            mask=Image.new("L", photo.size),
        )
    assert error.value.field == "style_weights"


def test_no_style_at_all_is_refused(stylizer, photo):
    with pytest.raises(InvalidParameter) as error:
        stylizer.stylize(photo, [], StyleParams())
    assert error.value.field == "style"


def test_progress_reports_every_level_coarse_to_fine_and_ends_at_one(stylizer, photo, painting):
    events = []
    stylizer.stylize(photo, [painting], StyleParams(size=None), progress=events.append)
    fractions = [e.fraction for e in events]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    levels = [step.level for step in RECIPES[StyleParams().method].steps]
    assert levels == sorted(levels, reverse=True)
    assert [e.stage for e in events if e.stage.startswith("level")] == [
        f"level {n}" for n in levels
    ]
