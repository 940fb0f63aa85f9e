"""Opening an untrusted video and checking it against the limits; torch-free.

Shared by ``probe`` (the API's check at upload time) and ``decode`` (the worker's
frames), so both refuse the same files with the same messages. Every way PyAV or Pillow
can fail on hostile bytes becomes ``InvalidVideo``; going over a limit is
``VideoTooLarge``, whose message names the limit.
"""

import contextlib
import io
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import av
from av.container import InputContainer
from PIL import Image

from models.errors import InvalidVideo, StylizeError, VideoTooLarge
from models.video.formats import DEMUXERS, sniff_container

VideoSource = bytes | str | os.PathLike[str]
EXPECTED = "MP4, MOV, WebM, or an animated GIF or WebP expected"


@dataclass(frozen=True)
class VideoLimits:
    """Ceilings on a video upload, checked from the header first and again while reading.

    ``max_pixels`` is per frame, before resizing to ``size``. The defaults suit a
    minute of 4K phone video; the service narrows them from its settings.
    """

    max_bytes: int = 200 * 1024 * 1024
    max_seconds: float = 60.0
    max_frames: int = 3600  # a minute at 60 fps
    max_pixels: int = 3840 * 2160


DEFAULT_VIDEO_LIMITS = VideoLimits()


def check_bytes(size: int, limits: VideoLimits, field: str) -> None:
    if size > limits.max_bytes:
        raise VideoTooLarge(
            f"the video is {size:,} bytes; at most {limits.max_bytes:,}",
            field=field,
            limit="max_bytes",
        )


def check_pixels(width: int, height: int, limits: VideoLimits, field: str) -> None:
    if width * height > limits.max_pixels:
        raise VideoTooLarge(
            f"the video's frames are {width}x{height} = {width * height:,} pixels; "
            f"at most {limits.max_pixels:,}",
            field=field,
            limit="max_pixels",
        )


def check_frames(frames: int, limits: VideoLimits, field: str, *, at_least: bool = False) -> None:
    """``at_least``: counting is not finished, the video has ``frames`` or more."""
    if frames > limits.max_frames:
        count = f"more than {limits.max_frames:,}" if at_least else f"{frames:,}"
        raise VideoTooLarge(
            f"the video has {count} frames; at most {limits.max_frames:,}",
            field=field,
            limit="max_frames",
        )


def check_seconds(seconds: float, limits: VideoLimits, field: str) -> None:
    # Half a frame at 60 fps of slack: a 60 s clip's timestamps may end a rounding later.
    if seconds > limits.max_seconds + 0.008:
        raise VideoTooLarge(
            f"the video is {seconds:.1f} s long; at most {limits.max_seconds:g} s",
            field=field,
            limit="max_seconds",
        )


def source_container(source: VideoSource, limits: VideoLimits, field: str) -> str:
    """Check the byte size and return the sniffed container, or refuse the file."""
    if isinstance(source, bytes):
        size, head = len(source), source[:64]
    else:
        try:
            with open(source, "rb") as file:
                size, head = os.fstat(file.fileno()).st_size, file.read(64)
        except OSError as exc:
            raise InvalidVideo(
                f"cannot read {os.fspath(source)}: {exc.strerror or exc}", field=field
            ) from exc
    if size == 0:
        raise InvalidVideo(f"empty (0 bytes); {EXPECTED}", field=field)
    check_bytes(size, limits, field)
    container = sniff_container(head)
    if container is None:
        raise InvalidVideo(f"not a video ({EXPECTED})", field=field)
    return container


def open_av(source: VideoSource, container: str, field: str) -> InputContainer:
    """Open with the sniffed container's own demuxer (never FFmpeg's guess)."""
    with av_errors(field, f"not a readable {container} file"):
        file = io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source)
        return av.open(file, format=DEMUXERS[container])


def open_animation(source: VideoSource, field: str) -> Image.Image:
    """Open a GIF or WebP animation with Pillow (header only; frames decode on ``load``)."""
    with pillow_errors(field, "not a readable animation"):
        file = io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source)
        return Image.open(file, formats=("GIF", "WEBP"))


def animation_duration_ms(image: Image.Image) -> int:
    """The current frame's display time. Browsers show 0–10 ms frames for 100 ms (an old
    GIF convention, also applied to WebP), so this does too: the video plays as they do."""
    duration = int(image.info.get("duration") or 0)
    return duration if duration > 10 else 100


@contextlib.contextmanager
def av_errors(field: str, problem: str) -> Iterator[None]:
    """FFmpeg's errors on bad input (invalid data, EOF, ENOMEM on absurd headers …) all
    mean "unusable video"; our own errors pass through."""
    try:
        yield
    except StylizeError:
        raise
    except av.FFmpegError as exc:
        raise InvalidVideo(f"{problem}: {exc.strerror or exc}", field=field) from exc
    except MemoryError:
        raise
    except (OSError, ValueError, EOFError, IndexError, KeyError, TypeError) as exc:
        raise InvalidVideo(f"{problem}: {exc}", field=field) from exc


@contextlib.contextmanager
def pillow_errors(field: str, problem: str) -> Iterator[None]:
    """Pillow's zoo of exceptions on hostile animations (see ``models.images``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except StylizeError:
            raise
        except MemoryError:
            raise
        except Exception as exc:
            raise InvalidVideo(f"{problem}: {exc}", field=field) from exc
