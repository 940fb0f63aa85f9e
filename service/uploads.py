"""Checks on uploaded files, run before anything is stored or enqueued.

In order: the size (413), whether it is an image type at all (415: neither the bytes nor
the declared ``Content-Type`` say JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC/HEIF or AVIF),
then a full probe with ``models.images.probe_image``, the same decoder the worker uses
(422: undecodable, truncated, decompression bomb, too many pixels). Each error names the
form field.

The content may also be a video (``check_content``): the bytes decide
(``models.video.formats.sniff_video``: MP4, MOV, WebM, Matroska, or a GIF or WebP with
more than one frame), or a declared ``video/*`` type. A video is probed with
``models.video.probe.probe_video`` (its packet index, first and last key frames) against
the video limits: over ``max_bytes`` 413, over its seconds, frames or pixels per frame
422 ``video_too_large``, unreadable, corrupt or truncated 422 ``invalid_video``.

A content is held in memory only up to the image limit (``read_content``): past it only a
video can be accepted, and the rest of the file streams to a temporary file, so a 100 MiB
clip never sits in the API process's memory (the worker gets it from Redis in chunks).
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from fastapi import UploadFile

from models.images import ImageLimits, probe_image
from models.video.formats import sniff_video
from models.video.probe import VideoInfo, probe_video
from models.video.source import VideoLimits
from service.errors import PayloadTooLarge, UnsupportedMediaType

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
)
# ISO-BMFF ``ftyp`` brands (major or compatible) of still images: HEIF with HEVC (phones'
# HEIC), the generic HEIF image/sequence brands, and AVIF. Video brands (isom, mp42, qt)
# are not images.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_SPOOL_CHUNK = 1 << 20
IMAGE_TYPES = frozenset(
    {"image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/webp", "image/gif"}
    | {"image/bmp", "image/x-ms-bmp", "image/tiff"}
    | {"image/heic", "image/heif", "image/avif"}
)
UNTYPED = frozenset({"", "application/octet-stream"})  # what clients send when they don't know
SUPPORTED = "JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC/HEIF or AVIF"
IMAGE_EXPECTED = f"a supported image type; send {SUPPORTED}"
CONTENT_EXPECTED = (
    f"a supported image or video type; send {SUPPORTED}, or a video: MP4, MOV, WebM, or an "
    "animated GIF or WebP"
)


@dataclass(frozen=True)
class Upload:
    """An uploaded image (or content video) that the worker will be able to decode."""

    field: str
    data: bytes | Path  # a content video over the image limit: its temporary file
    sha256: str
    format: str
    width: int
    height: int
    video: VideoInfo | None = None  # set for a content video


async def read_upload(file: UploadFile, field: str, max_bytes: int) -> bytes:
    """The file's bytes; 413 as soon as it is known to be over ``max_bytes``."""
    if file.size is not None and file.size > max_bytes:
        raise _too_large(field, file.size, max_bytes)
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large(field, None, max_bytes)
    return data


async def read_content(
    file: UploadFile, field: str, in_memory: int, max_bytes: int
) -> bytes | Path:
    """The content's bytes when they fit in ``in_memory`` (the image limit); else the path
    of a temporary file that holds them all, which the caller deletes. 413 as soon as the
    upload is known to be over ``max_bytes`` (the video limit)."""
    if file.size is not None and file.size > max_bytes:
        raise _too_large(field, file.size, max_bytes)
    head = await file.read(in_memory + 1)
    if len(head) <= in_memory:
        return head
    descriptor, name = tempfile.mkstemp(prefix="stylize-content-")
    path, size = Path(name), len(head)
    try:
        with os.fdopen(descriptor, "wb") as spooled:
            spooled.write(head)
            del head
            while chunk := await file.read(_SPOOL_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(field, None, max_bytes)
                spooled.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def check_image(
    data: bytes,
    declared_type: str | None,
    field: str,
    limits: ImageLimits,
    expected: str = IMAGE_EXPECTED,
) -> Upload:
    """415 for what is not an image type, 422 (``InvalidImage``) for a broken image."""
    declared = (declared_type or "").split(";")[0].strip().lower()
    if data and sniff(data) is None and declared not in IMAGE_TYPES:
        what = f"{declared} is" if declared not in UNTYPED else "the bytes are"
        raise UnsupportedMediaType(f"{what} not {expected}", field=field)
    format, width, height = probe_image(data, field=field, limits=limits)
    return Upload(field, data, hashlib.sha256(data).hexdigest(), format, width, height)


def content_is_video(data: bytes | Path, declared_type: str | None) -> bool:
    """Whether the content goes down the video path: its bytes say so, or its declared
    type does (then a file that is no video is refused as one, 422 ``invalid_video``)."""
    declared = (declared_type or "").split(";")[0].strip().lower()
    return sniff_video(data) is not None or declared.startswith("video/")


def check_content(
    data: bytes | Path,
    declared_type: str | None,
    field: str,
    video: bool,
    image_limits: ImageLimits,
    video_limits: VideoLimits,
) -> Upload:
    """The content, a ``video`` (``content_is_video``) or an image, as ``read_content``
    read it: an image is held to its own byte limit here."""
    if video:
        info = probe_video(data, field=field, limits=video_limits)
        return Upload(field, data, _sha256(data), info.format, info.width, info.height, info)
    if isinstance(data, Path) or len(data) > image_limits.max_bytes:
        size = data.stat().st_size if isinstance(data, Path) else len(data)
        raise _too_large(field, size, image_limits.max_bytes)
    return check_image(data, declared_type, field, image_limits, CONTENT_EXPECTED)


def _sha256(data: bytes | Path) -> str:
    if isinstance(data, bytes):
        return hashlib.sha256(data).hexdigest()
    with data.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def sniff(data: bytes) -> str | None:
    """The image format the first bytes announce, if it is one we accept."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return _sniff_iso_bmff(data)
    return next((name for magic, name in _SIGNATURES if data.startswith(magic)), None)


def _sniff_iso_bmff(data: bytes) -> str | None:
    """AVIF or HEIF from the ``ftyp`` box: its major brand, then its compatible brands.
    AVIF wins, as AVIF files also carry the generic HEIF brand ``mif1``."""
    box_end = min(int.from_bytes(data[:4], "big"), len(data), 256)
    brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return "AVIF"
    if brands & _HEIF_BRANDS:
        return "HEIF"
    return None


def _too_large(field: str, size: int | None, max_bytes: int) -> PayloadTooLarge:
    got = f"{size:,} bytes" if size is not None else "more than that"
    return PayloadTooLarge(
        f"{field} is too large: at most {max_bytes:,} bytes per file, got {got}", field=field
    )
