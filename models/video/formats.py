"""Which video an upload is, from its first bytes, and which videos the engine writes.

Torch-free, for the API: ``sniff_video`` decides whether a ``content`` upload goes down
the video path or the image path. The rule for animations: a GIF or WebP with more than
one frame is a video (stylized frame by frame, with temporal consistency, written as a
video); with one frame it is an image, whatever its header claims. MP4, MOV, WebM and
Matroska are always videos. HEIF/AVIF share MP4's ``ftyp`` box but are images.
"""

import contextlib
import io
import os
import warnings
from typing import Literal

from PIL import Image

from models.errors import InvalidParameter

Container = Literal["mp4", "mov", "webm", "matroska", "gif", "webp"]
VideoFormat = Literal["mp4", "webm", "webp", "gif"]

# FFmpeg's demuxer for each container PyAV reads. Naming it, instead of letting FFmpeg
# guess from the bytes, keeps hostile uploads away from every other demuxer (HLS or
# concat playlists would open other files).
DEMUXERS: dict[str, str] = {"mp4": "mov", "mov": "mov", "webm": "matroska", "matroska": "matroska"}
ANIMATIONS = frozenset({"gif", "webp"})  # read with Pillow: FFmpeg cannot decode animated WebP

CONTENT_TYPES: dict[str, str] = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "webp": "image/webp",
    "gif": "image/gif",
}

# ISO base media brands of still images (HEIF, AVIF): an ``ftyp`` box, but not a video.
_IMAGE_BRANDS = frozenset(
    {
        b"heic",
        b"heix",
        b"hevc",
        b"hevx",
        b"heim",
        b"heis",
        b"mif1",
        b"mif2",
        b"msf1",
        b"avif",
        b"avis",
    }
)
# Classic QuickTime files may start with one of these atoms instead of ``ftyp``.
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_EBML_MAGIC = b"\x1a\x45\xdf\xa3"


def sniff_container(head: bytes) -> Container | None:
    """The container the first bytes (64 are plenty) announce, or None.

    For GIF and WebP this says only the format; whether it is animated needs the whole
    file (``sniff_video``).
    """
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return None
        return "mov" if brand == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS:
        return "mov"
    if head.startswith(_EBML_MAGIC):
        return "webm" if b"webm" in head[:64] else "matroska"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def sniff_video(data: bytes | os.PathLike[str]) -> Container | None:
    """The container if ``data`` (bytes, or a file's path) is a video by the rule above,
    else None (maybe an image).

    Only a quick look: ``probe_video`` decides whether the video is usable.
    """
    if isinstance(data, bytes):
        head = data[:64]
    else:
        with open(data, "rb") as file:
            head = file.read(64)
    container = sniff_container(head)
    if container in ANIMATIONS and frame_count(data) < 2:
        return None
    return container


def frame_count(data: bytes | os.PathLike[str]) -> int:
    """Frames of a GIF or WebP as Pillow counts them (0 if Pillow cannot read it)."""
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        source = io.BytesIO(data) if isinstance(data, bytes) else data
        with Image.open(source, formats=("GIF", "WEBP")) as image:
            return int(getattr(image, "n_frames", 1))
    return 0


def content_type(format: VideoFormat) -> str:
    """The MIME type of an output video format."""
    try:
        return CONTENT_TYPES[format]
    except KeyError:
        raise InvalidParameter(
            f"unknown video format {format!r}; use one of {', '.join(CONTENT_TYPES)}",
            field="format",
        ) from None
