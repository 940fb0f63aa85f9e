"""Posters: contents above ``POSTER_PIXELS`` (4096-px prints), in bounded time and memory.

Run straight, a 4096×4096 cascade keeps several full-resolution 16–24-channel maps
alive (1–1.6 GB each) and its level-4 networks run on 16 M pixels. Two measures, chosen
with ``bench/poster.py`` (``bench/RESULTS.md`` has the tables):

- a pyramid: the deep steps (level ≥ ``DEEP_LEVEL``: colours and the large strokes) run on
  the content downsampled to ``DEEP_SIDE`` (2048 px), their image is upsampled, and the
  shallow steps run at ``SHALLOW_SIDES`` (level 2, edges and fine texture: 2896 px, half
  the pixels of a 4096² print) or at full resolution (level 1, colour at the pixel), each
  on the previous step's image upsampled. These sides keep the poster's style distance
  within 10 % of the whole-image run's both seen whole and at native resolution; a
  1024-px deep part was faster but enlarged the strokes fourfold (+32 % seen at native
  resolution).
- bands: each shallow step runs on horizontal bands of ``BAND_PIXELS`` with a halo wider
  than the step's receptive field, so a band's interior is exactly what the whole image
  gives (no seam); the transform uses the statistics of the whole image, summed over a
  first pass of the bands (``RunningMoments``), so every band gets the same map.
"""

import math
from collections.abc import Sequence
from dataclasses import replace

import torch
from torch.nn import functional as F

from models.cascade import (
    Networks,
    Recipe,
    Step,
    StyleFeatures,
    band_targets,
    decode_map,
    run_cascade,
    transform_map,
)
from models.errors import Canceled
from models.tensors import crop, pad_to_multiple
from models.transforms import Covariance, RunningMoments, flatten
from models.types import CancelCheck, ProgressCallback, ProgressEvent

POSTER_PIXELS = 2048 * 2048  # above: this path (a 2048² job runs straight in ~1.5 GB)
DEEP_LEVEL = 3  # steps at this level or deeper run on the downsampled content
DEEP_SIDE = 2048  # longest side of the content the deep steps see
BAND_PIXELS = 1 << 20  # pixels per band (a 24-channel map of a band: 96 MB; 2 M took 1.2 GB more)
HALO = 16  # rows above and below a band, in full-resolution pixels per unit of stride
# A shallow level's longest side, where not the poster's own: level 2 at 2896 px costs
# half of full resolution's time and keeps the texture's scale within 10 % of it
# (bench/RESULTS.md); level 1 stays at full resolution for the pixel's colour.
SHALLOW_SIDES: dict[int, int] = {2: 2896}
# A level's features are kept between the statistics pass and the decoding pass when
# they take at most this much memory (level 2 of 4096²: 512 MiB), else encoded again.
FEATURE_BYTES = 512 * 2**20


def fits(recipe: Recipe) -> bool:
    """Whether ``recipe`` can run as a poster: its deep steps all come before its shallow
    ones (coarse to fine, as every recipe here), and its detail transfer, if any, follows
    a deep step (it then runs on the deep steps' image, as in a screen-sized job)."""
    deep = [step.level >= DEEP_LEVEL for step in recipe.steps]
    if deep != sorted(deep, reverse=True):
        return False
    return recipe.detail is None or deep[recipe.detail_after % len(deep)]


@torch.inference_mode()
def run_poster(
    networks: Networks,
    x: torch.Tensor,
    recipe: Recipe,
    styles: Sequence[StyleFeatures],
    weights: Sequence[float],
    alpha: float,
    *,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    deep_side: int = DEEP_SIDE,
    shallow_sides: dict[int, int] | None = None,
    band_pixels: int = BAND_PIXELS,
) -> torch.Tensor:
    """(1, 3, H, W) in [0, 1] → stylized, same size: ``run_cascade``'s contract for one
    image without a mask or hooks, in a few full-resolution RGB maps plus one band."""
    networks.load(recipe)
    content = x  # the caller holds it anyway; the shading at the end needs it
    steps = recipe.steps
    deep = tuple(step for step in steps if step.level >= DEEP_LEVEL)
    shallow = steps[len(deep) :]

    def report(done: int) -> None:
        if progress:
            fraction = min(1.0, 0.2 + 0.8 * done / len(steps))
            progress(ProgressEvent(f"level {steps[done - 1].level}", fraction))

    enlarged = 1.0  # how much the deep steps' image, and their strokes, were enlarged
    if deep:
        small = downsample(x, deep_side)
        enlarged = max(x.shape[-2:]) / max(small.shape[-2:])
        deep_recipe = Recipe(recipe.family, deep)
        if recipe.detail is not None:  # after a deep step: ``fits`` checked
            after = recipe.detail_after % len(steps)
            deep_recipe = Recipe(recipe.family, deep, recipe.detail, after)
        image = run_cascade(
            networks, small, deep_recipe, styles, weights, None, alpha,
            should_cancel=should_cancel,
        )  # fmt: skip
        x = upsample(image, x.shape[-2:])
        del small, image
        report(len(deep))
    for i, step in enumerate(shallow):
        if should_cancel and should_cancel():
            raise Canceled("canceled between cascade levels")
        side = (SHALLOW_SIDES if shallow_sides is None else shallow_sides).get(step.level)
        if side is not None and side < max(x.shape[-2:]):
            small = _banded_step(
                networks, downsample(x, side), recipe.family, step, styles, weights, alpha,
                band_pixels, should_cancel,
            )  # fmt: skip
            x = upsample(small, x.shape[-2:])
            del small
        else:
            x = _banded_step(
                networks, x, recipe.family, step, styles, weights, alpha, band_pixels,
                should_cancel,
            )  # fmt: skip
        report(len(deep) + i + 1)
    if recipe.shading is not None:
        # The shading is the band coarser than the strokes, and they are ``enlarged``-fold
        # larger here than in a screen-sized job: with its σ as it is, it restored a finer
        # band and took the print 11 % closer to the style than the whole-image run
        # (σ scaled: 6 %, bench/RESULTS.md).
        shading = replace(recipe.shading, sigma=recipe.shading.sigma * enlarged)
        x = shading(x, content)
    if recipe.contrast is not None:
        # The band around the strokes' scale: ``enlarged``-fold too, so that it is
        # measured where the style's was, relative to the strokes.
        c = recipe.contrast
        contrast = replace(c, fine=c.fine * enlarged, coarse=c.coarse * enlarged)
        x = contrast.apply(x, band_targets(styles, weights, None), None, alpha)
    return x


def _banded_step(
    networks: Networks,
    x: torch.Tensor,
    family: str,
    step: Step,
    styles: Sequence[StyleFeatures],
    weights: Sequence[float],
    alpha: float,
    band_pixels: int,
    should_cancel: CancelCheck | None,
) -> torch.Tensor:
    """One cascade step on (1, 3, H, W) ``x`` in bands, with the whole image's statistics."""
    key = (family, step.level)
    stride = 2 ** (step.level - 1)
    padded, size = pad_to_multiple(x, stride)
    bands = _bands(padded.shape[-2], stride, band_pixels // padded.shape[-1])
    encoder, decoder = networks.encoders[key], networks.decoders[key]
    # 1. The features band by band: their statistics summed, the features themselves kept
    # when they fit in FEATURE_BYTES (else encoded again in step 2).
    moments = RunningMoments()
    kept: torch.Tensor | None = None
    for top, bottom, low, high in bands:
        feature = encoder(padded[:, :, low:high])
        interior = feature[:, :, (top - low) // stride : (bottom - low) // stride]
        moments.add(flatten(interior))
        if top == 0:
            shape = (1, feature.shape[1], padded.shape[-2] // stride, feature.shape[-1])
            if feature.element_size() * math.prod(shape) <= FEATURE_BYTES:
                kept = feature.new_empty(shape).contiguous(memory_format=torch.channels_last)
        if kept is not None:
            kept[:, :, top // stride : bottom // stride] = interior
        del feature, interior  # before the next band's: one band's maps alive at a time
    stats = Covariance.from_moments(*moments.result())
    level_styles = [s.levels[step.level] for s in styles]
    affine = transform_map(None, step.transform, level_styles, weights, stats)
    affine = affine.blend(alpha * step.strength)
    # 2. Each band transformed by the one map and decoded; interiors kept.
    out = torch.empty_like(padded)
    for top, bottom, low, high in bands:
        if should_cancel and should_cancel():
            raise Canceled("canceled between poster bands")
        if kept is not None:
            feature = kept[:, :, low // stride : high // stride]
        else:
            feature = encoder(padded[:, :, low:high])
        band = decode_map(decoder, feature, affine)
        out[:, :, top:bottom] = band[:, :, top - low : bottom - low].clamp(0, 1)
        del feature, band
    return crop(out, size)


def upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(1, 3, h, w) → (1, 3, *size), bilinear, channels-last."""
    out = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    return out.clamp_(0, 1).contiguous(memory_format=torch.channels_last)


def downsample(x: torch.Tensor, side: int) -> torch.Tensor:
    """(1, 3, H, W) → longest side ``side`` (antialiased bilinear), channels-last."""
    h, w = x.shape[-2:]
    scale = side / max(h, w)
    if scale >= 1:
        return x
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    small = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
    return small.clamp_(0, 1).contiguous(memory_format=torch.channels_last)


def _bands(height: int, stride: int, rows: int) -> list[tuple[int, int, int, int]]:
    """(top, bottom, low, high) per band: the interior rows [top, bottom) it produces and
    the rows [low, high) it reads, a halo of ``HALO · stride`` on each side. Every bound is
    a multiple of ``stride`` so the pooling windows fall as they do on the whole image."""
    halo = HALO * stride
    rows = max(rows // (4 * stride) * (4 * stride), 4 * stride)
    out = []
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        if height - bottom < 2 * stride:  # no sliver too small to encode at the end
            bottom = height
        out.append((top, bottom, max(0, top - halo), min(height, bottom + halo)))
        if bottom == height:
            break
    return out
