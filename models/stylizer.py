"""The engine's front door: load the networks once, stylize many images.

``Stylizer`` is built once per process and called per job, like a diffusers pipeline: it
checks every input first (``models.params.check_inputs``, the same rules the API
applies), encodes the styles (or takes features the caller cached), then runs the
feed-forward cascade (``models/cascade.py``) or the Gatys optimisation
(``models/gatys.py``). It changes no process-wide setting; a worker or the command line
tunes the process with ``models.runtime.configure``.

Usage::

    stylizer = Stylizer()                       # loads weights once, CUDA when present,
                                                # bfloat16 networks where the CPU pays
    style = stylizer.encode_style(painting)     # cacheable per (image, size, method)
    result = stylizer.stylize(photo, [style], StyleParams(alpha=0.8))
    result.image.save("out.png")
"""

import time
from collections.abc import Sequence

import torch
from PIL import Image

from models import gatys, poster, runtime
from models.cascade import (
    RECIPES,
    ContentStats,
    Networks,
    Recipe,
    StepOutput,
    StyleFeatures,
    cascade,
    check_levels,
    encode_style,
    regions_from_mask,
    run_cascade,
)
from models.errors import InvalidParameter
from models.images import resize_longest
from models.params import StyleParams, check_inputs, style_weights
from models.precision import Precision, network_dtype
from models.tensors import preserve_color, to_image, to_tensor
from models.types import CancelCheck, ProgressCallback, ProgressEvent, StylizeResult


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Stylizer:
    """Construct once per process (it loads every network its recipes need), call per job.

    ``recipes`` maps a method name to its cascade. Same inputs give the same output:
    nothing here is random (Gatys' noise start is seeded).
    """

    def __init__(
        self,
        *,
        device: str | torch.device | None = None,
        recipes: dict[str, Recipe] | None = None,
        precision: Precision | None = None,
    ) -> None:
        """``precision``: what the compressed networks run in (``models/precision.py``):
        ``auto`` is bfloat16 on a CPU with AMX or an AMD one with AVX512-BF16,
        float32 elsewhere; None reads
        ``STYLIZE_PRECISION`` (default ``auto``)."""
        self.device = torch.device(device) if device is not None else default_device()
        self.recipes = dict(recipes or RECIPES)
        self.networks = Networks(self.device, network_dtype(precision, self.device))
        for recipe in self.recipes.values():
            self.networks.load(recipe)

    @property
    def precision(self) -> str:
        """What the compressed networks run in: ``float32`` or ``bfloat16``."""
        return str(self.networks.dtype).removeprefix("torch.")

    def recipe(self, method: str, override: Recipe | None = None) -> Recipe:
        """The cascade of ``method``; ``override`` (benchmarks, experiments) wins."""
        if override is not None:
            return override
        if method not in self.recipes:
            raise InvalidParameter(
                f"unknown method {method!r}; this stylizer has {sorted(self.recipes)}",
                field="method",
            )
        return self.recipes[method]

    def encode_style(
        self,
        style: Image.Image,
        size: int | None = 512,
        method: str = "adain",
        *,
        recipe: Recipe | None = None,
    ) -> StyleFeatures:
        """Statistics of ``style`` (resized to longest side ``size``) for ``method``.

        For ``gatys``: the Gram targets, plus the statistics of every cascade it can start
        from (``gatys.init``).
        """
        image = resize_longest(style, size)
        if method == "gatys":
            return gatys.encode_style(self.networks, image, self._gatys_start_recipe())
        return encode_style(self.networks, image, self.recipe(method, recipe))

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
        content_stats: ContentStats | None = None,
        step_output: StepOutput | None = None,
    ) -> StylizeResult:
        """Stylize ``content`` with one or more ``styles`` (images or encoded features).

        ``recipe`` overrides the method's cascade (the benchmarks compare cascades with it);
        ``content_stats`` and ``step_output`` are the cascade's hooks (``run_cascade``), for
        a caller that carries state from frame to frame.
        """
        # 1. Every rule that joins the inputs, before any work.
        params = params or StyleParams()
        check_inputs(params, len(styles), content.size, mask.size if mask else None)
        started = time.perf_counter()
        content_image = resize_longest(content, params.size)
        weights = style_weights(params, len(styles))

        # 2. The styles' features: given (cached by the caller), or encoded now.
        features = self._style_features(styles, params, recipe, progress)

        # 3. The method itself, on the content's pixels.
        pixels = content_image.width * content_image.height
        plain = mask is None and content_stats is None and step_output is None
        as_poster = plain and self._is_poster(pixels, params.method, recipe)
        with runtime.large_job(pixels, banded=as_poster):
            x = to_tensor(content_image, self.device)
            regions = None
            if mask is not None:
                regions = regions_from_mask(mask, content_image.size, len(styles), self.device)
            if params.method == "gatys":
                start = params.gatys.init
                result = gatys.optimise(
                    self.networks, x, features, weights, regions, params,
                    start_recipe=self.recipes.get(start) if start in ("adain", "wct") else None,
                    progress=progress, should_cancel=should_cancel, started=started,
                )  # fmt: skip
                del x, regions
                return result
            cascade_recipe = self.recipe(params.method, recipe)
            if as_poster:
                out = poster.run_poster(
                    self.networks, x, cascade_recipe, features, weights, params.alpha,
                    progress=progress, should_cancel=should_cancel,
                )  # fmt: skip
            else:
                out = run_cascade(
                    self.networks, x, cascade_recipe, features, weights, regions,
                    params.alpha, progress=progress, should_cancel=should_cancel,
                    content_stats=content_stats, step_output=step_output,
                )  # fmt: skip

            # 4. Colour and pixels.
            if params.preserve_color:
                out = preserve_color(out, x)
            image = to_image(out)
            del x, out, regions  # freed before the heap is trimmed
        if progress:
            progress(ProgressEvent("done", 1.0))
        return StylizeResult(image, time.perf_counter() - started)

    def _is_poster(self, pixels: int, method: str, override: Recipe | None) -> bool:
        """Above ``poster.POSTER_PIXELS`` a plain cascade job (the caller checks: no mask,
        no per-frame hooks) runs as a poster (``models/poster.py``): deep levels at screen
        size, shallow ones in bands. The others keep the whole-image cascade and its
        larger memory."""
        if method == "gatys" or pixels <= poster.POSTER_PIXELS:
            return False
        return poster.fits(self.recipe(method, override))

    def _style_features(
        self,
        styles: Sequence[Image.Image | StyleFeatures],
        params: StyleParams,
        override: Recipe | None,
        progress: ProgressCallback | None,
    ) -> list[StyleFeatures]:
        """Encode the styles given as images; check the ones given as features."""
        gatys_method = params.method == "gatys"
        recipe = None if gatys_method else self.recipe(params.method, override)
        out = []
        for i, style in enumerate(styles):
            if not isinstance(style, StyleFeatures):
                style = self.encode_style(style, params.style_size, params.method, recipe=recipe)
            elif gatys_method and style.grams is None:
                raise InvalidParameter(
                    f"style {i} was encoded without Gram targets; encode it with "
                    "method='gatys' to use it for gatys",
                    field="style",
                )
            elif recipe is not None:
                check_levels(style, recipe, i, params.method)
            out.append(style)
            if progress and not gatys_method:
                progress(ProgressEvent("encode_style", 0.2 * (i + 1) / len(styles)))
        return out

    def _gatys_start_recipe(self) -> Recipe:
        """One recipe holding every level of the cascades gatys may start from."""
        starts = [self.recipes[name] for name in ("adain", "wct") if name in self.recipes]
        family = starts[0].family if starts else "cd16x"
        levels = sorted({level for r in starts if r.family == family for level in r.levels})
        # The band energy too, for a start whose recipe ends with a ``BandContrast``.
        contrast = next((r.contrast for r in starts if r.contrast is not None), None)
        return Recipe(family, cascade("adain", levels[::-1] or (1,)), contrast=contrast)
