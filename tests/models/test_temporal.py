"""Temporal consistency pieces: the cascade's content-statistics hook, smoothed statistics,
optical flow with its consistency check, the blend (colour, the luminance's bands),
scene cuts, the history they reset, and the frame's place in the cascade's canvas."""

import numpy as np
import pytest
import torch

from models.cascade import RECIPES
from models.params import StyleParams
from models.transforms import Covariance, moments
from models.video.temporal import (
    SceneCuts,
    SmoothedStatistics,
    Temporal,
    TemporalSettings,
    consistent,
    grey,
    luminance_weights,
)
from tests.support.video import pan, photo, slide

SIZE = (160, 96)


def _pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("method", ["wct", "adain"])
def test_content_stats_hook_is_asked_once_per_step_and_its_statistics_are_used(
    stylizer32, photo, painting, method
):
    stylizer = stylizer32  # float32: a last-bit change of a statistic flips bfloat16 roundings
    params = StyleParams(method=method, size=None)
    plain = stylizer.stylize(photo, [painting], params).image
    calls = []

    def own(step: int, level: int, feature: torch.Tensor) -> Covariance:
        calls.append((step, level))
        return Covariance.of(feature)

    same = stylizer.stylize(photo, [painting], params, content_stats=own).image
    assert calls == [(i, s.level) for i, s in enumerate(RECIPES[method].steps)]
    assert np.abs(_pixels(same) - _pixels(plain)).max() <= 1  # float32 vs float64 statistics

    def brighter(step: int, level: int, feature: torch.Tensor) -> Covariance:
        return Covariance.of(feature * 0.5 + 0.1)  # claims a different content distribution

    other = stylizer.stylize(photo, [painting], params, content_stats=brighter).image
    assert np.abs(_pixels(other) - _pixels(plain)).mean() > 5


def test_step_output_hook_sees_each_decoded_step_and_feeds_the_next(stylizer, photo, painting):
    params = StyleParams(method="wct", size=None)
    plain = stylizer.stylize(photo, [painting], params).image
    calls = []

    def look(step: int, level: int, image: torch.Tensor) -> torch.Tensor:
        calls.append((step, level, tuple(image.shape)))
        return image

    same = stylizer.stylize(photo, [painting], params, step_output=look).image
    assert [c[:2] for c in calls] == [(i, s.level) for i, s in enumerate(RECIPES["wct"].steps)]
    assert all(c[2][:2] == (1, 3) for c in calls)
    assert np.array_equal(_pixels(same), _pixels(plain))

    def grey_first(step: int, level: int, image: torch.Tensor) -> torch.Tensor:
        return image.mean(1, keepdim=True).expand_as(image) if step == 0 else image

    other = stylizer.stylize(photo, [painting], params, step_output=grey_first).image
    assert np.abs(_pixels(other) - _pixels(plain)).mean() > 2


def test_smoothed_statistics_average_the_moments_and_forget_them_at_reset():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(8, 500, generator=generator)
    b = 2 * a + 1
    smoothed = SmoothedStatistics(decay=0.5)
    first = smoothed(0, 4, a)
    torch.testing.assert_close(first.mean, moments(a)[0])
    second = smoothed(0, 4, b)
    torch.testing.assert_close(second.mean, (moments(a)[0] + moments(b)[0]) / 2)
    torch.testing.assert_close(second.variance, (moments(a)[2] + moments(b)[2]) / 2)
    assert smoothed(1, 2, b).mean.allclose(moments(b)[0])  # each step has its own average
    smoothed.reset()
    torch.testing.assert_close(smoothed(0, 4, b).mean, moments(b)[0])


def test_forward_backward_check_flags_occlusions_and_pixels_from_outside():
    h, w = 20, 30
    backward = np.zeros((h, w, 2), np.float32)
    backward[..., 0] = 3  # frame t's pixel x was at x + 3 in frame t−1
    forward = -backward.copy()
    forward[5:10, 10:20] = (8, 0)  # there the forward flow disagrees: occluded
    reliable = consistent(backward, forward)
    assert not reliable[:, -3:].any()  # came from outside the previous frame
    assert not reliable[5:10, 7:17].any()
    assert reliable[12:, :20].all()


def test_scene_cuts_are_found_between_shots_and_not_within_a_pan():
    cuts = SceneCuts(TemporalSettings().cut_histogram)
    shot = pan(photo("cornell.jpg"), 8, SIZE, 3)
    assert not any(cuts.is_cut(frame) for frame in shot)
    assert cuts.is_cut(pan(photo("sailboat.jpg"), 1, SIZE, 3)[0])


def test_the_history_blends_within_a_shot_and_is_dropped_at_a_cut():
    # Not anchored: the frames are the canvas (the anchor's own tests are below). The
    # images are noise, all fine band: the whole difference is blended (``lowpass`` 0).
    temporal = Temporal(TemporalSettings(steps=(0.8,), blend=0.5, anchor=False, lowpass=0.0))
    shot = pan(photo("cornell.jpg"), 2, SIZE, 2)
    other = pan(photo("sailboat.jpg"), 1, SIZE, 2)[0]
    rng = np.random.default_rng(0)
    outputs = [rng.integers(0, 256, (*SIZE[::-1], 3), dtype=np.uint8) for _ in range(3)]
    steps = [torch.rand(1, 3, SIZE[1], SIZE[0], generator=torch.Generator().manual_seed(i))
             for i in range(3)]  # fmt: skip

    def frame(image: np.ndarray, step: torch.Tensor, output: np.ndarray):
        cut = temporal.start(image)
        temporal.statistics(0, 4, torch.ones(4, 10) if not cut else torch.zeros(4, 10))
        return cut, temporal.step_output(0, 4, step.clone()), temporal.finish(output)

    cut, step, output = frame(shot[0], steps[0], outputs[0])  # no past, but no cut either
    assert not cut
    assert torch.equal(step, steps[0]) and np.array_equal(output, outputs[0])
    cut, step, output = frame(shot[1], steps[1], outputs[1])
    assert not cut
    assert (step - steps[1]).abs().mean() > 0.1  # the previous step image mixed in
    assert np.abs(_pixels(output) - _pixels(outputs[1])).mean() > 20
    cut, step, output = frame(other, steps[2], outputs[2])
    assert cut
    assert torch.equal(step, steps[2]) and np.array_equal(output, outputs[2])
    assert temporal.statistics(0, 4, torch.zeros(4, 10)).mean.abs().max() == 0  # old shot gone


def test_the_step_blend_weighs_luminance_and_colour_apart():
    still = pan(photo("cornell.jpg"), 1, SIZE, 0)[0]  # no motion: the flow holds everywhere
    base = torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)
    grey_shift = torch.full((1, 3, 1, 1), 0.1)
    colour_shift = torch.tensor([0.1, -0.1 * 0.299 / 0.587, 0.0]).view(1, 3, 1, 1)  # no luma

    def blended(previous: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        temporal = Temporal(TemporalSettings(steps=(0.2,), colour=(0.6,), anchor=False))
        for image in (previous, current):
            temporal.start(still)
            out = temporal.step_output(0, 4, image.expand(1, 3, SIZE[1], SIZE[0]).clone())
            temporal.finish(still)
        return out[0, :, 8:-8, 8:-8].mean((1, 2))

    expected = (base + 0.2 * grey_shift).flatten()
    torch.testing.assert_close(blended(base + grey_shift, base), expected, atol=1e-3, rtol=0)
    expected = (base + 0.6 * colour_shift).flatten()
    torch.testing.assert_close(blended(base + colour_shift, base), expected, atol=1e-3, rtol=0)


@pytest.mark.parametrize("lowpass", [0.0, 2.0])
def test_the_blend_steadies_the_shading_first_and_leaves_the_texture_the_frames_own(lowpass):
    # The previous step image differs from this one by a smooth brightness ramp (how a
    # stroke's shading flickers) and by a fainter texture of opposite phase (strokes
    # that morphed). Blending the whole difference averages the two textures away;
    # split at σ 2 px the low band alone steadies the frame as much, the texture kept.
    still = pan(photo("cornell.jpg"), 1, SIZE, 0)[0]  # no motion: the flow holds everywhere
    h, w = SIZE[1], SIZE[0]
    ramp = torch.linspace(0, 0.2, w).expand(h, w)
    texture = 0.02 * (1 - 2 * ((torch.arange(h)[:, None] + torch.arange(w)) % 2)).float()
    previous, current = 0.4 + ramp - texture, 0.4 + texture
    temporal = Temporal(
        TemporalSettings(steps=(0.5,), colour=(0.5,), anchor=False, lowpass=lowpass)
    )
    for image in (previous, current):
        temporal.start(still)
        out = temporal.step_output(0, 4, image.expand(1, 3, h, w).clone())
        temporal.finish(still)
    inner = (slice(8, -8), slice(8, -8))
    moved = (out[0, 0] - previous)[inner].square().mean()
    left = moved / (current - previous)[inner].square().mean()
    assert float(left) == pytest.approx(0.5**2, rel=0.1)  # as steady as a plain blend of ½
    kept = float(((out[0, 0] - 0.4)[inner] * texture[inner]).mean() / texture.square().mean())
    if lowpass:
        assert kept > 0.95  # the frame's own texture, untouched
    else:
        assert kept < 0.05  # two opposite textures averaged to nothing


@pytest.mark.parametrize("colour_share", [0.0, 0.3, 0.6])
@pytest.mark.parametrize("fine_share", [0.0, 0.2, 0.5])
def test_the_luminance_weights_leave_the_difference_a_plain_blend_of_that_strength_would(
    colour_share, fine_share
):
    steadiness, colour, low_most = 0.4, 0.9, 0.8
    energies = (
        colour_share,
        (1 - colour_share) * (1 - fine_share),
        (1 - colour_share) * fine_share,
    )
    low, fine = luminance_weights(steadiness, colour, low_most, *energies)
    left = sum((1 - w) ** 2 * e for w, e in zip((colour, low, fine), energies, strict=True))
    assert left == pytest.approx((1 - steadiness) ** 2)
    assert 0 <= fine <= low <= low_most  # colour, then the low band, the texture last
    if fine > 0:
        assert low == low_most
    # Without a split (σ 0) all of the luminance is "low", and colour still goes first.
    whole, _ = luminance_weights(steadiness, colour, 1.0, colour_share, 1 - colour_share)
    assert whole == steadiness if colour_share == 0 else whole < steadiness


def test_the_fine_band_is_blended_only_when_the_low_band_cannot_steady_the_frame():
    # A difference all in the fine band (strokes that morph under a zoom): blended there.
    low, fine = luminance_weights(0.4, 0.9, 0.8, 0.0, 0.0, 1.0)
    assert (low, fine) == (0.8, pytest.approx(0.4))
    # Mostly in the low band (a slow, shaded scene): the texture is left alone.
    low, fine = luminance_weights(0.4, 0.9, 0.8, 0.0, 0.8, 0.2)
    assert fine == 0 and 0.4 < low < 0.8


def test_optical_flow_follows_a_known_shift():
    from models.video.temporal import OpticalFlow

    a, b = pan(photo(scale=1.5), 2, SIZE, 4)  # b's pixel x is a's x + 4
    flow, reliable = OpticalFlow.of(TemporalSettings())(grey(a), grey(b))
    inner = flow[10:-10, 10:-10][reliable[10:-10, 10:-10]]
    assert reliable[10:-10, 10:-10].mean() > 0.9
    assert np.median(inner[:, 0]) == pytest.approx(4, abs=0.1)
    assert np.median(inner[:, 1]) == pytest.approx(0, abs=0.1)


def test_the_engines_flow_follows_a_zoom_to_a_tenth_of_a_pixel():
    """A zoom's motion changes across the frame; DIS fast, which refines only to a quarter
    of the resolution, was 0.18 px off on average here, medium (the default, to half
    the resolution) 0.07."""
    import cv2

    from models.video.temporal import OpticalFlow

    w, h, s = 160, 96, 1.04
    building = np.ascontiguousarray(photo(scale=1.5)[300:, 100:])
    centre = np.array([w / 2, h / 2])
    current = np.ascontiguousarray(building[:h, :w])
    zoom = np.array([[s, 0, (1 - s) * centre[0]], [0, s, (1 - s) * centre[1]]])
    previous = cv2.warpAffine(building, zoom, (w, h), flags=cv2.INTER_CUBIC)  # zoomed out
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    true = np.stack([(s - 1) * (x - centre[0]), (s - 1) * (y - centre[1])], -1)
    flow, reliable = OpticalFlow.of(TemporalSettings())(grey(previous), grey(current))
    inner = (slice(12, -12), slice(12, -12))
    assert reliable[inner].mean() > 0.95
    assert np.hypot(*(flow - true)[inner].transpose(2, 0, 1)).mean() < 0.1


def test_the_anchored_canvas_holds_the_content_still_and_gives_the_frame_back():
    temporal = Temporal(TemporalSettings())
    building = np.ascontiguousarray(photo(scale=1.5)[400:, 200:])  # texture, not sky
    frames = slide(building, 6, SIZE, (2.3, 0.6))  # content moves by −(2.3, 0.6)
    canvases = []
    for frame in frames:
        temporal.start(frame)
        canvas = temporal.place(frame)
        assert canvas.shape == (SIZE[1] + 8, SIZE[0] + 8, 3)  # one lattice cell of margin
        back = temporal.finish(canvas)
        assert back.shape == frame.shape
        # Two resamplings (Lanczos): the frame comes back within a few grey levels.
        assert np.abs(_pixels(back) - _pixels(frame))[4:-4, 4:-4].mean() < 2
        canvases.append(_pixels(canvas))
    # In the canvas the content stays where it was, modulo the 8-px lattice: the
    # accumulated motion is 11.5 px sideways, so compare with a lattice cell's shift.
    still = [np.abs(b[20:-20, 20:-20] - a[20:-20, 20:-20]).mean()
             for a, b in zip(canvases, canvases[1:], strict=False)]  # fmt: skip
    moved = [np.abs(_pixels(b) - _pixels(a))[20:-20, 20:-20].mean()
             for a, b in zip(frames, frames[1:], strict=False)]  # fmt: skip
    assert max(still[:3]) < 0.25 * min(moved)
