"""Gatys et al. (2015): stylize by optimising the pixels themselves; and refinement mode.

The output image x minimises

    L(x) = w_c · L_content + w_s · α · L_style + w_tv · L_tv

- ``content_loss``: ‖F(x) − F(c)‖² / ‖F(c)‖² at relu3_1, the deepest real VGG-19 layer.
- ``style_loss``: ‖G(x) − G(s)‖² / ‖G(s)‖² with G the Gram matrix F·Fᵀ/N, averaged with
  per-layer weights over relu1_1 … relu3_1 *and over an image pyramid* (output and style
  both halved per octave): shallow layers alone see only 5–24 px patterns, the octaves
  let the same layers see 2× and 4× larger ones. Optionally also the approximate
  relu4_1/relu5_1 of the compressed encoder (``*_aux`` projections, cd16x.py).
- ``tv_loss``: mean squared difference of neighbouring pixels (smoothness).

Every term is a ratio or a mean, so one set of weights means the same at 64 px and at
1024 px and for any style (defaults in ``GatysParams``: w_c = 1, w_s = 10, w_tv = 10, chosen
with bench/gatys.py). α is the user's style strength. "Refinement" starts from a
feed-forward AdaIN/WCT result, so a few dozen iterations sharpen it; the optimisation can
also start from the content or from seeded noise.

Several styles: their Grams are blended by weight. A mask: each region matches its own
style's Grams, computed over the region only (the mask averaged down to each layer).

Entry points: ``encode_style`` (what ``Stylizer.encode_style(..., method="gatys")``
returns: the cascade's statistics plus the Gram targets, cacheable per style) and
``optimise`` (what ``Stylizer.stylize`` runs for ``method="gatys"``, with the inputs
already checked and the styles encoded). It is a peer of the cascade: it uses the
cascade's public functions to start from a feed-forward result, nothing of ``Stylizer``.
"""

import contextlib
import dataclasses
import functools
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from PIL import Image
from torch.nn import functional as F

from models import cascade, weights
from models.cascade import Networks, Recipe, StyleFeatures
from models.errors import InvalidParameter
from models.networks import cd16x, vgg
from models.params import GATYS_MIN_SIDE, StyleParams
from models.tensors import pad_to_multiple, preserve_color, to_image, to_tensor
from models.transforms import flatten, gram_matrix
from models.types import CancelCheck, ProgressCallback, ProgressEvent, StylizeResult

Key = tuple[str, int]  # (layer, octave): octave k is the image downsampled by 2^k
DEEP_LAYERS = ("relu4_1", "relu5_1")  # approximations through cd16x's *_aux convs
MAX_OCTAVES = 4
MIN_OCTAVE_SIDE = 32  # below this a downsampled copy holds no texture worth matching
LINE_SEARCH_EVALUATIONS = 20  # at most, per L-BFGS iteration (usually one suffices)
STRIDE = {"relu1_1": 1, "relu2_1": 2, "relu3_1": 4, "relu4_1": 8, "relu5_1": 16}


@dataclass(frozen=True)
class LossConfig:
    """Which features the loss compares, and how much each counts (engine-side tuning).

    The request-side weights (content, style, TV) are in ``GatysParams``; this is the
    loss network's design, chosen with ``bench/gatys.py``.
    """

    content_layers: tuple[str, ...] = ("relu3_1",)
    # (layer, weight); deep layers only at octave 0: they already see large structures.
    style_layers: tuple[tuple[str, float], ...] = (
        ("relu1_1", 1.0),
        ("relu2_1", 1.0),
        ("relu3_1", 1.0),
        ("relu4_1", 0.0),
        ("relu5_1", 0.0),
    )
    octaves: tuple[float, ...] = (1.0, 1.0, 1.0)  # style weight of octave 0, 1, 2 …
    # Shrink a target Gram toward (tr G / C)·I by λ·min(1, C/N): a map with few positions
    # N per channel C gives a noisy, rank-deficient Gram that is unsafe to match exactly.
    gram_shrinkage: float = 0.0
    history_size: int = 20  # L-BFGS memory

    def style_keys(self) -> dict[Key, float]:
        """Weight of every (layer, octave) the style loss uses (where the images allow)."""
        keys = {}
        for layer, weight in self.style_layers:
            for k, octave_weight in enumerate(self.octaves):
                if weight * octave_weight > 0 and (k == 0 or layer not in DEEP_LAYERS):
                    keys[(layer, k)] = weight * octave_weight
        return keys

    @property
    def uses_deep(self) -> bool:
        return any(layer in DEEP_LAYERS for layer, w in self.style_layers if w > 0) or any(
            layer in DEEP_LAYERS for layer in self.content_layers
        )


DEFAULT_LOSS = LossConfig()


# -- the loss network -------------------------------------------------------------------


@functools.lru_cache(maxsize=2)
def loss_network(device: str) -> vgg.LossNetwork:
    """The real VGG-19 up to relu3_1, loaded once per device (the cache's key)."""
    # Built outside inference mode even when first needed inside it (encode_style):
    # inference-mode weights cannot take part in a backward pass.
    with torch.inference_mode(False):
        return vgg.load_loss_network(device)


@functools.lru_cache(maxsize=2)
def deep_network(device: str) -> cd16x.CompressedEncoder:
    """The compressed relu5_1 encoder, whose ``*_aux`` convs approximate relu4_1/relu5_1."""
    with torch.inference_mode(False):
        encoder = cd16x.CompressedEncoder(5)
        encoder.load_state_dict(weights.load_state_dict("vgg19-cd16x/encoder_relu5_1"))
        return encoder.eval().requires_grad_(False).to(device)


def octave_count(size: tuple[int, ...]) -> int:
    """How many pyramid octaves an image of (…, H, W) supports (at least one)."""
    short = min(size[-2:])
    return max(1, min(MAX_OCTAVES, 1 + int(math.log2(max(short, 1) / MIN_OCTAVE_SIDE))))


def downsample(x: torch.Tensor) -> torch.Tensor:
    """One pyramid octave: 2×2 average (ceil mode, like the encoders' pooling)."""
    return F.avg_pool2d(x, 2, ceil_mode=True)


def features(x: torch.Tensor, octaves: int, deep: bool) -> dict[Key, torch.Tensor]:
    """(1, 3, H, W) in [0, 1] → every loss feature map, keyed by (layer, octave)."""
    net = loss_network(str(x.device))
    out: dict[Key, torch.Tensor] = {}
    level = x
    for k in range(octaves):
        if k:
            level = downsample(level)
        out.update({(name, k): f for name, f in net(level).items()})
    # Only the deep projections (relu1_1 … relu3_1 are the real ones above), and only where
    # relu5_1 (stride 16) keeps two pixels for its reflection padding.
    if deep and min(x.shape[-2:]) >= 2 * STRIDE["relu5_1"]:
        deep_features = deep_network(str(x.device)).vgg_features(x, levels=(4, 5))
        out.update({(f"relu{level}_1", 0): f for level, f in deep_features.items()})
    return out


# -- the loss terms ---------------------------------------------------------------------


def masked_gram(feature: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Gram matrix of (1, C, H, W) features, optionally over a soft region (H, W) ∈ [0, 1]."""
    return gram_matrix(flatten(feature), None if weight is None else weight.reshape(-1))


def shrink(gram: torch.Tensor, positions: int, shrinkage: float) -> torch.Tensor:
    """(1 − λ)·G + λ·(tr G / C)·I with λ = shrinkage · min(1, C / positions)."""
    channels = gram.shape[0]
    lam = shrinkage * min(1.0, channels / max(positions, 1))
    if lam <= 0:
        return gram
    identity = torch.eye(channels, dtype=gram.dtype, device=gram.device)
    return (1 - lam) * gram + lam * gram.diagonal().mean() * identity


def relative_error(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """‖x − t‖² / ‖t‖²: 0 at the target, about 1 for an unrelated x, at any size or scale."""
    return (x - target).pow(2).sum() / target.pow(2).sum().clamp_min(1e-12)


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of vertically and horizontally adjacent pixels."""
    dy = (x[..., 1:, :] - x[..., :-1, :]).pow(2).mean() if x.shape[-2] > 1 else x.sum() * 0
    dx = (x[..., 1:] - x[..., :-1]).pow(2).mean() if x.shape[-1] > 1 else x.sum() * 0
    return dy + dx


@dataclass(frozen=True)
class Objective:
    """L(x) for one content, its Gram targets and (optionally) mask regions.

    ``targets[key][r]`` is the Gram that region r must match at ``key``; without a mask
    there is one region (the whole image) and its target is the weight-blended Gram.
    """

    config: LossConfig
    octaves: int
    content: dict[Key, torch.Tensor]
    targets: dict[Key, list[torch.Tensor]]
    style_weights: dict[Key, float]
    regions: torch.Tensor | None  # (R, H, W) one-hot float, or None
    content_weight: float
    style_weight: float
    tv_weight: float

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of the image ``x.clamp(0, 1)``: the total (with a graph) and its weighted terms.

        Pixels pushed past 0 or 1 simply stay black or white (zero gradient there).
        """
        x = x.clamp(0, 1)
        feats = features(x, self.octaves, self.config.uses_deep)
        content = sum(relative_error(feats[k], t) for k, t in self.content.items()) / len(
            self.content
        )
        style = x.new_zeros(())
        for key, weight in self.style_weights.items():
            style = style + weight * self._style_term(feats[key], self.targets[key])
        style = style / sum(self.style_weights.values())
        terms = {
            "content": self.content_weight * content,
            "style": self.style_weight * style,
            "tv": self.tv_weight * tv_loss(x),
        }
        total = terms["content"] + terms["style"] + terms["tv"]
        return total, {**{k: v.item() for k, v in terms.items()}, "total": total.item()}

    def _style_term(self, feature: torch.Tensor, targets: list[torch.Tensor]) -> torch.Tensor:
        if self.regions is None:
            return relative_error(masked_gram(feature), targets[0])
        masks = F.adaptive_avg_pool2d(self.regions[None], feature.shape[-2:])[0]
        total = feature.new_zeros(())
        for mask, target in zip(masks, targets, strict=True):
            area = mask.mean()
            if area > 0:
                total = total + area * relative_error(masked_gram(feature, mask), target)
        return total


# -- style encoding ---------------------------------------------------------------------


@torch.no_grad()
def gram_targets(style: torch.Tensor) -> dict[Key, torch.Tensor]:
    """Gram matrix (C, C) of a (1, 3, H, W) style at every layer and octave it supports."""
    if min(style.shape[-2:]) < GATYS_MIN_SIDE:  # only tiny styles: padding skews statistics
        style, _ = pad_to_multiple(style, GATYS_MIN_SIDE // 2)
    feats = features(style, octave_count(style.shape), deep=True)
    return {key: masked_gram(f) for key, f in feats.items()}


def encode_style(networks: Networks, image: Image.Image, start: Recipe) -> StyleFeatures:
    """The Gram targets of ``image`` (already at its encoding size), plus the statistics of
    the ``start`` cascade for a feed-forward initialisation."""
    base = cascade.encode_style(networks, image, start)
    grams = gram_targets(to_tensor(image, networks.device))
    return dataclasses.replace(base, grams=grams)


# -- the optimisation -------------------------------------------------------------------


class _Closure:
    """The optimiser's closure, remembering its last evaluation.

    L-BFGS re-evaluates the point it starts a step from, which the previous step's line
    search (or our own bookkeeping) just evaluated; the cache halves the cost per iteration.
    """

    def __init__(self, objective: Objective, x: torch.Tensor, optimizer: torch.optim.Optimizer):
        self.objective, self.x, self.optimizer = objective, x, optimizer
        self.point: torch.Tensor | None = None
        self.loss = torch.zeros(())
        self.grad = torch.zeros(())
        self.terms: dict[str, float] = {}

    def __call__(self) -> torch.Tensor:
        if self.point is None or not torch.equal(self.point, self.x.detach()):
            self.optimizer.zero_grad(set_to_none=False)
            loss, terms = self.objective(self.x)
            loss.backward()
            self.point = self.x.detach().clone()
            self.loss, self.grad, self.terms = loss.detach(), self.x.grad.clone(), terms
        else:
            self.x.grad = self.grad.clone()
        return self.loss


def _converged(history: list[float], tolerance: float, window: int = 5) -> bool:
    """Mean relative change over the last ``window`` iterations below ``tolerance``.

    A window, not one step: Adam's loss wobbles and a single small change means nothing.
    """
    if tolerance <= 0 or len(history) <= window:
        return False
    old, new = history[-1 - window], history[-1]
    return abs(old - new) / (window * max(abs(old), 1e-12)) < tolerance


def optimise(
    networks: Networks,
    content: torch.Tensor,
    styles: Sequence[StyleFeatures],
    weights: Sequence[float],
    regions: torch.Tensor | None,
    params: StyleParams,
    *,
    start_recipe: Recipe | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    config: LossConfig = DEFAULT_LOSS,
    started: float | None = None,
) -> StylizeResult:
    """Optimise the pixels of ``content`` (1, 3, H, W) toward ``styles`` (encoded for
    gatys, blended by ``weights`` or assigned by ``regions`` (H, W) style indices); returns
    the lowest-loss image found within the budgets.

    ``start_recipe`` is the cascade to start from when ``gatys.init`` is adain or wct.
    Stops after ``params.gatys.iterations`` iterations, before the next iteration would
    pass ``max_seconds`` counted from ``started`` (``time.perf_counter()`` when the job
    began, so the style encoding counts too; default: now), when the loss stops
    changing (``tolerance``), or when
    ``should_cancel()`` is true (checked between iterations: the result then has
    ``canceled=True`` and the best image so far).
    """
    started = time.perf_counter() if started is None else started
    # Stylizer.stylize runs in inference mode; the optimisation needs autograd.
    with torch.inference_mode(False), torch.enable_grad(), _reproducible(content.device):
        return _optimise(networks, content, list(styles), list(weights), regions, params,
                         start_recipe, progress, should_cancel, config, started)  # fmt: skip


@contextlib.contextmanager
def _reproducible(device: torch.device) -> Iterator[None]:
    """On CUDA, only cuDNN's deterministic convolution algorithms while a job optimises:
    some of its backward algorithms add partial sums with atomics in no fixed order, and
    the same seed gave a different image on every run on an H200. (The loss network's
    padding is made deterministic in ``vgg.ReflectionPad1``.) CPUs are deterministic."""
    if device.type != "cuda":
        yield
        return
    before = torch.backends.cudnn.deterministic
    torch.backends.cudnn.deterministic = True
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic = before


def _optimise(
    networks: Networks,
    content: torch.Tensor,
    encoded: list[StyleFeatures],
    weights: list[float],
    index: torch.Tensor | None,
    params: StyleParams,
    start_recipe: Recipe | None,
    progress: ProgressCallback | None,
    should_cancel: CancelCheck | None,
    config: LossConfig,
    started: float,
) -> StylizeResult:
    g = params.gatys
    # Leave inference mode behind: the loss saves these for its backward pass.
    c = content.clone()
    index = None if index is None else index.clone()
    objective = _objective(c, encoded, weights, index, params, config)
    # x is unconstrained and the image is x clamped to [0, 1] (the loss sees the image).
    # Projecting x after each step instead costs L-BFGS an evaluation per iteration and
    # corrupts its curvature pairs (measured: it stalls). Contiguous: to_tensor's permuted
    # layout would give L-BFGS a gradient it cannot view.
    x = _initial_image(networks, c, encoded, weights, index, params, start_recipe)
    x = x.clone(memory_format=torch.contiguous_format).requires_grad_(True)
    optimizer = _optimizer(x, params, config)
    closure = _Closure(objective, x, optimizer)

    def report(i: int, image: torch.Tensor) -> None:
        if progress:
            show = g.preview_every and i and i % g.preview_every == 0
            preview = to_image(_finish(image, c, params)) if show else None
            progress(ProgressEvent("optimise", i / g.iterations, iteration=i, total=g.iterations,
                                   losses=closure.terms, preview=preview))  # fmt: skip

    tick = time.perf_counter()
    history = [closure().item()]
    best_loss, best_image, best_terms = history[0], x.detach().clamp(0, 1), closure.terms
    report(0, best_image)
    slowest = time.perf_counter() - tick  # to predict whether one more iteration fits
    done, canceled = 0, False
    for i in range(1, g.iterations + 1):
        if should_cancel and should_cancel():
            canceled = True
            break
        if g.max_seconds and time.perf_counter() - started + slowest > g.max_seconds:
            break
        tick = time.perf_counter()
        optimizer.step(closure)
        loss = closure().item()  # usually cached: the line search's last point
        slowest = max(slowest, time.perf_counter() - tick)
        done = i
        if not math.isfinite(loss):
            break
        history.append(loss)
        image = x.detach().clamp(0, 1)
        if loss < best_loss:
            best_loss, best_image, best_terms = loss, image, closure.terms
        report(i, image)
        if _converged(history, g.tolerance):
            break
    result = to_image(_finish(best_image, c, params))
    if progress and not canceled:
        progress(ProgressEvent("done", 1.0))
    return StylizeResult(result, time.perf_counter() - started, canceled=canceled,
                         iterations=done, losses=best_terms)  # fmt: skip


def _finish(image: torch.Tensor, content: torch.Tensor, params: StyleParams) -> torch.Tensor:
    return preserve_color(image, content) if params.preserve_color else image


def _optimizer(x: torch.Tensor, params: StyleParams, config: LossConfig) -> torch.optim.Optimizer:
    if params.gatys.optimizer == "adam":
        return torch.optim.Adam([x], lr=params.gatys.learning_rate)
    # max_iter=1: one L-BFGS iteration per step, so budgets and cancellation are exact.
    # max_eval must then be set: its default (max_iter·5/4) leaves the line search none.
    return torch.optim.LBFGS(
        [x], lr=1, max_iter=1, max_eval=1 + LINE_SEARCH_EVALUATIONS,
        history_size=config.history_size, line_search_fn="strong_wolfe",
        tolerance_grad=0, tolerance_change=0,
    )  # fmt: skip


def _objective(
    c: torch.Tensor,
    styles: list[StyleFeatures],
    weights: list[float],
    index: torch.Tensor | None,
    params: StyleParams,
    config: LossConfig,
) -> Objective:
    """The loss for content ``c``: its features, the styles' Gram targets, the weights."""
    regions = None
    if index is not None:
        regions = F.one_hot(index, len(styles)).permute(2, 0, 1).float()
    if min(c.shape[-2:]) < GATYS_MIN_SIDE:
        raise InvalidParameter(
            f"gatys needs at least {GATYS_MIN_SIDE} px on the content's short side", field="size"
        )
    with torch.no_grad():
        content = features(c, octave_count(c.shape), config.uses_deep)
    # What the content and every style support: small images have fewer octaves.
    style_weights = {
        k: w
        for k, w in config.style_keys().items()
        if k in content and all(k in s.grams for s in styles)
    }
    if not style_weights or any((name, 0) not in content for name in config.content_layers):
        raise InvalidParameter("the loss has no usable style or content layer", field="gatys")
    return Objective(
        config=config,
        octaves=max(k for _, k in style_weights) + 1,
        content={(name, 0): content[(name, 0)] for name in config.content_layers},
        targets={key: _targets(key, styles, weights, regions, config) for key in style_weights},
        style_weights=style_weights,
        regions=regions,
        content_weight=params.gatys.content_weight,
        style_weight=params.gatys.style_weight * params.alpha,
        tv_weight=params.gatys.tv_weight,
    )


def _targets(
    key: Key,
    styles: list[StyleFeatures],
    weights: list[float],
    regions: torch.Tensor | None,
    config: LossConfig,
) -> list[torch.Tensor]:
    """Per region, the Gram to match at ``key``: each style's own, or the weighted blend."""
    grams = [s.grams[key].clone() for s in styles]  # clone: leave inference mode behind
    if config.gram_shrinkage > 0:
        grams = [
            shrink(g, _positions(s, key), config.gram_shrinkage)
            for g, s in zip(grams, styles, strict=True)
        ]
    if regions is not None:
        return grams
    return [sum(w * g for w, g in zip(weights, grams, strict=True))]


def _positions(style: StyleFeatures, key: Key) -> int:
    """Spatial positions of the style's feature map at ``key`` (for shrinkage)."""
    width, height = style.size
    scale = STRIDE[key[0]] * 2 ** key[1]
    return math.ceil(width / scale) * math.ceil(height / scale)


def _initial_image(
    networks: Networks,
    c: torch.Tensor,
    styles: list[StyleFeatures],
    weights: list[float],
    index: torch.Tensor | None,
    params: StyleParams,
    start_recipe: Recipe | None,
) -> torch.Tensor:
    """The starting point: the content, seeded noise, or a feed-forward result."""
    init = params.gatys.init
    if init == "content":
        return c
    if init == "noise":
        generator = torch.Generator().manual_seed(params.gatys.seed)
        return torch.rand(c.shape, generator=generator).to(c.device)
    if start_recipe is None:
        raise InvalidParameter(f"no {init} cascade to start from", field="gatys.init")
    for i, style in enumerate(styles):
        cascade.check_levels(style, start_recipe, i, init)
    with torch.inference_mode():
        start = cascade.run_cascade(networks, c, start_recipe, styles, weights, index, params.alpha)
    return start.clone()
