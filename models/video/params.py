"""What a video job asks for beyond ``StyleParams``; torch-free, shared with the API.

Style parameters (method, alpha, styles, preserve_color, mask, size, style_size) apply
to every frame exactly as to an image; ``StyleParams.format`` and ``quality`` are the
image outputs' and are ignored for video.

``parse_job_params`` is the one rule for the parameters of a job whose content may be a
video: the API (``service/forms.py``) and the command line (``cli/video.py``) both give
it the raw values and whether the content is a video, so they refuse the same things
with the same words. One ``format`` serves both kinds: png, jpeg, webp for an image;
mp4, webm, webp (animated), gif for a video (default mp4).
"""

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import InvalidParameter
from models.params import OutputFormat, StyleParams, parse_params
from models.video.formats import VideoFormat

IMAGE_FORMATS: tuple[str, ...] = get_args(OutputFormat)
VIDEO_FORMATS: tuple[str, ...] = get_args(VideoFormat)
JobFormat = Literal["png", "jpeg", "webp", "mp4", "webm", "gif"]
"""Every value of ``format``, for an image or a video (``parse_job_params`` pairs them)."""

VIDEO_METHODS = ("wct", "adain")


class VideoParams(BaseModel):
    """Output format and temporal consistency of a stylized video."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: VideoFormat = Field(
        "mp4",
        description="mp4 (H.264, with the source's audio), webm (VP9 + Opus audio), or an "
        "animated webp or gif (no audio).",
    )
    temporal: bool = Field(
        True,
        description="Temporal consistency: smoothed statistics across frames and the previous "
        "frame warped along the optical flow; off stylizes each frame alone (it flickers).",
    )


def check_video_params(params: StyleParams) -> None:
    """Refuse what cannot run on video, before any work: Gatys takes about a minute a frame."""
    if params.method not in VIDEO_METHODS:
        raise InvalidParameter(
            f"method {params.method!r} is not available for video (about a minute per frame); "
            f"use one of {', '.join(VIDEO_METHODS)}",
            field="method",
        )


def parse_job_params(
    values: dict[str, Any], *, video: bool
) -> tuple[StyleParams, VideoParams | None]:
    """``StyleParams`` (and ``VideoParams`` when the content is a video) from raw values.

    ``values`` are ``StyleParams``' fields plus ``temporal``. ``format`` must suit the
    content (an image format for a photo, a video format for a video) and ``temporal``
    is a video's only; either mistake is ``InvalidParameter`` naming the field. Gatys
    on a video is refused here too (``check_video_params``).
    """
    values = dict(values)
    format, temporal = values.pop("format", None), values.pop("temporal", None)
    if not video:
        if temporal is not None:
            raise InvalidParameter(
                "temporal applies to videos only, and the content is an image", field="temporal"
            )
        if format in VIDEO_FORMATS and format not in IMAGE_FORMATS:
            raise InvalidParameter(
                f"format {format!r} is a video format, and the content is an image; use one "
                f"of {', '.join(IMAGE_FORMATS)}",
                field="format",
            )
        return parse_params(values if format is None else {**values, "format": format}), None
    if format in IMAGE_FORMATS and format not in VIDEO_FORMATS:
        raise InvalidParameter(
            f"format {format!r} is an image format, and the content is a video; use one of "
            f"{', '.join(VIDEO_FORMATS)}",
            field="format",
        )
    params = parse_params(values)
    check_video_params(params)
    given = {k: v for k, v in (("format", format), ("temporal", temporal)) if v is not None}
    try:
        return params, VideoParams.model_validate(given)
    except ValidationError as error:
        first = error.errors()[0]
        raise InvalidParameter(
            f"{first['msg']} (got {first.get('input')!r})", field=str(first["loc"][0])
        ) from None
