"""Feature transforms, one function per operation as the papers name them.

Shapes: features are (C, N) matrices — C channels, N = H·W spatial positions — for one
image, because every transform here is a statistic over positions. ``flatten`` and
``unflatten`` convert from and to (1, C, H, W) maps.

- AdaIN (Huang & Belongie 2017): ``adaptive_instance_normalization`` re-scales each content
  channel to the style's channel mean and standard deviation.
- WCT (Li et al. 2017): ``whiten`` removes the content's channel correlations,
  ``colorize`` imposes the style's covariance and mean.
"""

from dataclasses import dataclass

import torch

EPS = 1e-5
# Eigen-directions whose variance is below this fraction of the largest are noise: whitening
# them would divide by ~0 and blow up (flat or tiny images). They are dropped instead.
EIGEN_FLOOR = 1e-5


def flatten(feature: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) → (C, H·W)."""
    return feature.reshape(feature.shape[1], -1)


def unflatten(matrix: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(C, H·W) → the (1, C, H, W) shape of ``like``."""
    return matrix.reshape(like.shape)


def calc_mean_std(feature: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of a (C, N) matrix, each (C, 1)."""
    mean = feature.mean(dim=1, keepdim=True)
    var = feature.var(dim=1, keepdim=True, unbiased=False) if feature.shape[1] > 0 else mean * 0
    return mean, (var + eps).sqrt()


def adaptive_instance_normalization(
    content: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor
) -> torch.Tensor:
    """AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y) on (C, N) content, (C, 1) style stats."""
    mean, std = calc_mean_std(content)
    return (content - mean) / std * style_std + style_mean


@dataclass(frozen=True)
class Covariance:
    """A feature distribution as WCT needs it: mean (C, 1) and eigen-decomposed covariance.

    Computed in float64: eigendecomposition of a 512×512 covariance in float32 loses the
    small eigenvalues that whitening divides by.
    """

    mean: torch.Tensor  # (C, 1), float64
    eigenvalues: torch.Tensor  # (K,), float64, only the kept (non-negligible) directions
    eigenvectors: torch.Tensor  # (C, K), float64

    @classmethod
    def of(cls, feature: torch.Tensor) -> "Covariance":
        """Mean and covariance of a (C, N) matrix."""
        x = feature.to(torch.float64)
        mean = x.mean(dim=1, keepdim=True)
        centred = x - mean
        n = max(x.shape[1] - 1, 1)
        cov = centred @ centred.T / n
        cov = cov + EPS * torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
        values, vectors = torch.linalg.eigh(cov)
        keep = values > values.max().clamp_min(EPS) * EIGEN_FLOOR
        return cls(mean, values[keep], vectors[:, keep])

    def matrix(self, power: float) -> torch.Tensor:
        """E · diag(λ^power) · Eᵀ, e.g. power −½ to whiten, +½ to colour."""
        return (self.eigenvectors * self.eigenvalues.pow(power)) @ self.eigenvectors.T


def whiten(content: torch.Tensor, stats: Covariance | None = None) -> torch.Tensor:
    """Decorrelate (C, N) content features to identity covariance (float64 out)."""
    stats = stats or Covariance.of(content)
    return stats.matrix(-0.5) @ (content.to(torch.float64) - stats.mean)


def colorize(whitened: torch.Tensor, style: Covariance) -> torch.Tensor:
    """Give whitened features the style's covariance and mean (float64 in and out)."""
    return style.matrix(0.5) @ whitened + style.mean


def whiten_color_transform(content: torch.Tensor, style: Covariance) -> torch.Tensor:
    """WCT: colorize(whiten(content), style), returned in the content's dtype."""
    return colorize(whiten(content), style).to(content.dtype)


def blend(stylized: torch.Tensor, content: torch.Tensor, alpha: float) -> torch.Tensor:
    """α·stylized + (1 − α)·content: the user's style-strength control."""
    return stylized if alpha == 1.0 else alpha * stylized + (1.0 - alpha) * content


def gram_matrix(feature: torch.Tensor) -> torch.Tensor:
    """Gatys et al.'s style representation: (C, N) → (C, C) = F·Fᵀ / N."""
    return feature @ feature.T / feature.shape[1]
