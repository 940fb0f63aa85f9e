"""Feature transforms, one function per operation as the papers name them.

Shapes: features are (C, N) matrices — C channels, N = H·W spatial positions — for one
image, because every transform here is a statistic over positions. ``flatten`` and
``unflatten`` convert from and to (1, C, H, W) maps.

- AdaIN (Huang & Belongie 2017): ``adaptive_instance_normalization`` re-scales each content
  channel to the style's channel mean and standard deviation.
- WCT (Li et al. 2017): ``whiten`` removes the content's channel correlations,
  ``colorize`` imposes the style's covariance and mean.
- Optimal transport between Gaussians: ``optimal_transport``, the same target
  statistics as WCT reached by the smallest move of the content's features.

Once the content's statistics are known, each of them is one affine map per position
(``AffineMap``); the cascade folds that map into the decoder's first convolution instead
of writing the transformed features out (``models/cascade.py``).
"""

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

EPS = 1e-5
# Eigen-directions whose variance is below this fraction of the largest are noise: whitening
# them would divide by ~0 and blow up (flat or tiny images). They are dropped instead.
EIGEN_FLOOR = 1e-5
# Columns per chunk when summing statistics: a 32-channel chunk in float32 is 2 MB, so
# the shifted copy of each chunk is written and read again in cache, never in memory.
CHUNK = 1 << 14
# Columns whose mean is the shift the statistics are centred on (see ``moments``).
SHIFT_COLUMNS = 4096


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run the C×C algebra (eigendecompositions, products of 24–128-wide matrices) on one
    thread. Two threads buy nothing at this size and, on a shared host, each parallel
    region waits for a thread the OS has descheduled: a 128×128 ``eigh`` took 2 ms on
    one thread and 10–20 ms (up to 1.3 s) on two under load 4."""
    threads = torch.get_num_threads()
    if threads == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def flatten(feature: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) → (C, H·W), a view (no copy) for contiguous and channels-last maps."""
    return feature[0].reshape(feature.shape[1], -1)


def unflatten(matrix: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(C, H·W) → the (1, C, H, W) shape of ``like``.

    A matrix laid out position-major (stride 1 along C, as ``flatten`` gives for a
    channels-last map) comes back channels-last without a copy.
    """
    n, c, h, w = like.shape
    if matrix.stride(0) == 1 and c > 1:
        return matrix.T.reshape(n, h, w, c).permute(0, 3, 1, 2)
    return matrix.reshape(like.shape)


def calc_mean_std(feature: torch.Tensor, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and standard deviation of a (C, N) matrix, each (C, 1), float32
    (float64 for float64 features), whatever the features' dtype (bfloat16 ones too)."""
    c, n = feature.shape
    if n == 0:
        zero = feature.new_zeros(c, 1, dtype=_working_dtype(feature))
        return zero, zero + eps**0.5
    shift = _shift(feature)
    total = feature.new_zeros(c, 1, dtype=torch.float64)
    squares = feature.new_zeros(c, 1, dtype=torch.float64)
    for chunk in feature.split(CHUNK, dim=1):
        centred = chunk - shift
        total += centred.sum(dim=1, keepdim=True)
        squares += centred.square_().sum(dim=1, keepdim=True)
    offset = total / n
    variance = (squares / n - offset * offset).clamp_min(0)
    mean = shift.to(torch.float64) + offset
    return mean.to(shift.dtype), (variance + eps).sqrt().to(shift.dtype)


def _working_dtype(feature: torch.Tensor) -> torch.dtype:
    """float32, or float64 for float64 features: bfloat16 sums would keep 3 digits."""
    return torch.promote_types(feature.dtype, torch.float32)


def _shift(feature: torch.Tensor) -> torch.Tensor:
    """(C, 1) mean of the first ``SHIFT_COLUMNS`` columns, in the working dtype.

    Statistics are summed over ``feature − shift``: with the shift near the mean the sums
    carry the variance, not mean², so nothing cancels (a relu feature's mean can be
    several standard deviations), and ``chunk − shift`` is also the one pass that turns a
    chunk of bfloat16 features into float32.
    """
    head = feature[:, :SHIFT_COLUMNS].to(_working_dtype(feature))
    return head.mean(dim=1, keepdim=True)


def adaptive_instance_normalization(
    content: torch.Tensor,
    style_mean: torch.Tensor,
    style_std: torch.Tensor,
    content_mean: torch.Tensor | None = None,
    content_std: torch.Tensor | None = None,
) -> torch.Tensor:
    """AdaIN(x, y) = σ(y)·(x − μ(x))/σ(x) + μ(y) on (C, N) content, (C, 1) style stats.

    ``content_mean``/``content_std`` (C, 1) replace μ(x)/σ(x) when given: video smooths
    them across frames so that a frame's own small changes do not swing the strokes.
    """
    if content_mean is None or content_std is None:
        content_mean, content_std = calc_mean_std(content)
    return (content - content_mean) / content_std * style_std + style_mean


@dataclass(frozen=True)
class Covariance:
    """A feature distribution as WCT needs it: mean (C, 1) and eigen-decomposed covariance.

    Computed in float64: eigendecomposition of a 512×512 covariance in float32 loses the
    small eigenvalues that whitening divides by.
    """

    mean: torch.Tensor  # (C, 1), float64
    eigenvalues: torch.Tensor  # (K,), float64, only the kept (non-negligible) directions
    eigenvectors: torch.Tensor  # (C, K), float64
    # Per-channel variance over positions (divided by N, as AdaIN uses it), float64: lets
    # a style's AdaIN statistics come from the same pass as its covariance.
    variance: torch.Tensor | None = None  # (C, 1)

    def mean_std(self, eps: float = EPS) -> tuple[torch.Tensor, torch.Tensor]:
        """The (C, 1) mean and standard deviation ``calc_mean_std`` would give, in float32."""
        assert self.variance is not None, "built without variances"
        return self.mean.float(), (self.variance + eps).sqrt().float()

    @classmethod
    def of(cls, feature: torch.Tensor) -> "Covariance":
        """Mean and covariance of a (C, N) matrix."""
        return cls.from_moments(*moments(feature))

    @classmethod
    def from_moments(
        cls, mean: torch.Tensor, covariance: torch.Tensor, variance: torch.Tensor
    ) -> "Covariance":
        """From ``moments``' (C, 1) mean, (C, C) covariance and (C, 1) variance, float64.

        Separate from ``of`` so that moments averaged over several frames (video) are
        decomposed exactly as one image's are.
        """
        c = covariance.shape[0]
        with one_thread():
            cov = covariance + EPS * torch.eye(c, dtype=covariance.dtype, device=covariance.device)
            values, vectors = torch.linalg.eigh(cov)
            keep = values > values.max().clamp_min(EPS) * EIGEN_FLOOR
            return cls(mean, values[keep], vectors[:, keep], variance)

    def matrix(self, power: float) -> torch.Tensor:
        """E · diag(λ^power) · Eᵀ, e.g. power −½ to whiten, +½ to colour."""
        return (self.eigenvectors * self.eigenvalues.pow(power)) @ self.eigenvectors.T


def moments(feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(C, N) → mean (C, 1), covariance (C, C, over N − 1) and variance (C, 1, over N), float64.

    Summed chunk by chunk (``CHUNK`` columns), centred on ``_shift``: one pass over the
    features whatever their dtype, each chunk's product in float32 (in cache), the
    chunks added up in float64. A 4096-px image's level-1 features are never copied whole.
    Two passes (the exact mean first, then centred products of 256 K-column chunks)
    took 25 ms on 24 × 704 K float32 features, 50 ms on bfloat16 ones; this takes 17.
    """
    c, n = feature.shape
    if n == 0:
        zero = feature.new_zeros(c, 1, dtype=torch.float64)
        return zero, feature.new_zeros(c, c, dtype=torch.float64), zero
    shift = _shift(feature)
    scatter = feature.new_zeros(c, c, dtype=torch.float64)
    total = feature.new_zeros(c, 1, dtype=torch.float64)
    for chunk in feature.split(CHUNK, dim=1):
        centred = chunk - shift
        scatter += (centred @ centred.T).to(torch.float64)
        total += centred.sum(dim=1, keepdim=True)
    offset = total / n
    mean = shift.to(torch.float64) + offset
    scatter -= n * (offset @ offset.T)  # about the mean, not the shift (parallel axes)
    return mean, scatter / max(n - 1, 1), scatter.diagonal().unsqueeze(1) / n


class RunningMoments:
    """``moments`` of the columns of several (C, Nᵢ) matrices, added one at a time: the
    statistics of a whole image seen band by band (``models/poster.py``).

    Each piece's own moments are combined at the end by the parallel-axis rule (Chan et
    al. 1979): scatter = Σ scatterᵢ + Σ nᵢ·(μᵢ − μ)(μᵢ − μ)ᵀ, every term centred, so no
    precision is lost to a large mean.
    """

    def __init__(self) -> None:
        self.pieces: list[tuple[int, torch.Tensor, torch.Tensor]] = []  # n, mean, scatter

    def add(self, feature: torch.Tensor) -> None:
        n = feature.shape[1]
        if n:
            mean, covariance, _ = moments(feature)
            self.pieces.append((n, mean, covariance * max(n - 1, 1)))

    def result(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Mean (C, 1), covariance (C, C, over N − 1), variance (C, 1, over N), as ``moments``."""
        total = sum(n for n, _, _ in self.pieces)
        mean = sum(n * m for n, m, _ in self.pieces) / total
        scatter = sum(
            s + n * ((m - mean) @ (m - mean).T)  # type: ignore[operator]
            for n, m, s in self.pieces
        )
        return mean, scatter / max(total - 1, 1), scatter.diagonal().unsqueeze(1) / total


def whiten(content: torch.Tensor, stats: Covariance | None = None) -> torch.Tensor:
    """Decorrelate (C, N) content features to identity covariance (float64 out)."""
    stats = stats or Covariance.of(content)
    return stats.matrix(-0.5) @ (content.to(torch.float64) - stats.mean)


def colorize(whitened: torch.Tensor, style: Covariance) -> torch.Tensor:
    """Give whitened features the style's covariance and mean (float64 in and out)."""
    return style.matrix(0.5) @ whitened + style.mean


@dataclass(frozen=True)
class AffineMap:
    """x ↦ M·x + b at every position: M (C, C), b (C, 1), float64.

    With the content's statistics fixed, AdaIN, WCT and OT are each such a map, and so is
    any weighted sum of them (several styles) or a blend with the identity (alpha), so a
    level's whole transform is one map, built once on C×C matrices.
    """

    matrix: torch.Tensor
    shift: torch.Tensor

    @classmethod
    def centred(
        cls, matrix: torch.Tensor, content_mean: torch.Tensor, style_mean: torch.Tensor
    ) -> "AffineMap":
        """M·(x − μc) + μs."""
        return cls(matrix, style_mean - matrix @ content_mean)

    def __call__(self, content: torch.Tensor) -> torch.Tensor:
        """Apply to (C, N) ``content``, in its own dtype."""
        # Computed as (N, C) = Xᵀ·Mᵀ + bᵀ: for channels-last features Xᵀ is the memory's
        # own order, so neither input nor output is copied (``unflatten`` sees the layout).
        out = torch.addmm(
            self.shift.T.to(content.dtype), content.T, self.matrix.T.to(content.dtype)
        )
        return out.T

    def blend(self, alpha: float) -> "AffineMap":
        """α·map(x) + (1 − α)·x, the ``blend`` of the map's output with its input."""
        if alpha == 1.0:
            return self
        eye = torch.eye(self.matrix.shape[0], dtype=self.matrix.dtype, device=self.matrix.device)
        return AffineMap(alpha * self.matrix + (1.0 - alpha) * eye, alpha * self.shift)

    @staticmethod
    def mix(maps: Sequence["AffineMap"], weights: Sequence[float]) -> "AffineMap":
        """Σ wᵢ·mapᵢ(x): styles interpolated by weight."""
        pairs = [(w, m) for w, m in zip(weights, maps, strict=True) if w > 0]
        if len(pairs) == 1 and pairs[0][0] == 1.0:
            return pairs[0][1]
        return AffineMap(
            sum(w * m.matrix for w, m in pairs),  # type: ignore[arg-type]
            sum(w * m.shift for w, m in pairs),  # type: ignore[arg-type]
        )


def adaptive_instance_normalization_map(
    content_mean: torch.Tensor,
    content_std: torch.Tensor,
    style_mean: torch.Tensor,
    style_std: torch.Tensor,
) -> AffineMap:
    """AdaIN as a map: diag(σ(y)/σ(x)), centred on μ(x) → μ(y); all (C, 1)."""
    scale = (style_std.double() / content_std.double()).flatten()
    return AffineMap.centred(torch.diag(scale), content_mean.double(), style_mean.double())


def whiten_color_map(style: Covariance, stats: Covariance) -> AffineMap:
    """WCT as a map: colorize ∘ whiten = Σs^½·Σc^-½, centred on μc → μs."""
    with one_thread():
        return AffineMap.centred(style.matrix(0.5) @ stats.matrix(-0.5), stats.mean, style.mean)


def whiten_color_transform(
    content: torch.Tensor, style: Covariance, stats: Covariance | None = None
) -> torch.Tensor:
    """WCT: colorize(whiten(content), style), returned in the content's dtype.

    Both steps are linear, so they fold into one C×C matrix (built in float64) and one
    shift; only that product touches the N columns, in the features' own dtype. Same
    result as ``colorize(whiten(x))`` to float32 precision, at a fraction of the memory.
    """
    return whiten_color_map(style, stats or Covariance.of(content))(content)


def optimal_transport_map(style: Covariance, stats: Covariance, soften: float = 0.0) -> AffineMap:
    """The optimal-transport (Monge) map between the content's and the style's Gaussians.

    T(x) = A·(x − μc) + μs with A = Σc^-½ (Σc^½ Σs Σc^½)^½ Σc^-½ (closed form for Gaussians;
    used for style transfer by Mroueh 2019, Kalischek et al. 2021). Like WCT it gives the
    style's covariance exactly, but A is the one such map that is symmetric positive
    definite, the one that moves the features least (in mean squared distance); WCT's
    Σs^½·Σc^-½ adds a rotation. Same cost as WCT plus one C×C eigendecomposition.

    ``soften`` β in [0, 1] aims at ``softened_covariance(Σs, Σc, β)`` instead of Σs.
    """
    with one_thread():
        root = stats.matrix(0.5)
        target = style.matrix(1.0)
        if soften > 0:
            target = softened_covariance(target, stats.matrix(1.0), soften)
        middle = root @ target @ root
        values, vectors = torch.linalg.eigh((middle + middle.T) / 2)
        middle_root = (vectors * values.clamp_min(0).sqrt()) @ vectors.T
        inverse_root = stats.matrix(-0.5)
        return AffineMap.centred(inverse_root @ middle_root @ inverse_root, stats.mean, style.mean)


def softened_covariance(style: torch.Tensor, content: torch.Tensor, soften: float) -> torch.Tensor:
    """Σs with its weak directions lifted toward the content's variance along them.

    In Σs's eigenbasis (λᵢ, eᵢ), λᵢ ← λᵢ + β·max(0, eᵢᵀΣc eᵢ − λᵢ). A flat, few-colour
    style has a nearly low-rank covariance: mapped onto it, the photo's variation along
    the missing directions is squashed and only blotches of the style's colours remain.
    Lifting only those directions gives some of the photo's shading back and leaves the
    style's strong directions, its palette and strokes, as they are. (C, C) float64.
    """
    values, vectors = torch.linalg.eigh(style)
    along = ((content @ vectors) * vectors).sum(dim=0)  # eᵢᵀΣc eᵢ
    values = values + soften * (along - values).clamp_min(0)
    return (vectors * values) @ vectors.T


def optimal_transport(
    content: torch.Tensor,
    style: Covariance,
    stats: Covariance | None = None,
    soften: float = 0.0,
) -> torch.Tensor:
    """``optimal_transport_map`` applied to (C, N) ``content``, in its dtype."""
    return optimal_transport_map(style, stats or Covariance.of(content), soften)(content)


def blend(stylized: torch.Tensor, content: torch.Tensor, alpha: float) -> torch.Tensor:
    """α·stylized + (1 − α)·content: the user's style-strength control."""
    return stylized if alpha == 1.0 else alpha * stylized + (1.0 - alpha) * content


def gram_matrix(feature: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Gatys et al.'s style representation: (C, N) → (C, C) = F·Fᵀ / N.

    With a soft region ``weight`` (N,) in [0, 1]: G = (F·m)·Fᵀ / Σm, the region's own style
    representation (Gatys et al. 2017, §3).
    """
    if weight is None:
        return feature @ feature.T / feature.shape[1]
    m = weight.reshape(1, -1)
    return (feature * m) @ feature.T / m.sum().clamp_min(1e-8)
