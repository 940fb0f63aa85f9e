"""Typed stylization parameters: the one definition the engine, the queue and the API share.

Pydantic, not a dataclass, because these cross the queue and HTTP boundaries and must be
validated with messages that name the field. No torch import here.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from models.errors import InvalidParameter

Method = Literal["adain", "wct", "gatys"]
OutputFormat = Literal["png", "jpeg", "webp"]
GatysInit = Literal["content", "noise", "adain", "wct"]
Optimizer = Literal["lbfgs", "adam"]

MAX_SIDE = 4096  # longest side the engine accepts for content after resizing
MAX_STYLES = 8
# A mask is resized to the content; beyond this relative aspect difference it is refused.
MASK_ASPECT_TOLERANCE = 0.02


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
