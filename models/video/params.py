"""What a video job asks for beyond ``StyleParams``; torch-free, shared with the API.

Style parameters (method, alpha, styles, preserve_color, mask, size, style_size) apply
to every frame exactly as to an image; ``StyleParams.format`` and ``quality`` are the
image outputs' and are ignored for video.
"""

from pydantic import BaseModel, ConfigDict, Field

from models.errors import InvalidParameter
from models.params import StyleParams
from models.video.formats import VideoFormat

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
