"""Detail transfer, shading transfer and the guided filter restore the content's
structure, nothing else; the band contrast brings a busy output down to its style's."""

import dataclasses

import pytest
import torch

from models.cascade import band_targets, encode_style, run_cascade
from models.detail import (
    BandContrast,
    DetailTransfer,
    ShadingTransfer,
    box_mean,
    gaussian_blur,
    guided_filter,
    luminance,
    transfer_detail,
)
from models.errors import InvalidParameter
from models.params import StyleParams
from models.stylizer import RECIPES, Recipe
from models.tensors import rgb_to_ycbcr, to_tensor
from tests.support.paths import DEVICE


def _fine_band(image: torch.Tensor, sigma: float) -> torch.Tensor:
    y = luminance(image)
    return y - gaussian_blur(y, sigma)


def _stylized(stylizer, photo, painting) -> torch.Tensor:
    recipe = Recipe("cd16x", RECIPES["wct"].steps)  # no detail transfer, whatever the default
    return to_tensor(
        stylizer.stylize(photo, [painting], StyleParams(size=None), recipe=recipe).image, DEVICE
    )


def test_detail_transfer_keeps_the_size_and_brings_the_fine_band_to_the_content(
    stylizer, photo, painting
):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo, DEVICE)
    out = transfer_detail(stylized, content, sigma=2.0, strength=1.0)
    assert out.shape == stylized.shape
    before = (_fine_band(stylized, 2.0) - _fine_band(content, 2.0)).square().mean()
    after = (_fine_band(out, 2.0) - _fine_band(content, 2.0)).square().mean()
    assert after < 0.1 * before  # clamping to [0, 1] keeps it from being exactly 0


def test_detail_transfer_moves_luminance_only_and_half_strength_goes_half_way(
    stylizer, photo, painting
):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo, DEVICE)
    half = transfer_detail(stylized, content, sigma=2.0, strength=0.5)
    unclamped = ((half > 0.001) & (half < 0.999)).all(dim=1, keepdim=True).expand_as(half)
    chroma_change = (rgb_to_ycbcr(half) - rgb_to_ycbcr(stylized))[:, 1:]
    assert chroma_change[unclamped[:, 1:]].abs().max() < 1e-5
    full_gap = (_fine_band(stylized, 2.0) - _fine_band(content, 2.0)).square().mean()
    half_gap = (_fine_band(half, 2.0) - _fine_band(content, 2.0)).square().mean()
    assert 0.15 * full_gap < half_gap < 0.35 * full_gap  # (1 − ½)² = ¼ of the squared gap


def test_detail_transfer_at_zero_strength_is_the_identity(stylizer, photo, painting):
    stylized = _stylized(stylizer, photo, painting)
    torch.testing.assert_close(
        transfer_detail(stylized, to_tensor(photo, DEVICE), 2.0, 0.0), stylized
    )


def test_keeping_the_strokes_adds_the_content_band_on_top_of_them(stylizer, photo, painting):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo, DEVICE)

    def added_band_error(keep: float) -> float:
        out = transfer_detail(stylized, content, sigma=1.0, strength=1.0, keep=keep)
        added = luminance(out) - luminance(stylized)
        target = _fine_band(content, 1.0)
        return ((added - target).norm() / target.norm()).item()

    assert added_band_error(keep=1.0) < 0.15  # the content's band, strokes untouched
    assert added_band_error(keep=0.0) > 0.2  # the strokes' band was taken out as well


def test_a_recipe_with_detail_transfer_changes_the_output_not_its_size(stylizer, photo, painting):
    plain = Recipe("cd16x", RECIPES["wct"].steps)
    detailed = Recipe("cd16x", RECIPES["wct"].steps, DetailTransfer(2.0, 1.0))
    params = StyleParams(size=None)
    a = stylizer.stylize(photo, [painting], params, recipe=plain).image
    b = stylizer.stylize(photo, [painting], params, recipe=detailed).image
    assert a.size == b.size == photo.size
    ssim_proxy = [  # correlation of the fine band with the content's
        torch.corrcoef(torch.stack([_fine_band(to_tensor(x, DEVICE), 2.0).flatten(), ref]))[0, 1]
        for x in (a, b)
        for ref in [_fine_band(to_tensor(photo, DEVICE), 2.0).flatten()]
    ]
    assert ssim_proxy[1] > ssim_proxy[0] + 0.2


def test_detail_restored_between_levels_is_restyled_by_the_shallower_ones(
    stylizer, photo, painting
):
    steps = RECIPES["wct"].steps
    params = StyleParams(size=None)
    early = Recipe("cd16x", steps, DetailTransfer(1.0, 1.0), detail_after=0)
    late = Recipe("cd16x", steps, DetailTransfer(1.0, 1.0))
    a = to_tensor(stylizer.stylize(photo, [painting], params, recipe=early).image, DEVICE)
    b = to_tensor(stylizer.stylize(photo, [painting], params, recipe=late).image, DEVICE)
    content = to_tensor(photo, DEVICE)
    assert a.shape == b.shape == content.shape
    # After the last level the fine band is the content's; restored earlier, the later
    # levels give it the style's statistics again, so it stays further from the content's.
    gap = [(_fine_band(x, 1.0) - _fine_band(content, 1.0)).square().mean() for x in (a, b)]
    assert gap[0] > 2 * gap[1]


def _coarse_band(image: torch.Tensor, sigma: float) -> torch.Tensor:
    return gaussian_blur(luminance(image), sigma)


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    return torch.corrcoef(torch.stack([a.flatten(), b.flatten()]))[0, 1].item()


def test_shading_transfer_brings_the_contents_form_in_the_outputs_own_tones(
    stylizer, photo, painting
):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo, DEVICE)
    out = ShadingTransfer(sigma=6.0, strength=1.0)(stylized, content)
    assert out.shape == stylized.shape
    before, after = _coarse_band(stylized, 6.0), _coarse_band(out, 6.0)
    form = _coarse_band(content, 6.0)
    assert _correlation(after, form) > max(0.9, _correlation(before, form) + 0.1)
    # The tones are the stylization's: the coarse band's mean and spread barely move.
    assert abs(after.mean() - before.mean()) < 0.01
    assert abs(after.std() / before.std() - 1) < 0.1
    # The fine band, the strokes, stays: the shift is smooth (what changes comes from the
    # pixels that clamp, and from the blur's tail at this small size).
    strokes = _fine_band(stylized, 1.0)
    default = ShadingTransfer()(stylized, content)
    assert (_fine_band(default, 1.0) - strokes).norm() < 0.06 * strokes.norm()


def test_shading_transfer_moves_luminance_only_and_zero_strength_is_the_identity(
    stylizer, photo, painting
):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo, DEVICE)
    torch.testing.assert_close(ShadingTransfer(6.0, 0.0)(stylized, content), stylized)
    out = ShadingTransfer(6.0, 0.5)(stylized, content)
    unclamped = ((out > 0.001) & (out < 0.999)).all(dim=1, keepdim=True).expand_as(out)
    chroma_change = (rgb_to_ycbcr(out) - rgb_to_ycbcr(stylized))[:, 1:]
    assert chroma_change[unclamped[:, 1:]].abs().max() < 1e-5
    assert (out - stylized).abs().max() > 0.02


def test_a_flat_content_flattens_the_outputs_shading_without_dividing_by_zero(
    stylizer, photo, painting
):
    stylized = _stylized(stylizer, photo, painting)
    flat = torch.full_like(stylized, 0.5)
    out = ShadingTransfer(6.0, 1.0)(stylized, flat)
    assert torch.isfinite(out).all()
    # Not to 0: the shift is blurred once more when measured, and some pixels clamp.
    assert _coarse_band(out, 6.0).std() < 0.25 * _coarse_band(stylized, 6.0).std()


def test_shading_a_one_pixel_image_leaves_it_as_it_is():
    # One pixel has a spread of 0, not an undefined one (an unbiased std would be NaN).
    pixel = torch.tensor([0.2, 0.5, 0.7]).view(1, 3, 1, 1)
    torch.testing.assert_close(ShadingTransfer()(pixel, torch.full_like(pixel, 0.9)), pixel)


def test_a_recipe_applies_its_shading_after_the_last_step(stylizer, load, painting):
    x = to_tensor(load("content/cornell.jpg", 200), DEVICE)  # not a multiple of the stride: padded
    plain = Recipe("cd16x", RECIPES["wct"].steps, RECIPES["wct"].detail, 0)
    shaded = Recipe("cd16x", plain.steps, plain.detail, 0, ShadingTransfer(6.0, 0.4))
    style = encode_style(stylizer.networks, painting, plain)
    with torch.inference_mode():
        a = run_cascade(stylizer.networks, x, plain, [style], [1.0], None, 1.0)
        b = run_cascade(stylizer.networks, x, shaded, [style], [1.0], None, 1.0)
    assert b.shape == x.shape
    torch.testing.assert_close(b, shaded.shading(a, x), atol=1e-6, rtol=0)
    assert (b - a).abs().max() > 0.01


def _targets(*rows: tuple[float, float]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float32)


def test_band_contrast_brings_a_busier_outputs_band_down_to_the_styles_energy(
    stylizer, photo, painting
):
    stylized = _stylized(stylizer, photo, painting)
    contrast = BandContrast(2.0, 12.0)
    luma, colour = contrast.energy(stylized)
    # The luminance halved, the colour kept: each part of the band by its own factor.
    out = contrast.apply(stylized, _targets((0.5 * luma, 2 * colour)))
    assert out.shape == stylized.shape
    band = contrast.band(stylized)
    expected = stylized - 0.5 * luminance(band)  # once: a difference of Gaussians is no
    inside = (out > 0) & (out < 1)  # projection, measured again it holds other bands too
    torch.testing.assert_close(out[inside], expected[inside], atol=1e-5, rtol=0)
    after = contrast.energy(out)
    assert after[0] < 0.7 * luma and after[1] == pytest.approx(colour, rel=0.05)
    # And the colour alone: the luminance stays where nothing clamps.
    tinted = contrast.apply(stylized, _targets((2 * luma, 0.5 * colour)))
    unclamped = ((tinted > 0.001) & (tinted < 0.999)).all(dim=1, keepdim=True)
    change = luminance(tinted) - luminance(stylized)
    assert change[unclamped].abs().max() < 1e-5
    assert contrast.energy(tinted)[1] < 0.7 * colour
    # Only the band moved: the colours' means and the coarse picture stay.
    torch.testing.assert_close(out.mean((2, 3)), stylized.mean((2, 3)), atol=2e-3, rtol=0)
    coarse = gaussian_blur(luminance(stylized), 24.0)
    moved = (gaussian_blur(luminance(out), 24.0) - coarse).abs().mean()
    assert moved < 0.2 * (out - stylized).abs().mean()


def test_the_band_at_half_resolution_is_the_direct_difference_of_gaussians_within_2_percent(
    stylizer, photo, painting
):
    stylized = _stylized(stylizer, photo, painting)
    contrast = BandContrast(2.0, 12.0)
    band = contrast.band(stylized)
    channels = stylized.transpose(0, 1)
    direct = (gaussian_blur(channels, 2.0) - gaussian_blur(channels, 12.0)).transpose(0, 1)
    assert band.shape == direct.shape
    assert (band - direct).square().mean().sqrt() < 0.02 * direct.square().mean().sqrt()
    assert (band - direct).abs().max() < 6 / 255
    # Small images take the direct blurs (the reflected margin would not fit).
    tiny = stylized[..., :40, :60]
    direct_tiny = gaussian_blur(tiny.transpose(0, 1), 2.0) - gaussian_blur(
        tiny.transpose(0, 1), 12.0
    )
    torch.testing.assert_close(contrast.band(tiny), direct_tiny.transpose(0, 1))


def test_band_contrast_never_adds_texture_and_alpha_scales_it(stylizer, photo, painting):
    stylized = _stylized(stylizer, photo, painting)
    contrast = BandContrast(2.0, 12.0)
    luma, colour = contrast.energy(stylized)
    # A busier style than the output: nothing is added.
    busy = _targets((3 * luma, 3 * colour))
    torch.testing.assert_close(contrast.apply(stylized, busy), stylized)
    quiet = _targets((0.25 * luma, 0.25 * colour))
    torch.testing.assert_close(contrast.apply(stylized, quiet, alpha=0.0), stylized)
    half = contrast.energy(contrast.apply(stylized, quiet, alpha=0.5))[0]
    assert contrast.energy(contrast.apply(stylized, quiet))[0] < 0.8 * half < 0.8 * luma


def test_band_contrast_scales_each_masked_region_toward_its_own_style(stylizer, photo, painting):
    stylized = _stylized(stylizer, photo, painting)
    contrast = BandContrast(2.0, 12.0)
    h, w = stylized.shape[-2:]
    regions = torch.zeros((h, w), dtype=torch.long, device=stylized.device)
    regions[:, w // 2 :] = 1
    luma, colour = contrast.energy(stylized)
    targets = _targets((0.3 * luma, 0.3 * colour), (10 * luma, 10 * colour))
    out = contrast.apply(stylized, targets, regions)
    left, right = slice(None, w // 2), slice(w // 2, None)
    torch.testing.assert_close(out[..., right], stylized[..., right])  # a busy style: kept
    before = contrast.energy(stylized[..., 16 : w // 2 - 16])
    after = contrast.energy(out[..., 16 : w // 2 - 16])
    assert after[0] < 0.6 * before[0] and after[1] < 0.6 * before[1]
    assert (out[..., left] - stylized[..., left]).abs().max() > 0.02


def test_a_recipe_applies_its_band_contrast_last_with_the_styles_encoded_energy(
    stylizer, load, painting
):
    x = to_tensor(load("content/cornell.jpg", 200), DEVICE)  # not a multiple of the stride
    plain = Recipe("cd16x", RECIPES["wct"].steps, RECIPES["wct"].detail, 0)
    contrast = BandContrast(2.0, 12.0)
    busy = dataclasses.replace(plain, contrast=contrast)
    style = encode_style(stylizer.networks, painting, busy)
    assert style.band_energy == pytest.approx(contrast.energy(to_tensor(painting, DEVICE)))
    quiet = dataclasses.replace(style, band_energy=(0.01, 0.005))  # a flat style's
    with torch.inference_mode():
        a = run_cascade(stylizer.networks, x, plain, [quiet], [1.0], None, 1.0)
        b = run_cascade(stylizer.networks, x, busy, [quiet], [1.0], None, 1.0)
    assert b.shape == x.shape
    torch.testing.assert_close(b, contrast.apply(a, _targets((0.01, 0.005))), atol=1e-6, rtol=0)
    assert (b - a).abs().max() > 0.01


def test_several_styles_aim_at_their_energies_blended_by_weight_and_a_mask_at_each(
    stylizer, painting, sketch
):
    recipe = RECIPES["wct"]
    styles = [stylizer.encode_style(p, 128, method="wct") for p in (painting, sketch)]
    (l0, c0), (l1, c1) = (s.band_energy for s in styles)
    blended = band_targets(styles, [0.25, 0.75], None)
    torch.testing.assert_close(blended, _targets((0.25 * l0 + 0.75 * l1, 0.25 * c0 + 0.75 * c1)))
    regions = torch.zeros((4, 4), dtype=torch.long)
    torch.testing.assert_close(
        band_targets(styles, [0.25, 0.75], regions), _targets((l0, c0), (l1, c1))
    )
    assert recipe.contrast is not None and styles[0].band == recipe.contrast


def test_style_features_without_a_band_energy_are_refused_by_a_recipe_that_needs_it(
    stylizer, photo, painting
):
    recipe = dataclasses.replace(RECIPES["wct"], contrast=BandContrast(2.0, 12.0))
    features = stylizer.encode_style(painting, 128, recipe=recipe)
    missing = dataclasses.replace(features, band=None, band_energy=None)
    other = dataclasses.replace(features, band=BandContrast(1.0, 8.0))
    for refused_features in (missing, other):
        with pytest.raises(InvalidParameter, match="band energy between 2 and 12 px") as refused:
            stylizer.stylize(photo, [refused_features], StyleParams(size=128), recipe=recipe)
        assert refused.value.field == "style"
    stylizer.stylize(photo, [features], StyleParams(size=128), recipe=recipe)
    # Encoded for adain, whose levels include wct's, the features serve wct as well.
    adain = stylizer.encode_style(painting, 128, method="adain")
    stylizer.stylize(photo, [adain], StyleParams(size=128), recipe=recipe)


def test_guided_filter_keeps_the_guides_edges_and_smooths_with_a_large_eps(photo):
    guide = luminance(to_tensor(photo, DEVICE))
    sharp = guided_filter(guide, guide, radius=4, eps=1e-6)
    torch.testing.assert_close(sharp, guide, atol=2e-3, rtol=0)
    smooth = guided_filter(guide, guide, radius=4, eps=100.0)
    # eps ≫ variance: a ≈ 0 and b = the window mean, averaged once more: two box passes.
    box = box_mean(box_mean(guide, 4), 4)
    torch.testing.assert_close(smooth, box, atol=2e-3, rtol=0)


def test_a_wide_blur_at_half_resolution_is_the_direct_blur_within_a_grey_level(load, monkeypatch):
    # Even and odd sides; σ 6 is the shading's. The direct sum of shifted copies is the
    # reference (forced by raising the threshold of the half-resolution path).
    from models import detail

    y = luminance(to_tensor(load("content/cornell.jpg", 301), DEVICE))
    for image in (y, y[..., :200, :300]):
        half = gaussian_blur(image, 6.0)
        monkeypatch.setattr(detail, "HALF_RESOLUTION_SIGMA", float("inf"))
        direct = gaussian_blur(image, 6.0)
        monkeypatch.undo()
        assert half.shape == direct.shape
        assert (half - direct).abs().max() < 1 / 255  # 0.54 at 301 px, 0.3 at 1024 px
        assert (half - direct).abs().mean() < 0.05 / 255
        assert (half - image).abs().mean() > 10 * (half - direct).abs().mean()  # it blurs
