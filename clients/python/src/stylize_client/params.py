"""Typed parameters of ``POST /stylize``, named and bounded as the API names and bounds
them (``models/params.py`` on the server), checked here so a mistake fails at once,
before any upload. The server stays the authority: it may set tighter limits (its
``max_size``) and answers 422 ``invalid_parameter`` naming the field.

A field left ``None`` is not sent, so the server's default applies.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from stylize_client.errors import InvalidParameterError

Method = Literal["wct", "adain", "gatys"]
OutputFormat = Literal["png", "jpeg", "webp", "mp4", "webm", "gif"]
GatysInit = Literal["content", "noise", "adain", "wct"]
Optimizer = Literal["lbfgs", "adam"]

METHODS: tuple[str, ...] = ("wct", "adain", "gatys")
OUTPUT_FORMATS: tuple[str, ...] = ("png", "jpeg", "webp", "mp4", "webm", "gif")
"""png, jpeg, webp for a photo; mp4, webm, webp (animated), gif for a video (the server
refuses a format that does not fit the content)."""
GATYS_INITS: tuple[str, ...] = ("content", "noise", "adain", "wct")
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam")
MAX_SIDE = 4096  # the engine's largest content side; a server may allow less
MAX_STYLES = 8


@dataclass(frozen=True)
class GatysParams:
    """Budgets and loss weights of method ``gatys`` (form fields ``gatys.<name>``)."""

    init: GatysInit | None = None
    optimizer: Optimizer | None = None
    iterations: int | None = None  # 1..2000
    max_seconds: float | None = None  # (0, 3600]
    tolerance: float | None = None  # 0..1
    content_weight: float | None = None  # >= 0
    style_weight: float | None = None  # >= 0
    tv_weight: float | None = None  # >= 0
    learning_rate: float | None = None  # (0, 10]
    seed: int | None = None  # >= 0
    preview_every: int | None = None  # >= 0

    def __post_init__(self) -> None:
        _choice("gatys.init", self.init, GATYS_INITS)
        _choice("gatys.optimizer", self.optimizer, OPTIMIZERS)
        _integer("gatys.iterations", self.iterations, 1, 2000)
        _number("gatys.max_seconds", self.max_seconds, 0, 3600, low_open=True)
        _number("gatys.tolerance", self.tolerance, 0, 1)
        for name in ("content_weight", "style_weight", "tv_weight"):
            _number(f"gatys.{name}", getattr(self, name), 0, math.inf)
        _number("gatys.learning_rate", self.learning_rate, 0, 10, low_open=True)
        _integer("gatys.seed", self.seed, 0, None)
        _integer("gatys.preview_every", self.preview_every, 0, None)


@dataclass(frozen=True)
class StyleParams:
    """What to make: the API's form fields, each ``None`` (the server's default) or
    checked against the API's bounds."""

    method: Method | None = None
    alpha: float | None = None  # 0..1: style strength
    preserve_color: bool | None = None
    style_weights: Sequence[float] | None = None  # one per style, >= 0, sum > 0
    size: int | None = None  # content longest side, 1..4096 (the server may allow less)
    style_size: int | None = None  # style longest side, 1..4096
    format: OutputFormat | None = None
    quality: int | None = None  # 1..100, JPEG/WebP
    gatys: GatysParams | None = None
    temporal: bool | None = None  # videos only: temporal consistency (the server's default: on)

    def __post_init__(self) -> None:
        _choice("method", self.method, METHODS)
        _number("alpha", self.alpha, 0, 1)
        for name in ("preserve_color", "temporal"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise InvalidParameterError(f"must be true or false (got {value!r})", field=name)
        _integer("size", self.size, 1, MAX_SIDE)
        _integer("style_size", self.style_size, 1, MAX_SIDE)
        _choice("format", self.format, OUTPUT_FORMATS)
        _integer("quality", self.quality, 1, 100)
        if self.style_weights is not None:
            object.__setattr__(self, "style_weights", _weights(self.style_weights))
        if isinstance(self.gatys, Mapping):
            object.__setattr__(self, "gatys", _gatys_from(self.gatys))
        elif self.gatys is not None and not isinstance(self.gatys, GatysParams):
            raise InvalidParameterError(
                f"give GatysParams or a dict (got {type(self.gatys).__name__})", field="gatys"
            )

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> StyleParams:
        """From keyword arguments; an unknown name is an ``InvalidParameterError``
        naming it (the server refuses unknown fields too)."""
        known = {f.name for f in fields(cls)}
        for name in values:
            if name not in known:
                raise InvalidParameterError(
                    f"unknown parameter; known: {', '.join(sorted(known))}", field=name
                )
        return cls(**values)

    def form(self) -> Iterator[tuple[str, str]]:
        """The multipart form fields, as the API spells them."""
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or f.name == "gatys":
                continue
            if f.name == "style_weights":
                yield f.name, ",".join(_text(w) for w in value)
            else:
                yield f.name, _text(value)
        if self.gatys is not None:
            for f in fields(self.gatys):
                value = getattr(self.gatys, f.name)
                if value is not None:
                    yield f"gatys.{f.name}", _text(value)


def _gatys_from(values: Mapping[str, Any]) -> GatysParams:
    known = {f.name for f in fields(GatysParams)}
    for name in values:
        if name not in known:
            raise InvalidParameterError(
                f"unknown parameter; known: {', '.join(sorted(known))}", field=f"gatys.{name}"
            )
    return GatysParams(**values)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise InvalidParameterError(
            f"must be one of {', '.join(choices)} (got {value!r})", field=name
        )


def _integer(name: str, value: Any, low: int, high: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterError(f"must be a whole number (got {value!r})", field=name)
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f"at least {low}"
        raise InvalidParameterError(f"must be {bounds} (got {value})", field=name)


def _number(name: str, value: Any, low: float, high: float, *, low_open: bool = False) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidParameterError(f"must be a finite number (got {value!r})", field=name)
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        left = f"more than {low:g}" if low_open else f"at least {low:g}"
        bounds = left if high == math.inf else f"{left} and at most {high:g}"
        raise InvalidParameterError(f"must be {bounds} (got {value!r})", field=name)


def _weights(weights: Sequence[float]) -> tuple[float, ...]:
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise InvalidParameterError(
            f"give a list of numbers, one per style (got {weights!r})", field="style_weights"
        )
    if not 1 <= len(weights) <= MAX_STYLES:
        raise InvalidParameterError(
            f"give between 1 and {MAX_STYLES} weights, one per style image", field="style_weights"
        )
    for weight in weights:
        _number("style_weights", weight, 0, math.inf)
    if sum(weights) <= 0:
        raise InvalidParameterError("at least one weight must be positive", field="style_weights")
    return tuple(float(w) for w in weights)
