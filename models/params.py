"""Typed stylization parameters and the rules on them: one definition for the engine, the
queue and the API.

Pydantic, not a dataclass, because these cross the queue and HTTP boundaries and must be
validated with messages that name the field. The rules that join several inputs (how many
styles, their weights, the mask) are ``check_inputs``, which the API runs on an upload's
sizes before queueing and the engine runs before any work, so both refuse the same things
with the same words. No torch import here.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.errors import InvalidMask, InvalidParameter

Method = Literal["adain", "wct", "gatys"]
OutputFormat = Literal["png", "jpeg", "webp"]
GatysInit = Literal["content", "noise", "adain", "wct"]
Optimizer = Literal["lbfgs", "adam"]

MAX_SIDE = 4096  # longest side the engine accepts for content after resizing
MAX_STYLES = 8
# A mask is resized to the content; beyond this relative aspect difference it is refused.
MASK_ASPECT_TOLERANCE = 0.02
# Gatys compares relu3_1 features (stride 4), whose reflection padding needs two pixels.
GATYS_MIN_SIDE = 8


class GatysParams(BaseModel):
    """Budgets and loss weights of the Gatys optimisation (method ``gatys``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    init: GatysInit = Field(
        "adain", description="Start from the content, noise, or a feed-forward result (refinement)."
    )
    optimizer: Optimizer = "lbfgs"
    iterations: int = Field(60, ge=1, le=2000, description="Maximum optimiser iterations.")
    max_seconds: float | None = Field(None, gt=0, le=3600, description="Wall-clock budget.")
    tolerance: float = Field(
        1e-3,
        ge=0,
        le=1,
        description="Early stop when the loss changes by less than this fraction per iteration "
        "(mean over the last 5); 0 = never.",
    )
    # The loss terms are relative errors (content, Gram) and a per-pixel mean (TV), so these
    # weights mean the same at any size; defaults chosen with bench/gatys.py.
    content_weight: float = Field(
        1.0, ge=0, description="Weight of the relu3_1 feature distance to the content."
    )
    style_weight: float = Field(
        10.0, ge=0, description="Weight of the Gram distance to the style (times alpha)."
    )
    tv_weight: float = Field(10.0, ge=0, description="Weight of the smoothness (TV) term.")
    learning_rate: float = Field(0.02, gt=0, le=10, description="Adam step (pixels in [0,1]).")
    seed: int = Field(0, ge=0, description="Seed for noise initialisation.")
    preview_every: int = Field(
        10, ge=0, description="Emit a preview every N iterations; 0 = never."
    )


class StyleParams(BaseModel):
    """What to make: method, strength, colour, blending and output encoding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Method = "wct"
    alpha: float = Field(
        1.0, ge=0.0, le=1.0, description="Style strength; 0 gives the content's reconstruction."
    )
    preserve_color: bool = Field(
        False, description="Keep the content's colours, take only the style's texture."
    )
    style_weights: tuple[float, ...] | None = Field(
        None, description="One non-negative weight per style image (style interpolation)."
    )
    size: int | None = Field(
        512, ge=1, le=MAX_SIDE, description="Content longest side in pixels; None keeps it."
    )
    style_size: int | None = Field(
        512, ge=1, le=MAX_SIDE, description="Style longest side; None keeps it."
    )
    format: OutputFormat = "png"
    quality: int = Field(90, ge=1, le=100, description="JPEG/WebP quality.")
    gatys: GatysParams = Field(default_factory=GatysParams)

    @field_validator("style_weights")
    @classmethod
    def _weights_usable(cls, weights: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if weights is None:
            return None
        if not 1 <= len(weights) <= MAX_STYLES:
            raise ValueError(f"give between 1 and {MAX_STYLES} weights, one per style image")
        if any(w < 0 or w != w or w == float("inf") for w in weights):
            raise ValueError("weights must be finite and non-negative")
        if sum(weights) <= 0:
            raise ValueError("at least one weight must be positive")
        return weights


def parse_params(data: dict[str, Any]) -> StyleParams:
    """Validate raw parameters into StyleParams, raising the engine's InvalidParameter.

    The first problem is reported with the dotted field name (``gatys.iterations``), so
    every front end (CLI, worker, API) names the same field the same way.
    """
    try:
        return StyleParams.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidParameter(
            f"{first['msg']} (got {first.get('input')!r})", field=field
        ) from None


def check_inputs(
    params: StyleParams,
    n_styles: int,
    content_size: tuple[int, int],
    mask_size: tuple[int, int] | None = None,
) -> None:
    """Every rule that joins several inputs, checked before any work is done.

    ``content_size`` and ``mask_size`` are (width, height) of the images as given; the
    content is resized to ``params.size`` keeping its aspect ratio, and the mask to the
    content. Raises ``InvalidParameter`` / ``InvalidMask`` naming the field to fix.
    """
    if not 1 <= n_styles <= MAX_STYLES:
        raise InvalidParameter(
            f"give 1 to {MAX_STYLES} style images, not {n_styles}", field="style"
        )
    if params.style_weights is not None:
        if mask_size is not None:
            raise InvalidParameter(
                "style_weights cannot be combined with a mask: the mask assigns each region "
                "one style",
                field="style_weights",
            )
        if len(params.style_weights) != n_styles:
            raise InvalidParameter(
                f"got {len(params.style_weights)} weights for {n_styles} style images; "
                "give one per style",
                field="style_weights",
            )
    if mask_size is not None:
        _check_mask(mask_size, content_size, n_styles)
    if params.method == "gatys" and min(resized_size(content_size, params.size)) < GATYS_MIN_SIDE:
        raise InvalidParameter(
            f"gatys needs at least {GATYS_MIN_SIDE} px on the content's short side", field="size"
        )


def style_weights(params: StyleParams, n_styles: int) -> list[float]:
    """The weight of each style, summing to 1 (equal unless ``style_weights`` says otherwise)."""
    if params.style_weights is None:
        return [1.0 / n_styles] * n_styles
    total = sum(params.style_weights)
    return [w / total for w in params.style_weights]


def resized_size(size: tuple[int, int], longest: int | None) -> tuple[int, int]:
    """(width, height) after scaling the longest side to ``longest`` (None keeps it).

    The short side is rounded and never below 1 px; ``models.images.resize_longest``
    resizes to exactly this.
    """
    width, height = size
    if longest is None or max(width, height) == longest:
        return width, height
    short = max(1, round(min(width, height) * longest / max(width, height)))
    return (longest, short) if width >= height else (short, longest)


def _check_mask(mask_size: tuple[int, int], content_size: tuple[int, int], n_styles: int) -> None:
    if n_styles < 2:
        raise InvalidMask(
            "a mask assigns styles to regions: give at least two style images", field="mask"
        )
    (w, h), (mw, mh) = content_size, mask_size
    if abs((mw / mh) / (w / h) - 1) > MASK_ASPECT_TOLERANCE:
        raise InvalidMask(
            f"mask is {mw}x{mh} but the content is {w}x{h}: the mask must have the content's "
            "aspect ratio (it is resized to the content)",
            field="mask",
        )
