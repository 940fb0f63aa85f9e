"""Temporal consistency pieces: the cascade's content-statistics hook, smoothed statistics,
optical flow with its consistency check, scene cuts, and the history they reset."""

import numpy as np
import pytest
import torch

from models.params import StyleParams
from models.stylizer import RECIPES
from models.transforms import Covariance, moments
from models.video.temporal import (
    SceneCuts,
    SmoothedStatistics,
    Temporal,
    TemporalSettings,
    consistent,
    grey,
)
from tests.utils.video import pan, photo

SIZE = (160, 96)


def _pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("method", ["wct", "adain"])
def test_content_stats_hook_is_asked_once_per_step_and_its_statistics_are_used(
    stylizer, photo, painting, method
):
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
    temporal = Temporal()
    shot = pan(photo("cornell.jpg"), 3, SIZE, 2)
    rng = np.random.default_rng(0)
    outputs = [rng.integers(0, 256, (*SIZE[::-1], 3), dtype=np.uint8) for _ in range(4)]
    assert temporal.start(shot[0]) is False  # the first frame has no past, but is no cut
    np.testing.assert_array_equal(temporal.finish(outputs[0]), outputs[0])
    temporal.statistics(0, 4, torch.ones(4, 10))
    assert temporal.start(shot[1]) is False
    blended = temporal.finish(outputs[1])
    assert np.abs(_pixels(blended) - _pixels(outputs[1])).mean() > 20  # history mixed in

    other = pan(photo("sailboat.jpg"), 1, SIZE, 2)[0]
    assert temporal.start(other) is True
    np.testing.assert_array_equal(temporal.finish(outputs[2]), outputs[2])
    fresh = torch.zeros(4, 10)
    assert temporal.statistics(0, 4, fresh).mean.abs().max() == 0  # nothing of the old shot


def test_optical_flow_follows_a_known_shift():
    from models.video.temporal import OpticalFlow

    a, b = pan(photo(scale=1.5), 2, SIZE, 4)  # b's pixel x is a's x + 4
    flow, reliable = OpticalFlow(TemporalSettings().flow_preset)(grey(a), grey(b))
    inner = flow[10:-10, 10:-10][reliable[10:-10, 10:-10]]
    assert reliable[10:-10, 10:-10].mean() > 0.9
    assert np.median(inner[:, 0]) == pytest.approx(4, abs=0.1)
    assert np.median(inner[:, 1]) == pytest.approx(0, abs=0.1)
