"""AdaIN and WCT do what the papers say, on real VGG features, without numerical blow-ups."""

import torch

from models.stylizer import Stylizer
from models.tensors import to_tensor
from models.transforms import (
    CHUNK,
    AffineMap,
    Covariance,
    RunningMoments,
    adaptive_instance_normalization,
    calc_mean_std,
    colorize,
    flatten,
    moments,
    optimal_transport,
    optimal_transport_map,
    softened_covariance,
    whiten,
    whiten_color_map,
    whiten_color_transform,
)
from tests.support.paths import DEVICE


def _features(stylizer: Stylizer, image, level: int) -> torch.Tensor:
    with torch.inference_mode():
        return flatten(
            stylizer.networks.encoders[("cd16x", level)](to_tensor(image, DEVICE))
        ).double()


def test_adain_output_features_match_style_channel_mean_and_std(stylizer, photo, painting):
    content, style = _features(stylizer, photo, 4), _features(stylizer, painting, 4)
    s_mean, s_std = calc_mean_std(style)
    out_mean, out_std = calc_mean_std(adaptive_instance_normalization(content, s_mean, s_std))
    torch.testing.assert_close(out_mean, s_mean, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(out_std, s_std, atol=1e-4, rtol=1e-4)


def test_whiten_gives_identity_covariance_on_the_kept_directions(stylizer, photo):
    content = _features(stylizer, photo, 3)
    white = whiten(content)
    eigenvalues = torch.linalg.eigvalsh(white @ white.T / (white.shape[1] - 1))
    kept = Covariance.of(content).eigenvalues.numel()
    # Directions with ~zero variance (dead ReLU channels) are dropped, not amplified.
    torch.testing.assert_close(
        eigenvalues[-kept:],
        torch.ones(kept, dtype=eigenvalues.dtype, device=eigenvalues.device),
        atol=1e-3,
        rtol=0,
    )
    assert (eigenvalues[: len(eigenvalues) - kept].abs() < 1e-6).all()


def test_wct_output_covariance_matches_style(stylizer, photo, painting):
    content, style = _features(stylizer, photo, 3), _features(stylizer, painting, 3)
    out = whiten_color_transform(content, Covariance.of(style))

    def cov(x):
        centred = x - x.mean(dim=1, keepdim=True)
        return centred @ centred.T / (x.shape[1] - 1)

    error = torch.linalg.matrix_norm(cov(out) - cov(style)) / torch.linalg.matrix_norm(cov(style))
    assert error < 1e-3
    torch.testing.assert_close(out.mean(dim=1), style.mean(dim=1), atol=1e-6, rtol=1e-6)


def test_wct_and_adain_stay_finite_on_flat_and_single_pixel_features():
    flat = torch.full((64, 100), 0.5, dtype=torch.float64)
    single = torch.rand(64, 1, dtype=torch.float64)
    style = Covariance.of(torch.rand(64, 50, dtype=torch.float64))
    for content in (flat, single):
        assert torch.isfinite(whiten_color_transform(content, style)).all()
        assert torch.isfinite(
            whiten_color_transform(style.mean.expand(64, 10), Covariance.of(content))
        ).all()
        mean, std = calc_mean_std(content)
        assert torch.isfinite(adaptive_instance_normalization(content, mean, std)).all()


def test_folded_wct_on_float32_features_matches_the_two_float64_steps(stylizer, photo, painting):
    content, style = _features(stylizer, photo, 2), _features(stylizer, painting, 2)
    reference = colorize(whiten(content), Covariance.of(style))
    folded = whiten_color_transform(content.float(), Covariance.of(style.float()))
    assert folded.dtype == torch.float32
    error = (folded.double() - reference).abs().max() / reference.abs().max()
    assert error < 1e-4


def test_covariance_summed_in_chunks_equals_the_direct_computation():
    # More columns than one chunk, and a large offset (mean² ≫ variance): centring before
    # the products keeps the covariance exact to float32 precision.
    x = torch.randn(24, CHUNK * 2 + 777, dtype=torch.float32) * 3 + 100
    stats = Covariance.of(x)
    direct = torch.cov(x.double())
    rebuilt = stats.matrix(1.0)
    torch.testing.assert_close(stats.mean[:, 0], x.double().mean(dim=1), atol=0, rtol=1e-6)
    torch.testing.assert_close(rebuilt, direct, atol=1e-4, rtol=1e-6)


def test_a_styles_adain_statistics_from_its_covariance_pass_match_calc_mean_std(stylizer, painting):
    feature = _features(stylizer, painting, 4).float()
    mean, std = Covariance.of(feature).mean_std()
    expected_mean, expected_std = calc_mean_std(feature)
    torch.testing.assert_close(mean, expected_mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(std, expected_std, atol=1e-5, rtol=1e-5)


def _covariance(x: torch.Tensor) -> torch.Tensor:
    centred = x - x.mean(dim=1, keepdim=True)
    return centred @ centred.T / (x.shape[1] - 1)


def test_optimal_transport_output_has_the_style_covariance_and_mean(stylizer, photo, painting):
    content, style = _features(stylizer, photo, 3), _features(stylizer, painting, 3)
    out = optimal_transport(content, Covariance.of(style))
    error = torch.linalg.matrix_norm(_covariance(out) - _covariance(style))
    assert error / torch.linalg.matrix_norm(_covariance(style)) < 1e-3
    torch.testing.assert_close(out.mean(dim=1), style.mean(dim=1), atol=1e-6, rtol=1e-6)


def test_optimal_transport_moves_the_features_less_than_wct(stylizer, photo, painting):
    content, style = _features(stylizer, photo, 4), _features(stylizer, painting, 4)
    stats = Covariance.of(style)
    moved = {
        name: (transform(content, stats) - content).square().mean()
        for name, transform in (("ot", optimal_transport), ("wct", whiten_color_transform))
    }
    assert moved["ot"] < 0.97 * moved["wct"]  # 0.94 measured: OT is the least move


def test_running_moments_over_pieces_equal_the_moments_of_the_whole():
    # Pieces of different sizes, one longer than a chunk, and a large offset.
    x = torch.randn(24, CHUNK + 5000, dtype=torch.float32) * 2 + 50
    running = RunningMoments()
    for piece in x.split([1000, CHUNK, 4000], dim=1):
        running.add(piece)
    for got, expected in zip(running.result(), moments(x), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-5)


def test_a_transform_as_an_affine_map_blends_and_mixes_like_its_outputs(stylizer, photo, painting):
    content = _features(stylizer, photo, 2).float()
    style = Covariance.of(_features(stylizer, painting, 2))
    stats = Covariance.of(content)
    wct, ot = whiten_color_map(style, stats), optimal_transport_map(style, stats)
    torch.testing.assert_close(
        wct.blend(0.3)(content), 0.3 * wct(content) + 0.7 * content, atol=1e-4, rtol=1e-4
    )
    torch.testing.assert_close(
        AffineMap.mix([wct, ot], [0.25, 0.75])(content),
        0.25 * wct(content) + 0.75 * ot(content),
        atol=1e-4,
        rtol=1e-4,
    )


def test_softening_lifts_only_the_styles_weak_directions_toward_the_contents_variance():
    vectors = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64)).Q
    style = (vectors * torch.tensor([4.0, 2.0, 0.01, 0.001], dtype=torch.float64)) @ vectors.T
    content = torch.eye(4, dtype=torch.float64)  # variance 1 along every direction

    def along(matrix):
        return torch.linalg.vecdot(matrix @ vectors, vectors, dim=0)

    torch.testing.assert_close(softened_covariance(style, content, 0.0), style)
    lifted = along(softened_covariance(style, content, 0.5))
    torch.testing.assert_close(lifted, torch.tensor([4.0, 2.0, 0.505, 0.5005], dtype=torch.float64))


def test_softened_optimal_transport_reaches_the_softened_covariance(stylizer, photo, painting):
    content, style = _features(stylizer, photo, 3), _features(stylizer, painting, 3)
    out = optimal_transport(content, Covariance.of(style), soften=0.5)
    target = softened_covariance(_covariance(style), _covariance(content), 0.5)
    error = torch.linalg.matrix_norm(_covariance(out) - target)
    assert error / torch.linalg.matrix_norm(target) < 1e-3
