"""Images (and a content video) as the client accepts them (a path, bytes, a binary file
object, or a Pillow image) turned into one multipart file: ``(filename, bytes, content_type)``.

The bytes are read once, before the first request, so every retry sends the same ones.
Pillow images are encoded as PNG (lossless). The content type is read from the bytes when
they say it, else guessed from the name; the server reads the bytes either way.
"""

from __future__ import annotations

import io
import mimetypes
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

# Union rather than |: Pillow is optional, so its image type is a forward reference.
ImageInput = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes], "PILImage"]  # noqa: UP007
"""A path (``str`` or ``PathLike``), bytes, a binary file object, or a ``PIL.Image.Image``."""

Upload = tuple[str, bytes, str]

_PNG_MODES = frozenset({"1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA"})

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
)
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/tiff": ".tiff",
    "image/bmp": ".bmp",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "image/avif": ".avif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
    "video/webm": ".webm",
}


def to_upload(value: ImageInput, field: str) -> Upload:
    """``value`` as a multipart file for the form field ``field``."""
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        data = path.read_bytes()
        return path.name, data, sniff_type(data) or _guess(path.name)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _named(field, bytes(value))
    if _is_pil_image(value):
        if value.mode not in _PNG_MODES:
            value = value.convert("RGBA" if "A" in value.mode else "RGB")
        buffer = io.BytesIO()
        value.save(buffer, "PNG")
        return f"{field}.png", buffer.getvalue(), "image/png"
    if hasattr(value, "read"):
        data = value.read()
        if not isinstance(data, bytes):
            raise TypeError(f"{field}: open the file in binary mode ('rb')")
        name = getattr(value, "name", None)
        if isinstance(name, str) and name:
            filename = os.path.basename(name)
            return filename, data, sniff_type(data) or _guess(filename)
        return _named(field, data)
    raise TypeError(
        f"{field}: give a path, bytes, a binary file or a PIL image, not {type(value).__name__}"
    )


def sniff_type(data: bytes) -> str | None:
    """The image (or video) type the first bytes announce, if they announce one."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        box_end = min(int.from_bytes(data[:4], "big"), len(data), 256)
        brands = {data[8:12]} | {data[i : i + 4] for i in range(16, box_end - 3, 4)}
        if brands & {b"avif", b"avis"}:
            return "image/avif"
        if brands & {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}:
            return "image/heic"
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM (or Matroska)
        return "video/webm"
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), None)


def _named(field: str, data: bytes) -> Upload:
    kind = sniff_type(data) or "application/octet-stream"
    return f"{field}{_EXTENSIONS.get(kind, '')}", data, kind


def _guess(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _is_pil_image(value: Any) -> bool:
    """Without importing Pillow (it is optional): every Pillow image, whichever plugin
    opened it, is a subclass of ``PIL.Image.Image``."""
    return any(
        cls.__module__ == "PIL.Image" and cls.__name__ == "Image" for cls in type(value).__mro__
    )
