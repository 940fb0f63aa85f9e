"""The ``POST /stylize`` multipart form, and its conversion into ``StyleParams``.

Field names are the parameters' own, with Gatys budgets dotted as the engine names them
(``gatys.iterations``; curl: ``-F gatys.iterations=100``). ``to_params`` nests the flat
form and validates it with ``models.params.parse_params``, so the rules live in one place,
the API rejects exactly what the engine would, and an error names the field as the
client spelled it. Unknown fields are refused (422): a typo such as ``alpah`` is not
silently ignored. The rules that join several inputs are the engine's own
(``models.params.check_inputs``), run by the route once the uploads are read.

Whether the content is a video is known only once it is read, so ``to_params`` is told;
``format`` and ``temporal`` are then checked against the content's kind by
``models.video.params.parse_job_params``, the rule the command line uses too.
"""

from collections.abc import Iterable
from typing import Any

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from contract.jobs import WEBHOOK_EVENTS, WebhookEvent
from contract.webhooks import MAX_URL_LENGTH
from models.errors import InvalidParameter
from models.params import MAX_STYLES, GatysInit, GatysParams, Method, Optimizer, StyleParams
from models.video.params import JobFormat, VideoParams, parse_job_params


def _param(name: str, model: type[BaseModel] = StyleParams, alias: str | None = None) -> Any:
    """The form field of parameter ``name``: its description, default and bounds (the
    schema's minimum/maximum) are the parameter's own, so they cannot drift apart."""
    field = model.model_fields[name]
    bounds = {
        bound: getattr(rule, bound)
        for rule in field.metadata
        for bound in ("ge", "gt", "le", "lt")
        if getattr(rule, bound, None) is not None
    }
    description = f"{field.description or name}. Default: {field.default}."
    return Field(None, alias=alias, description=description, **bounds)


def _gatys(name: str) -> Any:
    """The form field ``gatys.<name>``, documented as ``GatysParams.<name>``."""
    return _param(name, GatysParams, alias=f"gatys.{name}")


_NOT_PARAMETERS = frozenset(
    {"content", "style", "style_id", "mask", "style_weights", "webhook", "webhook_events"}
)


class StylizeForm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: UploadFile = Field(
        description="The photo, or the video (MP4, MOV, WebM, an animated GIF or WebP), to stylize."
    )
    style: list[UploadFile] | None = Field(
        None, description=f"Style image(s), 1 to {MAX_STYLES}; or use `style_id`."
    )
    style_id: list[str] | None = Field(
        None, description="Id(s) from `POST /styles`, instead of `style` files."
    )
    mask: UploadFile | None = Field(
        None,
        description="Spatial control: grey levels split into one band per style "
        "(two styles: black = first, white = second). Same aspect ratio as the content.",
    )
    method: Method | None = Field(
        None,
        description="wct (default) and adain take well under a second at 512 px; gatys minutes.",
    )
    alpha: float | None = _param("alpha")
    preserve_color: bool | None = _param("preserve_color")
    style_weights: list[str] | None = Field(
        None,
        description="One weight per style, comma-separated (`0.3,0.7`) or repeated fields.",
    )
    size: int | None = _param("size")
    style_size: int | None = _param("style_size")
    format: JobFormat | None = Field(
        None,
        description="An image: png (default), jpeg or webp. A video: mp4 (default; H.264 with "
        "the source's audio), webm (VP9, Opus audio), webp or gif (animated, no audio).",
    )
    quality: int | None = _param("quality")
    temporal: bool | None = Field(
        None,
        description="Videos only: temporal consistency, `on` (default: steadier strokes, "
        "no flicker) or `off` (each frame stylized alone, the per-frame baseline).",
    )

    gatys_init: GatysInit | None = _gatys("init")
    gatys_optimizer: Optimizer | None = _gatys("optimizer")
    gatys_iterations: int | None = _gatys("iterations")
    gatys_max_seconds: float | None = _gatys("max_seconds")
    gatys_tolerance: float | None = _gatys("tolerance")
    gatys_content_weight: float | None = _gatys("content_weight")
    gatys_style_weight: float | None = _gatys("style_weight")
    gatys_tv_weight: float | None = _gatys("tv_weight")
    gatys_learning_rate: float | None = _gatys("learning_rate")
    gatys_seed: int | None = _gatys("seed")
    gatys_preview_every: int | None = _gatys("preview_every")

    webhook: str | None = Field(
        None,
        max_length=MAX_URL_LENGTH,
        description="An https URL that receives the job's events: a POST of the job's JSON, "
        "signed the Standard Webhooks way (headers webhook-id, webhook-timestamp, "
        "webhook-signature), retried with backoff until it answers 2xx.",
    )
    webhook_events: list[str] | None = Field(
        None,
        description="Which events go to `webhook`: any of start, progress, completed, "
        "comma-separated or repeated. Default: completed.",
    )

    def to_params(self, max_size: int, video: bool) -> tuple[StyleParams, VideoParams | None]:
        """``StyleParams`` from the fields given (the others keep their defaults), and
        ``VideoParams`` when the content is a ``video``; errors are ``InvalidParameter``
        naming the form field."""
        values: dict[str, Any] = {}
        gatys: dict[str, Any] = {}
        for name, value in self:
            if value is None or name in _NOT_PARAMETERS:
                continue
            if name.startswith("gatys_"):
                gatys[name.removeprefix("gatys_")] = value
            else:
                values[name] = value
        if self.style_weights is not None:
            values["style_weights"] = _parse_weights(self.style_weights)
        if gatys:
            values["gatys"] = gatys
        params, video_params = parse_job_params(values, video=video)
        for name in ("size", "style_size"):
            value = getattr(params, name)
            if value is not None and value > max_size:
                raise InvalidParameter(
                    f"at most {max_size} pixels on this server (got {value})", field=name
                )
        return params, video_params

    def webhook_events_wanted(self) -> tuple[WebhookEvent, ...]:
        """The events asked for (default ``completed``), in their order of occurrence."""
        if self.webhook_events is None:
            return ("completed",)
        if self.webhook is None:
            raise InvalidParameter("webhook_events needs a webhook URL", field="webhook_events")
        asked = {p.strip() for item in self.webhook_events for p in item.split(",") if p.strip()}
        unknown = sorted(asked - set(WEBHOOK_EVENTS))
        if unknown or not asked:
            raise InvalidParameter(
                f"events are {', '.join(WEBHOOK_EVENTS)}, comma-separated (got "
                f"{', '.join(unknown) or 'none'})",
                field="webhook_events",
            )
        return tuple(event for event in WEBHOOK_EVENTS if event in asked)


REPEATABLE = frozenset({"style", "style_id", "style_weights"})
SINGLE_FIELDS = tuple(
    field.alias or name
    for name, field in StylizeForm.model_fields.items()
    if (field.alias or name) not in REPEATABLE
)
"""The fields given at most once; FastAPI would silently keep one of several."""


def refuse_repeated(form: FormData, names: Iterable[str] = SINGLE_FIELDS) -> None:
    """422 naming the first of ``names`` that the form gives more than once."""
    for name in names:
        count = len(form.getlist(name))
        if count > 1:
            what = "file" if isinstance(form.get(name), UploadFile) else "value"
            raise InvalidParameter(f"give one `{name}` {what}, not {count}", field=name)


def _parse_weights(raw: list[str]) -> list[float]:
    weights = []
    for part in (p.strip() for item in raw for p in item.split(",")):
        try:
            weights.append(float(part))
        except ValueError:
            raise InvalidParameter(
                f"weights must be numbers, comma-separated or repeated (got {part!r})",
                field="style_weights",
            ) from None
    return weights
