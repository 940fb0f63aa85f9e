"""The feed-forward cascade: encode → transform → decode, level after level, coarse to fine.

Li et al. (2017): the deep levels move large structures and colours, the shallow ones fix
edges and fine texture. Which levels and which transform (AdaIN or WCT) a method runs is
a ``Recipe``; the recipes here were chosen with ``bench/quality.py`` and ``bench/speed.py``
(``bench/RESULTS.md`` has the tables).

Shapes: images are (1, 3, H, W) in [0, 1], channels-last; features (1, C, H', W') maps,
flattened to (C, N) matrices for the transforms (``models/transforms.py``).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from models import weights
from models.detail import BandContrast, DetailTransfer, ShadingTransfer
from models.errors import Canceled, InvalidParameter
from models.networks import cd16x, vgg
from models.tensors import crop, pad_to_multiple, to_tensor
from models.transforms import (
    AffineMap,
    Covariance,
    adaptive_instance_normalization_map,
    blend,
    calc_mean_std,
    flatten,
    optimal_transport_map,
    unflatten,
    whiten_color_map,
)
from models.types import CancelCheck, ProgressCallback, ProgressEvent

Family = Literal["cd16x", "vgg19"]
Transform = Literal["adain", "wct", "ot"]


@dataclass(frozen=True)
class Step:
    """One cascade stage: encode at ``level``, apply ``transform`` at ``strength``, decode."""

    level: int
    transform: Transform
    strength: float = 1.0
    # OT only: lift the style's weak covariance directions toward the content's
    # (``transforms.softened_covariance``), 0 = the style's covariance exactly.
    soften: float = 0.0
    # The decoder's ×2 upsampling (cd16x only): "bilinear" leaves no block grid, but
    # the weights were trained with nearest and blur under it (bench/RESULTS.md).
    upsample: cd16x.Upsample = "nearest"


@dataclass(frozen=True)
class Recipe:
    family: Family
    steps: tuple[Step, ...]
    # The content's fine structure restored after step ``detail_after`` (models/detail.py):
    # after the last step by default; earlier, the shallower steps re-stylize it.
    detail: DetailTransfer | None = None
    detail_after: int = -1
    # The content's shading brought back after the last step, in the output's tones.
    shading: ShadingTransfer | None = None
    # Last: the output's middle band scaled down to the style's energy there.
    contrast: BandContrast | None = None

    def __post_init__(self) -> None:
        if self.family != "cd16x" and any(s.upsample != "nearest" for s in self.steps):
            raise ValueError(f"{self.family} decoders upsample nearest only")

    @property
    def levels(self) -> tuple[int, ...]:
        return tuple(sorted({s.level for s in self.steps}))

    @property
    def stride(self) -> int:
        """How much the deepest level downsamples: sides must be multiples of it."""
        return 2 ** (max(self.levels) - 1)


def cascade(transform: Transform, levels: Sequence[int]) -> tuple[Step, ...]:
    return tuple(Step(level, transform) for level in levels)


# - wct (the default): whitening and colouring at relu4_1 and 2_1 with the optimal-
#   transport map (``transforms.optimal_transport``, the symmetric map to the style's
#   covariance: the same target statistics as Li et al.'s colouring, reached by a smaller
#   move), then AdaIN at relu1_1. Level 4 carries colour and the large strokes, level 2
#   restores edges and fine texture, level 1 fixes colour at the pixel; AdaIN there
#   leaves the pixel-level correlations to the photo (10 % less Gram error on the
#   tuning pairs). 35 % of the photo's fine luminance band goes back in after level 4,
#   and levels 2 and 1 re-stylize it: the cheapest way found to keep the photo's fine
#   structure per unit of style lost. After level 1, half of the photo's shading (its
#   luminance coarser than 6 px) comes back in the output's own tones: its form, which
#   flat, few-colour styles break into blotches. Last, the output's band between 2 and
#   12 px, its luminance and its colour apart, is scaled down to the style's energy
#   there where it has more: with flat styles the photo's edges, redrawn in the style's
#   colours, made the output busier than the painting (held out, against the recipe
#   before it: all four medians better, Gram from 11 % behind MicroAST's to 1 % ahead,
#   bench/RESULTS.md). Level 5's decoder
#   reconstructs at 18.7 dB and leaves ripples the shallow levels cannot undo; level 3
#   costs a quarter more time.
# - adain: AdaIN 4→1, the gentle, most content-preserving look.
RECIPES: dict[str, Recipe] = {
    "wct": Recipe(
        "cd16x",
        (Step(4, "ot"), Step(2, "ot"), Step(1, "adain")),
        detail=DetailTransfer(sigma=1.0, strength=0.35),
        detail_after=0,
        shading=ShadingTransfer(sigma=6.0, strength=0.5),
        contrast=BandContrast(fine=2.0, coarse=12.0),
    ),
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
    """Everything the engine needs from one style image; reusable for any content."""

    family: str
    size: tuple[int, int]  # (width, height) of the style image as encoded
    levels: dict[int, LevelStyle]
    # Gatys targets, only when encoded for method="gatys": (layer, octave) → Gram (C, C).
    grams: dict[tuple[str, int], torch.Tensor] | None = None
    # The image's energy in a ``BandContrast``'s band (luminance, colour), and that band:
    # its recipe's, or the default's, so that features encoded for ``adain`` serve ``wct``.
    band: BandContrast | None = None
    band_energy: tuple[float, float] | None = None


ContentStats = Callable[[int, int, torch.Tensor], Covariance]
"""``content_stats(step_index, level, feature)``: the statistics to normalise a step's
(C, N) content features with, instead of their own (video smooths them across frames)."""
StepOutput = Callable[[int, int, torch.Tensor], torch.Tensor]
"""``step_output(step_index, level, image)``: sees each step's decoded (1, 3, H, W) image
(padded to the recipe's stride) and returns the next step's input (video blends in the
previous frame's, warped)."""


class Networks:
    """Encoders and decoders by (family, level), each loaded once: frozen, in eval mode,
    channels-last (oneDNN's narrow convolutions and pooling are 2–8× faster on it).

    ``dtype``: what the compressed (cd16x) networks run in, float32 or bfloat16
    (``models/precision.py``); they take and give float32 images either way. The VGG
    family stays float32: it is the full-size reference, not the served cascade.
    """

    def __init__(self, device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        self.device = device
        self.dtype = dtype
        self.encoders: dict[tuple[str, int], nn.Module] = {}
        self.decoders: dict[tuple[str, int], nn.Module] = {}

    def load(self, recipe: Recipe) -> None:
        for level in recipe.levels:
            self._load(recipe.family, level)

    def _load(self, family: str, level: int) -> None:
        key = (family, level)
        if key in self.encoders:
            return
        if family == "cd16x":
            encoder: nn.Module = cd16x.CompressedEncoder(level)
            decoder: nn.Module = cd16x.CompressedDecoder(level)
            prefix = "vgg19-cd16x"
        else:
            encoder, decoder = vgg.vgg_encoder(level), vgg.vgg_decoder(level)
            prefix = "vgg19-normalised"
        encoder.load_state_dict(
            weights.load_state_dict(f"{prefix}/encoder_relu{level}_1"), strict=True
        )
        decoder.load_state_dict(
            weights.load_state_dict(f"{prefix}/decoder_relu{level}_1"), strict=True
        )
        dtype = torch.float32
        if isinstance(encoder, cd16x.CompressedEncoder):
            encoder.fold_input_conv()  # in float32, before any rounding
            dtype = self.dtype
        for net in (encoder, decoder):
            net.eval().requires_grad_(False)
            net.to(self.device, dtype, memory_format=torch.channels_last)
        self.encoders[key], self.decoders[key] = encoder, decoder


@torch.inference_mode()
def encode_style(networks: Networks, image: Image.Image, recipe: Recipe) -> StyleFeatures:
    """Statistics of ``image`` (already at the size to encode it at) at every level of ``recipe``."""
    networks.load(recipe)
    x = to_tensor(image, networks.device)
    if min(x.shape[-2:]) < 2 * recipe.stride:
        # Pooling uses ceil mode, so any size encodes, but the deepest reflection pad
        # needs two pixels; only tiny styles are padded (padding skews statistics).
        x, _ = pad_to_multiple(x, recipe.stride)
    levels = {}
    for level in recipe.levels:
        covariance = Covariance.of(flatten(networks.encoders[(recipe.family, level)](x)))
        levels[level] = LevelStyle(*covariance.mean_std(), covariance)
    band = recipe.contrast or BandContrast()
    return StyleFeatures(recipe.family, image.size, levels, band=band, band_energy=band.energy(x))


def check_levels(style: StyleFeatures, recipe: Recipe, index: int, method: str) -> None:
    """Refuse cached features that were encoded for another cascade."""
    missing = set(recipe.levels) - set(style.levels)
    if recipe.contrast is not None and (style.band != recipe.contrast or style.band_energy is None):
        raise InvalidParameter(
            f"style {index} was encoded without its band energy between "
            f"{recipe.contrast.fine:g} and {recipe.contrast.coarse:g} px, which {method} "
            "needs; encode it again for this method",
            field="style",
        )
    if style.family != recipe.family or missing:
        raise InvalidParameter(
            f"style {index} was encoded for {style.family} levels {sorted(style.levels)}, "
            f"but {method} needs {recipe.family} levels {list(recipe.levels)}",
            field="style",
        )


def run_cascade(
    networks: Networks,
    x: torch.Tensor,
    recipe: Recipe,
    styles: Sequence[StyleFeatures],
    weights: Sequence[float],
    regions: torch.Tensor | None,
    alpha: float,
    *,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    content_stats: ContentStats | None = None,
    step_output: StepOutput | None = None,
) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1] → stylized (1, 3, H, W), same size, coarse to fine.

    ``regions`` (H, W) holds a style index per pixel (a mask), or None to blend the styles
    by ``weights``. The hooks (``ContentStats``, ``StepOutput``) let a caller carry state
    from one image to the next; with a mask each region keeps its own statistics and
    ``content_stats`` is not asked. Progress runs from 0.2 (styles encoded) to 1.0.
    """
    networks.load(recipe)
    x, size = pad_to_multiple(x, recipe.stride)
    content = x
    if regions is not None:
        regions, _ = pad_to_multiple(regions[None, None].float(), recipe.stride)
    for i, step in enumerate(recipe.steps):
        if should_cancel and should_cancel():
            raise Canceled("canceled between cascade levels")
        key = (recipe.family, step.level)
        feature = networks.encoders[key](x)
        level_regions = None
        if regions is not None:
            level_regions = F.interpolate(regions, size=feature.shape[-2:], mode="nearest")
            level_regions = level_regions[0, 0].long()
        stats = None
        if content_stats is not None and level_regions is None:
            stats = content_stats(i, step.level, flatten(feature))
        level_styles = [s.levels[step.level] for s in styles]
        x = decode(
            networks.decoders[key],
            feature,
            step.transform,
            level_styles,
            weights,
            alpha * step.strength,
            level_regions,
            stats,
            soften=step.soften,
            upsample=step.upsample,
        ).clamp(0, 1)
        if recipe.detail is not None and i == recipe.detail_after % len(recipe.steps):
            x = recipe.detail(x, content)
        if step_output is not None:
            x = step_output(i, step.level, x)
        if progress:
            # min(): 0.2 + 0.8 is a hair above 1.0 in floats
            progress(
                ProgressEvent(
                    f"level {step.level}", min(1.0, 0.2 + 0.8 * (i + 1) / len(recipe.steps))
                )
            )
    x = crop(x, size)
    if recipe.shading is not None:
        x = recipe.shading(x, crop(content, size))
    if recipe.contrast is not None:
        if regions is not None:
            regions = crop(regions, size)[0, 0].long()
        x = recipe.contrast.apply(x, band_targets(styles, weights, regions), regions, alpha)
    return x


def band_targets(
    styles: Sequence[StyleFeatures], weights: Sequence[float], regions: torch.Tensor | None
) -> torch.Tensor:
    """The ``BandContrast`` energies to aim at, (styles, 2): each style's where a mask
    gives regions, else one row, the styles' blended by their weights (as their
    statistics are)."""
    energies = torch.tensor([s.band_energy for s in styles], dtype=torch.float32)
    if regions is not None:
        return energies
    w = torch.tensor(list(weights), dtype=torch.float32)[:, None]
    return (energies * w).sum(0, keepdim=True) / w.sum()


def decode(
    decoder: nn.Module,
    feature: torch.Tensor,
    kind: Transform,
    styles: Sequence[LevelStyle],
    weights: Sequence[float],
    alpha: float,
    regions: torch.Tensor | None = None,
    stats: Covariance | None = None,
    *,
    soften: float = 0.0,
    upsample: cd16x.Upsample = "nearest",
) -> torch.Tensor:
    """decoder(blend(transform(feature), feature, alpha)), the image of one cascade step.

    Without regions the transform and the blend are one ``AffineMap``, which the compressed
    decoders fold into their first conv: the transformed (C, H, W) map is never written.
    """
    if regions is not None:
        target = transform(feature, kind, styles, weights, regions, stats, soften)
        return _decoded(decoder, blend(target, feature, alpha), None, upsample)
    affine = transform_map(flatten(feature), kind, styles, weights, stats, soften).blend(alpha)
    return decode_map(decoder, feature, affine, upsample)


def decode_map(
    decoder: nn.Module,
    feature: torch.Tensor,
    affine: AffineMap,
    upsample: cd16x.Upsample = "nearest",
) -> torch.Tensor:
    """decoder(affine(feature)); folded into the first conv where the decoder allows it."""
    if isinstance(decoder, cd16x.CompressedDecoder):
        return _decoded(decoder, feature, (affine.matrix, affine.shift), upsample)
    return _decoded(decoder, unflatten(affine(flatten(feature)), feature), None, upsample)


def _decoded(
    decoder: nn.Module,
    feature: torch.Tensor,
    affine: tuple[torch.Tensor, torch.Tensor] | None,
    upsample: cd16x.Upsample,
) -> torch.Tensor:
    """The compressed decoders take the upsampling and a folded map; the VGG ones
    neither (``Recipe`` refuses bilinear for them)."""
    if isinstance(decoder, cd16x.CompressedDecoder):
        return decoder(feature, affine, upsample)
    return decoder(feature)


def transform(
    feature: torch.Tensor,
    kind: Transform,
    styles: Sequence[LevelStyle],
    weights: Sequence[float],
    regions: torch.Tensor | None = None,
    stats: Covariance | None = None,
    soften: float = 0.0,
) -> torch.Tensor:
    """AdaIN, WCT or OT of (1, C, H, W) ``feature`` toward each style, blended by weight or
    assigned by region. ``stats`` replaces the content's own statistics (not with regions:
    each region's statistics are its own, as in the AdaIN paper's §7)."""
    f = flatten(feature)
    if regions is None:
        return unflatten(transform_map(f, kind, styles, weights, stats, soften)(f), feature)
    out = f.clone()
    index = regions.flatten()
    for i, s in enumerate(styles):
        picked = index == i
        if picked.sum() >= 2:
            region = f[:, picked]
            out[:, picked] = transform_map(region, kind, [s], [1.0], soften=soften)(region)
    return unflatten(out, feature)


def transform_map(
    f: torch.Tensor | None,
    kind: Transform,
    styles: Sequence[LevelStyle],
    weights: Sequence[float],
    stats: Covariance | None = None,
    soften: float = 0.0,
) -> AffineMap:
    """The transform of (C, N) ``f`` toward ``styles`` mixed by ``weights``, as one map;
    the content's statistics (``stats``, or ``f``'s own) are computed once for all styles.
    ``f`` may be None when ``stats`` is given. ``soften``: OT only, see
    ``transforms.optimal_transport_map``."""
    if stats is None:
        assert f is not None, "transform_map needs the features or their statistics"
    if kind == "adain":
        mean, std = stats.mean_std() if stats is not None else calc_mean_std(f)  # type: ignore[arg-type]
        maps = [adaptive_instance_normalization_map(mean, std, s.mean, s.std) for s in styles]
    else:
        stats = stats or Covariance.of(f)  # type: ignore[arg-type]
        if kind == "ot":
            maps = [optimal_transport_map(s.covariance, stats, soften) for s in styles]
        else:
            maps = [whiten_color_map(s.covariance, stats) for s in styles]
    return maps[0] if len(maps) == 1 else AffineMap.mix(maps, weights)


def regions_from_mask(
    mask: Image.Image, size: tuple[int, int], n_styles: int, device: torch.device
) -> torch.Tensor:
    """Mask → (H, W) style index per pixel: grey levels split into ``n_styles`` equal bands
    (two styles: black selects the first, white the second). The mask's fit is checked by
    ``models.params.check_inputs``; here it is only resized to ``size`` (width, height)."""
    grey = to_tensor(mask.convert("L").convert("RGB").resize(size, Image.NEAREST), device)[0, 0]
    return (grey * n_styles).floor().clamp(max=n_styles - 1).long()
