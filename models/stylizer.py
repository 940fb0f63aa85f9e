"""The feed-forward pipeline: load the networks once, stylize many images.

A cascade of encoder → transform → decoder steps, coarse to fine (Li et al. 2017): the
deep levels move large structures and colours, the shallow ones fix edges and fine
texture. Which levels and transforms a method uses is a ``Recipe``; the defaults were
chosen with ``bench/quality.py`` and ``bench/speed.py`` (numbers in the README).

Usage::

    stylizer = Stylizer()                       # loads weights once, CUDA when present
    style = stylizer.encode_style(painting)     # cacheable per (image, size, family)
    result = stylizer.stylize(photo, [style], StyleParams(alpha=0.8))
    result.image.save("out.png")
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from models import cd16x, runtime, vgg, weights
from models.detail import DetailTransfer
from models.errors import InvalidMask, InvalidParameter
from models.images import resize_longest
from models.params import MASK_ASPECT_TOLERANCE, MAX_STYLES, StyleParams
from models.tensors import crop, pad_to_multiple, preserve_color, to_image, to_tensor
from models.transforms import (
    Covariance,
    adaptive_instance_normalization,
    blend,
    flatten,
    optimal_transport,
    unflatten,
    whiten_color_transform,
)

Family = Literal["cd16x", "vgg19"]
Transform = Literal["adain", "wct", "ot"]
FAMILY_LEVELS: dict[str, tuple[int, ...]] = {"cd16x": cd16x.LEVELS, "vgg19": vgg.LEVELS}


@dataclass(frozen=True)
class Step:
    """One cascade stage: encode at ``level``, apply ``transform`` at ``strength``, decode."""

    level: int
    transform: Transform
    strength: float = 1.0


@dataclass(frozen=True)
class Recipe:
    family: Family
    steps: tuple[Step, ...]
    # The content's fine structure restored after step ``detail_after`` (models/detail.py):
    # after the last step by default; earlier, the shallower steps re-stylize it.
    detail: DetailTransfer | None = None
    detail_after: int = -1

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(sorted({s.level for s in self.steps}))


def cascade(transform: Transform, levels: Sequence[int]) -> tuple[Step, ...]:
    return tuple(Step(level, transform) for level in levels)


# Chosen with bench/quality.py and bench/speed.py; README "Quality" and "Speed" and
# bench/RESULTS.md have the tables:
# - wct (the default): whitening/colouring at relu4_1, 2_1 and 1_1, full strength, with
#   the optimal-transport colouring (``transforms.optimal_transport``: the symmetric map
#   to the style's covariance) instead of Li et al.'s. Level 4 carries colour and the
#   large strokes, level 2 restores edges and fine texture, level 1 fixes colour at the
#   pixel. On the tuning pairs OT beat Li et al.'s colouring on all four measures (content,
#   style, Gram, SSIM) at the same cost; on the 144 held-out pairs on three (content
#   −7 %, Gram, SSIM +0.02), with a style median 1.9 % worse.
#   Level 3 costs a quarter more time for a lower Gram but worse content and SSIM; level
#   5's decoder reconstructs at 18.7 dB and leaves ripples the shallow levels cannot undo.
#   Deep levels at reduced resolution, or a smaller style, were faster but lost style
#   distance every time. Detail transfer (models/detail.py) trades style for structure
#   and is left out of the default: measured in bench/RESULTS.md.
# - adain: AdaIN 4→1, the gentle, most content-preserving look.
RECIPES: dict[str, Recipe] = {
    "wct": Recipe("cd16x", cascade("ot", (4, 2, 1))),
    "adain": Recipe("cd16x", cascade("adain", (4, 3, 2, 1))),
}


@dataclass(frozen=True)
class LevelStyle:
    """A style's statistics at one level: channel mean/std (AdaIN) and covariance (WCT)."""

    mean: torch.Tensor  # (C, 1)
    std: torch.Tensor  # (C, 1)
    covariance: Covariance


@dataclass(frozen=True)
class StyleFeatures:
    """Everything the cascade needs from one style image; reusable for any content."""

    family: str
    size: tuple[int, int]  # (width, height) of the style image as encoded
    levels: dict[int, LevelStyle]
    # Gatys targets, only when encoded with method="gatys": (layer, octave) → Gram (C, C).
    grams: dict[tuple[str, int], torch.Tensor] | None = None


@dataclass(frozen=True)
class ProgressEvent:
    stage: str  # "encode_style", "level 5", "optimise", "done" …
    fraction: float  # 0 … 1 of the whole job
    iteration: int | None = None
    total: int | None = None
    losses: dict[str, float] | None = None
    preview: Image.Image | None = None


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


@dataclass
class StylizeResult:
    image: Image.Image
    seconds: float
    canceled: bool = False
    iterations: int | None = None
    losses: dict[str, float] = field(default_factory=dict)


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Stylizer:
    """Construct once per process (it loads every network it needs), call per job.

    ``family`` picks the encoder/decoder weights; ``recipes`` maps a method name to its
    cascade. Same inputs give the same output: nothing here is random.
    """

    def __init__(
        self,
        *,
        device: str | torch.device | None = None,
        recipes: dict[str, Recipe] | None = None,
        keep_memory: bool = True,
    ) -> None:
        self.device = torch.device(device) if device is not None else default_device()
        if keep_memory and self.device.type == "cpu":
            runtime.keep_freed_memory()  # see models/runtime.py: ~2× at 1024 px
        self.recipes = dict(recipes or RECIPES)
        self.encoders: dict[tuple[str, int], nn.Module] = {}
        self.decoders: dict[tuple[str, int], nn.Module] = {}
        for recipe in self.recipes.values():
            for level in recipe.levels:
                self._load(recipe.family, level)

    # -- networks -----------------------------------------------------------------------
    def _load(self, family: str, level: int) -> None:
        key = (family, level)
        if key in self.encoders:
            return
        if family == "cd16x":
            encoder: nn.Module = cd16x.CompressedEncoder(level)
            decoder: nn.Module = cd16x.CompressedDecoder(level)
        else:
            encoder, decoder = vgg.vgg_encoder(level), vgg.vgg_decoder(level)
        prefix = "vgg19-cd16x" if family == "cd16x" else "vgg19-normalised"
        encoder.load_state_dict(
            weights.load_state_dict(f"{prefix}/encoder_relu{level}_1"), strict=True
        )
        decoder.load_state_dict(
            weights.load_state_dict(f"{prefix}/decoder_relu{level}_1"), strict=True
        )
        if isinstance(encoder, cd16x.CompressedEncoder):
            encoder.fold_input_conv()
        for net in (encoder, decoder):
            # Channels-last: oneDNN's narrow convolutions and pooling are 2–8× faster on it.
            net.eval().requires_grad_(False).to(self.device, memory_format=torch.channels_last)
        self.encoders[key], self.decoders[key] = encoder, decoder

    def _recipe(self, method: str, override: Recipe | None = None) -> Recipe:
        """The method's cascade; ``override`` (benchmarks, experiments) wins and is loaded now."""
        if override is not None:
            for level in override.levels:
                self._load(override.family, level)
            return override
        if method not in self.recipes:
            raise InvalidParameter(
                f"unknown method {method!r}; this stylizer has {sorted(self.recipes)}",
                field="method",
            )
        return self.recipes[method]

    def _stride(self, recipe: Recipe) -> int:
        return 2 ** (max(recipe.levels) - 1)

    # -- style ----------------------------------------------------------------------------
    @torch.inference_mode()
    def encode_style(
        self,
        style: Image.Image,
        size: int | None = 512,
        method: str = "adain",
        *,
        recipe: Recipe | None = None,
    ) -> StyleFeatures:
        """Statistics of ``style`` (resized to longest side ``size``) at every level."""
        if method == "gatys":  # the cascade's statistics plus the loss network's Gram targets
            from models.gatys import encode_style

            return encode_style(self, style, size)
        recipe = self._recipe(method, recipe)
        image = resize_longest(style, size)
        x = to_tensor(image, self.device)
        if min(x.shape[-2:]) < 2 * self._stride(recipe):
            # Pooling uses ceil mode, so any size encodes, but the deepest reflection pad
            # needs two pixels; only tiny styles are padded (padding skews statistics).
            x, _ = pad_to_multiple(x, self._stride(recipe))
        levels = {}
        for level in recipe.levels:
            covariance = Covariance.of(flatten(self.encoders[(recipe.family, level)](x)).float())
            levels[level] = LevelStyle(*covariance.mean_std(), covariance)
        return StyleFeatures(recipe.family, image.size, levels)

    # -- stylization ----------------------------------------------------------------------
    @torch.inference_mode()
    def stylize(
        self,
        content: Image.Image,
        styles: Sequence[Image.Image | StyleFeatures],
        params: StyleParams | None = None,
        *,
        mask: Image.Image | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
        recipe: Recipe | None = None,
    ) -> StylizeResult:
        """Stylize ``content`` with one or more ``styles`` (images or encoded features).

        ``recipe`` overrides the method's cascade (used by the benchmarks to compare them).
        """
        params = params or StyleParams()
        started = time.perf_counter()
        if params.method == "gatys":
            from models.gatys import optimise  # imported lazily: only gatys needs autograd

            return optimise(self, content, styles, params, mask=mask, progress=progress,
                            should_cancel=should_cancel)  # fmt: skip
        recipe = self._recipe(params.method, recipe)
        check_style_count(len(styles))
        weights_ = _style_weights(params, len(styles), mask is not None)
        content_image = resize_longest(content, params.size)
        with runtime.large_job(content_image.width * content_image.height):
            features = self._style_features(styles, params, recipe, progress)
            x = to_tensor(content_image, self.device)
            regions = _regions(mask, content_image.size, len(styles), self.device) if mask else None
            out = self.run_cascade(x, recipe, features, weights_, regions, params.alpha,
                                   progress=progress, should_cancel=should_cancel)  # fmt: skip
            if params.preserve_color:
                out = preserve_color(out, x)
            image = to_image(out)
            del x, out, regions  # freed before the heap is trimmed
        if progress:
            progress(ProgressEvent("done", 1.0))
        return StylizeResult(image, time.perf_counter() - started)

    def _style_features(
        self,
        styles: Sequence[Image.Image | StyleFeatures],
        params: StyleParams,
        recipe: Recipe,
        progress: ProgressCallback | None,
    ) -> list[StyleFeatures]:
        check_style_count(len(styles))
        out = []
        for i, style in enumerate(styles):
            if isinstance(style, StyleFeatures):
                missing = set(recipe.levels) - set(style.levels)
                if style.family != recipe.family or missing:
                    raise InvalidParameter(
                        f"style {i} was encoded for {style.family} levels {sorted(style.levels)}, "
                        f"but {params.method} needs {recipe.family} levels {list(recipe.levels)}",
                        field="style",
                    )
                out.append(style)
            else:
                out.append(self.encode_style(style, params.style_size, recipe=recipe))
            if progress:
                progress(ProgressEvent("encode_style", 0.2 * (i + 1) / len(styles)))
        return out

    def run_cascade(
        self,
        x: torch.Tensor,
        recipe: Recipe,
        styles: Sequence[StyleFeatures],
        weights_: Sequence[float],
        regions: torch.Tensor | None,
        alpha: float,
        *,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> torch.Tensor:
        """(1, 3, H, W) in [0, 1] → stylized (1, 3, H, W), same size, coarse to fine."""
        x, size = pad_to_multiple(x, self._stride(recipe))
        content = x
        if regions is not None:
            regions, _ = pad_to_multiple(regions[None, None].float(), self._stride(recipe))
        for i, step in enumerate(recipe.steps):
            if should_cancel and should_cancel():
                from models.errors import Canceled

                raise Canceled("canceled between cascade levels")
            key = (recipe.family, step.level)
            feature = self.encoders[key](x)
            level_styles = [s.levels[step.level] for s in styles]
            level_regions = None
            if regions is not None:
                level_regions = F.interpolate(regions, size=feature.shape[-2:], mode="nearest")[
                    0, 0
                ].long()
            target = _transform(feature, step.transform, level_styles, weights_, level_regions)
            x = self.decoders[key](blend(target, feature, alpha * step.strength)).clamp(0, 1)
            if recipe.detail and i == recipe.detail_after % len(recipe.steps):
                x = recipe.detail(x, content)
            if progress:
                done = min(
                    1.0, 0.2 + 0.8 * (i + 1) / len(recipe.steps)
                )  # 0.2 + 0.8 > 1.0 in floats
                progress(ProgressEvent(f"level {step.level}", done))
        return crop(x, size)


def _transform(
    feature: torch.Tensor,
    kind: Transform,
    styles: Sequence[LevelStyle],
    weights_: Sequence[float],
    regions: torch.Tensor | None,
) -> torch.Tensor:
    """Apply AdaIN, WCT or OT for each style; blend by weight, or assign by mask region."""

    def apply(f: torch.Tensor, s: LevelStyle) -> torch.Tensor:
        if kind == "adain":
            return adaptive_instance_normalization(f, s.mean.to(f), s.std.to(f))
        if kind == "ot":
            return optimal_transport(f, s.covariance)
        return whiten_color_transform(f, s.covariance)

    f = flatten(feature)
    if regions is None and len(styles) == 1:
        out = apply(f, styles[0])  # not 1.0 · x + 0: two full passes for nothing
    elif regions is None:
        out = sum(w * apply(f, s) for w, s in zip(weights_, styles, strict=True) if w > 0)
    else:
        # Spatial control: each region's content statistics are its own (AdaIN paper, §7).
        out = f.clone()
        index = regions.flatten()
        for i, s in enumerate(styles):
            picked = index == i
            if picked.sum() >= 2:
                out[:, picked] = apply(f[:, picked], s)
    return unflatten(out, feature)


def check_style_count(count: int) -> None:
    """Every method takes 1 to MAX_STYLES styles; say so before any work is done."""
    if not 1 <= count <= MAX_STYLES:
        raise InvalidParameter(f"give 1 to {MAX_STYLES} style images, not {count}", field="style")


def _style_weights(params: StyleParams, n_styles: int, masked: bool) -> list[float]:
    if params.style_weights is None:
        return [1.0 / n_styles] * n_styles
    if masked:
        raise InvalidParameter("style_weights cannot be combined with a mask: the mask assigns each region one style", field="style_weights")  # fmt: skip
    if len(params.style_weights) != n_styles:
        raise InvalidParameter(
            f"got {len(params.style_weights)} weights for {n_styles} style images; give one per style",
            field="style_weights",
        )
    total = sum(params.style_weights)
    return [w / total for w in params.style_weights]


def _regions(
    mask: Image.Image, size: tuple[int, int], n_styles: int, device: torch.device
) -> torch.Tensor:
    """Mask → (H, W) style index per pixel: grey levels split into ``n_styles`` equal bands.

    With two styles, black selects the first and white the second.
    """
    if n_styles < 2:
        raise InvalidMask(
            "a mask assigns styles to regions: give at least two style images", field="mask"
        )
    w, h = size
    mw, mh = mask.size
    if abs((mw / mh) / (w / h) - 1) > MASK_ASPECT_TOLERANCE:
        raise InvalidMask(
            f"mask is {mw}×{mh} but the content is {w}×{h}: the mask must have the content's "
            f"aspect ratio (it is resized to the content)",
            field="mask",
        )
    grey = to_tensor(mask.convert("L").convert("RGB").resize(size, Image.NEAREST), device)[0, 0]
    return (grey * n_styles).floor().clamp(max=n_styles - 1).long()
