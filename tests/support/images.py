"""Uploads for the API tests: the shared photos, and images made on the spot."""

import io
import random

from PIL import Image

from tests.support.paths import CONTENT, STYLE

Upload = tuple[str, bytes, str]  # (file name, bytes, content type), as httpx sends a file


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    """A solid PNG: tiny on disk, whatever its size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def content_upload() -> Upload:
    """chicago.jpg (712x474, 220 kB)."""
    return ("chicago.jpg", CONTENT.read_bytes(), "image/jpeg")


def style_upload() -> Upload:
    return ("sketch.png", STYLE.read_bytes(), "image/png")


def unique_style_upload() -> Upload:
    """sketch.png with its first pixel changed: a style no worker has cached yet."""
    image = Image.open(STYLE).convert("RGB")
    image.putpixel((0, 0), tuple(random.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return ("unique.png", buffer.getvalue(), "image/png")
