"""Detail transfer and the guided filter restore the content's structure, nothing else."""

import torch

from models.detail import (
    DetailTransfer,
    box_mean,
    gaussian_blur,
    guided_filter,
    luminance,
    transfer_detail,
)
from models.params import StyleParams
from models.stylizer import RECIPES, Recipe
from models.tensors import rgb_to_ycbcr, to_tensor


def _fine_band(image: torch.Tensor, sigma: float) -> torch.Tensor:
    y = luminance(image)
    return y - gaussian_blur(y, sigma)


def _stylized(stylizer, photo, painting) -> torch.Tensor:
    recipe = Recipe("cd16x", RECIPES["wct"].steps)  # no detail transfer, whatever the default
    return to_tensor(
        stylizer.stylize(photo, [painting], StyleParams(size=None), recipe=recipe).image
    )


def test_detail_transfer_keeps_the_size_and_brings_the_fine_band_to_the_content(
    stylizer, photo, painting
):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo)
    out = transfer_detail(stylized, content, sigma=2.0, strength=1.0)
    assert out.shape == stylized.shape
    before = (_fine_band(stylized, 2.0) - _fine_band(content, 2.0)).square().mean()
    after = (_fine_band(out, 2.0) - _fine_band(content, 2.0)).square().mean()
    assert after < 0.1 * before  # clamping to [0, 1] keeps it from being exactly 0


def test_detail_transfer_moves_luminance_only_and_half_strength_goes_half_way(
    stylizer, photo, painting
):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo)
    half = transfer_detail(stylized, content, sigma=2.0, strength=0.5)
    unclamped = ((half > 0.001) & (half < 0.999)).all(dim=1, keepdim=True).expand_as(half)
    chroma_change = (rgb_to_ycbcr(half) - rgb_to_ycbcr(stylized))[:, 1:]
    assert chroma_change[unclamped[:, 1:]].abs().max() < 1e-5
    full_gap = (_fine_band(stylized, 2.0) - _fine_band(content, 2.0)).square().mean()
    half_gap = (_fine_band(half, 2.0) - _fine_band(content, 2.0)).square().mean()
    assert 0.15 * full_gap < half_gap < 0.35 * full_gap  # (1 − ½)² = ¼ of the squared gap


def test_detail_transfer_at_zero_strength_is_the_identity(stylizer, photo, painting):
    stylized = _stylized(stylizer, photo, painting)
    torch.testing.assert_close(transfer_detail(stylized, to_tensor(photo), 2.0, 0.0), stylized)


def test_keeping_the_strokes_adds_the_content_band_on_top_of_them(stylizer, photo, painting):
    stylized, content = _stylized(stylizer, photo, painting), to_tensor(photo)

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
        torch.corrcoef(torch.stack([_fine_band(to_tensor(x), 2.0).flatten(), ref]))[0, 1]
        for x in (a, b)
        for ref in [_fine_band(to_tensor(photo), 2.0).flatten()]
    ]
    assert ssim_proxy[1] > ssim_proxy[0] + 0.2


def test_detail_restored_between_levels_is_restyled_by_the_shallower_ones(
    stylizer, photo, painting
):
    steps = RECIPES["wct"].steps
    params = StyleParams(size=None)
    early = Recipe("cd16x", steps, DetailTransfer(1.0, 1.0), detail_after=0)
    late = Recipe("cd16x", steps, DetailTransfer(1.0, 1.0))
    a = to_tensor(stylizer.stylize(photo, [painting], params, recipe=early).image)
    b = to_tensor(stylizer.stylize(photo, [painting], params, recipe=late).image)
    content = to_tensor(photo)
    assert a.shape == b.shape == content.shape
    # After the last level the fine band is the content's; restored earlier, the later
    # levels give it the style's statistics again, so it stays further from the content's.
    gap = [(_fine_band(x, 1.0) - _fine_band(content, 1.0)).square().mean() for x in (a, b)]
    assert gap[0] > 2 * gap[1]


def test_guided_filter_keeps_the_guides_edges_and_smooths_with_a_large_eps(photo):
    guide = luminance(to_tensor(photo))
    sharp = guided_filter(guide, guide, radius=4, eps=1e-6)
    torch.testing.assert_close(sharp, guide, atol=2e-3, rtol=0)
    smooth = guided_filter(guide, guide, radius=4, eps=100.0)
    # eps ≫ variance: a ≈ 0 and b = the window mean, averaged once more: two box passes.
    box = box_mean(box_mean(guide, 4), 4)
    torch.testing.assert_close(smooth, box, atol=2e-3, rtol=0)
