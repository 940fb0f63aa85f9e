"""Posters: bands give the whole image's result, and the front door takes the poster path
by size alone."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from models import poster
from models.cascade import RECIPES, Recipe, Step, encode_style, run_cascade
from models.params import StyleParams
from models.tensors import to_tensor
from tests.support.paths import DEVICE


@pytest.mark.parametrize("feature_bytes", [poster.FEATURE_BYTES, 0])  # kept, encoded again
def test_shallow_steps_in_bands_equal_the_whole_image_run(
    stylizer32, load, painting, monkeypatch, feature_bytes
):
    stylizer = stylizer32  # float32: bfloat16 roundings differ with the band's shape
    monkeypatch.setattr(poster, "FEATURE_BYTES", feature_bytes)
    # 160 rows (a multiple of every stride) in bands of ~24 rows: seven band boundaries.
    x = to_tensor(load("content/cornell.jpg", 240), DEVICE)[..., :160, :]
    recipe = Recipe("cd16x", RECIPES["wct"].steps[1:])  # levels 2 and 1: no pyramid
    style = encode_style(stylizer.networks, painting, recipe)
    with torch.inference_mode():
        whole = run_cascade(stylizer.networks, x, recipe, [style], [1.0], None, 0.8)
        bands = poster.run_poster(
            stylizer.networks, x, recipe, [style], [1.0], 0.8, band_pixels=24 * x.shape[-1]
        )
    torch.testing.assert_close(bands, whole, atol=2e-4, rtol=0)


def test_band_bounds_are_stride_aligned_and_cover_every_row():
    bands = poster._bands(1000, 2, 96)
    assert bands[0][0] == 0 and bands[-1][1] == 1000
    for (_, bottom, _, _), (top, _, low, _) in zip(bands, bands[1:], strict=False):
        assert bottom == top and top % 2 == 0 and low % 2 == 0
        assert top - low == poster.HALO * 2


def test_a_content_above_the_poster_threshold_takes_the_poster_path(
    stylizer, photo, painting, monkeypatch
):
    calls = []
    run_poster = poster.run_poster

    def spy(*args, **kwargs):
        calls.append(args[1].shape)
        return run_poster(*args, **kwargs, deep_side=64)

    monkeypatch.setattr(poster, "POSTER_PIXELS", 100 * 100)
    monkeypatch.setattr(poster, "run_poster", spy)
    result = stylizer.stylize(photo, [painting], StyleParams(size=None))
    assert calls and result.image.size == photo.size
    assert np.asarray(result.image).std() > 10  # a picture, not a flat fill


def test_a_poster_with_a_mask_keeps_the_whole_image_cascade(
    stylizer, photo, painting, sketch, monkeypatch
):
    from PIL import Image

    monkeypatch.setattr(poster, "POSTER_PIXELS", 100 * 100)
    monkeypatch.setattr(poster, "run_poster", lambda *a, **k: (_ for _ in ()).throw(AssertionError))
    mask = Image.linear_gradient("L").resize(photo.size)
    result = stylizer.stylize(photo, [painting, sketch], StyleParams(size=None), mask=mask)
    assert result.image.size == photo.size


def test_a_detail_transfer_after_a_deep_step_runs_in_the_posters_deep_part(
    stylizer, load, painting
):
    x = to_tensor(load("content/cornell.jpg", 128), DEVICE)
    detail = RECIPES["wct"].detail
    recipe = Recipe("cd16x", (Step(4, "ot"),), detail=detail, detail_after=0)
    style = encode_style(stylizer.networks, painting, recipe)
    with torch.inference_mode():
        straight = run_cascade(stylizer.networks, x, recipe, [style], [1.0], None, 1.0)
        plain = run_cascade(stylizer.networks, x, Recipe("cd16x", recipe.steps), [style], [1.0], None, 1.0)  # fmt: skip
        # deep_side above the content's: the deep part sees the content itself.
        as_poster = poster.run_poster(stylizer.networks, x, recipe, [style], [1.0], 1.0, deep_side=512)  # fmt: skip
    torch.testing.assert_close(as_poster, straight, atol=1e-5, rtol=0)
    assert (as_poster - plain).abs().max() > 0.01  # the detail was applied


def test_a_posters_shading_is_the_whole_images_after_its_last_step(stylizer, load, painting):
    # 80 rows, a multiple of every stride: each level pads as the whole-image run does.
    x = to_tensor(load("content/cornell.jpg", 128), DEVICE)[..., :80, :]
    recipe = RECIPES["wct"]  # detail after level 4, shading after level 1
    assert recipe.shading is not None
    style = encode_style(stylizer.networks, painting, recipe)
    with torch.inference_mode():
        straight = run_cascade(stylizer.networks, x, recipe, [style], [1.0], None, 1.0)
        # deep_side above the content's: the deep part sees the content itself.
        as_poster = poster.run_poster(stylizer.networks, x, recipe, [style], [1.0], 1.0, deep_side=512)  # fmt: skip
    torch.testing.assert_close(as_poster, straight, atol=2e-4, rtol=0)


def test_a_posters_shading_is_as_much_coarser_as_its_deep_part_was_enlarged(
    stylizer, load, painting
):
    x = to_tensor(load("content/cornell.jpg", 128), DEVICE)[..., :80, :]
    recipe = replace(RECIPES["wct"], contrast=None)  # the shading last
    unshaded = replace(recipe, shading=None)
    style = encode_style(stylizer.networks, painting, recipe)
    with torch.inference_mode():
        # The deep part at half the side: its strokes come out twice as large.
        shaded = poster.run_poster(stylizer.networks, x, recipe, [style], [1.0], 1.0, deep_side=64)  # fmt: skip
        plain = poster.run_poster(stylizer.networks, x, unshaded, [style], [1.0], 1.0, deep_side=64)  # fmt: skip
    twice = replace(recipe.shading, sigma=2 * recipe.shading.sigma)
    torch.testing.assert_close(shaded, twice(plain, x), atol=1e-5, rtol=0)
    assert (shaded - recipe.shading(plain, x)).abs().max() > 1e-3


def test_a_posters_band_contrast_is_as_much_coarser_as_its_deep_part_was_enlarged(
    stylizer, load, painting
):
    x = to_tensor(load("content/cornell.jpg", 128), DEVICE)[..., :80, :]
    recipe = RECIPES["wct"]
    assert recipe.contrast is not None
    plain_recipe = replace(recipe, contrast=None)
    style = encode_style(stylizer.networks, painting, recipe)
    style = replace(style, band_energy=(0.01, 0.005))  # a flat style's: the band is scaled down
    with torch.inference_mode():
        out = poster.run_poster(stylizer.networks, x, recipe, [style], [1.0], 1.0, deep_side=64)  # fmt: skip
        plain = poster.run_poster(stylizer.networks, x, plain_recipe, [style], [1.0], 1.0, deep_side=64)  # fmt: skip
    c = recipe.contrast
    twice = replace(c, fine=2 * c.fine, coarse=2 * c.coarse)
    target = torch.tensor([[0.01, 0.005]])
    torch.testing.assert_close(out, twice.apply(plain, target), atol=1e-5, rtol=0)
    assert (out - c.apply(plain, target)).abs().max() > 1e-3


def test_a_recipe_fits_a_poster_when_its_detail_follows_a_deep_step():
    steps = RECIPES["wct"].steps  # levels 4, 2, 1
    detail = RECIPES["wct"].detail
    assert poster.fits(RECIPES["wct"]) and poster.fits(RECIPES["adain"])
    assert not poster.fits(Recipe("cd16x", steps, detail, detail_after=-1))  # after level 1
    assert not poster.fits(Recipe("cd16x", (steps[1], steps[0])))  # fine before coarse
