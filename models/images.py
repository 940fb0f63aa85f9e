"""Image bytes in, RGB pixels out, and back: the one place untrusted uploads are decoded.

Pillow (with pillow-heif for HEIC/HEIF) and the standard library only, no torch, so the
API process can validate an upload synchronously with exactly the checks the worker will
apply. Every failure is a typed error from ``models.errors`` naming the ``field``; nothing
raw from Pillow escapes.

Decoded images are always upright (EXIF orientation applied), 8-bit and metadata-free:
transparency is flattened onto white, 16/32-bit and float pixels are scaled (not clipped)
into 0..255, and EXIF, ICC profiles and comments are dropped, so nothing from an upload
leaks into a result. ICC profiles are not applied: pixels are treated as sRGB.
"""

import contextlib
import io
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import pillow_heif
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError, features

from models.errors import ImageTooLarge, InvalidImage, InvalidParameter
from models.params import OutputFormat, resized_size

# Phone photos: HEIC/HEIF (iPhones, many Androids) through pillow-heif's libheif, AVIF
# through Pillow's own libavif (pillow-heif no longer reads AVIF). In both, the rotation is
# the container's (``irot``/``imir``, which phones write beside the EXIF tag): the HEIF
# standard makes the EXIF tag informative only, so honouring both would turn twice.
# pillow-heif applies the rotation while decoding and resets the EXIF tag to 1; Pillow's
# AVIF plugin sets the EXIF tag from the container, for ``exif_transpose`` below. Only the
# primary image is read: never thumbnails, depth maps or auxiliary images.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
_AVIF = features.check("avif")

SUPPORTED_INPUT_FORMATS: frozenset[str] = frozenset(
    {"JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF", "MPO", "HEIF"} | ({"AVIF"} if _AVIF else set())
)

# Pillow plugins allowed to parse uploads. Restricting them keeps hostile bytes away from
# the rarely fuzzed parsers (and from EPS, which shells out to Ghostscript). MPO is not in
# the list because the JPEG plugin itself recognises multi-picture files. AVIF is tried
# before HEIF: both accept the generic ``mif1`` brand, and libheif here has no AV1 decoder,
# so it would open an AVIF only to fail on its pixels.
_PILLOW_OPENERS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF") + (
    ("AVIF", "HEIF") if _AVIF else ("HEIF",)
)
_EXPECTED = (
    "JPEG, PNG, WebP, BMP, TIFF, GIF, HEIC/HEIF or AVIF expected"
    if _AVIF
    else "JPEG, PNG, WebP, BMP, TIFF, GIF or HEIC/HEIF expected"
)

_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

# zlib's fastest level for PNG results: a stylized picture is all texture, which no
# level compresses much, and level 6 (zlib's default) spent 3x the time for 6 % fewer
# bytes (a 1024-px result: 234 against 82 ms, the engine's own call 451 ms on a Zen 4;
# ``bench/codec.py --encode``).
PNG_COMPRESS_LEVEL = 1
_CONTENT_TYPES: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_MAX_ENCODABLE_SIDE: dict[str, int] = {"jpeg": 65_500, "webp": 16_383}


@dataclass(frozen=True)
class ImageLimits:
    """Ceilings checked before any pixel is decoded, so a small upload cannot claim gigabytes."""

    max_bytes: int = 25 * 1024 * 1024  # encoded size
    max_pixels: int = 50_000_000  # width * height; above this = decompression bomb
    max_side: int = 12_000  # either dimension


DEFAULT_LIMITS = ImageLimits()


def decode_image(
    data: bytes,
    *,
    field: str = "image",
    limits: ImageLimits = DEFAULT_LIMITS,
    longest: int | None = None,
) -> Image.Image:
    """Decode untrusted bytes into an upright ``RGB`` image (first frame if animated).

    ``longest``: the size the caller wants it at. The image comes back resized as
    ``resize_longest(decode_image(data), longest)`` would, sooner for a large JPEG: it is
    decoded at the coarsest of its DCT scales (1/2, 1/4, 1/8) that still leaves
    ``DRAFT_MARGIN`` times the wanted size, which the resampling then brings down as
    before. Phones upload 12–50 MP; for a 512-px job most of decoding one was wasted
    (``bench/RESULTS.md``, "Decoding at the size a job needs").
    """
    return _decode(data, field, limits, "RGB", longest)


def load_image(
    path: str | os.PathLike[str],
    *,
    field: str = "image",
    limits: ImageLimits = DEFAULT_LIMITS,
    longest: int | None = None,
) -> Image.Image:
    """``decode_image`` for a file; the size limit is checked before the file is read."""
    return decode_image(
        _read_file(path, field, limits), field=field, limits=limits, longest=longest
    )


def decode_mask(
    data: bytes, *, field: str = "mask", limits: ImageLimits = DEFAULT_LIMITS
) -> Image.Image:
    """Decode a spatial-control mask into an upright single-channel ``L`` image.

    Transparent areas become white (as in ``decode_image``) before the luminance is taken.
    """
    return _decode(data, field, limits, "L")


def load_mask(
    path: str | os.PathLike[str], *, field: str = "mask", limits: ImageLimits = DEFAULT_LIMITS
) -> Image.Image:
    """``decode_mask`` for a file."""
    return decode_mask(_read_file(path, field, limits), field=field, limits=limits)


def probe_image(
    data: bytes, *, field: str = "image", limits: ImageLimits = DEFAULT_LIMITS
) -> tuple[str, int, int]:
    """Return ``(format, width, height)`` of an upload the worker will be able to decode.

    For the API: the header is checked against ``limits`` first, then the whole stream is
    decoded so truncated files are refused at upload time. JPEGs decode at 1/8 scale,
    which still reads every byte of the entropy-coded data but skips most of the work.
    Width and height are the upright ones, as ``decode_image`` will return them.
    """
    with _open(data, field, limits) as image:
        width, height = _upright_size(image)
        with _pillow_errors(field, "cannot decode the image"):
            image.draft(None, (1, 1))  # no-op for formats other than JPEG
        _load(image, field)
        return image.format or "", width, height


def resize_longest(image: Image.Image, size: int | None) -> Image.Image:
    """Scale so the longest side is exactly ``size`` pixels, keeping the aspect ratio.

    ``None`` (or a size the image already has) returns ``image`` itself. The short side is
    rounded and never below 1 px. Lanczos when shrinking, with ``reducing_gap`` so big
    shrinks first take a cheap box reduction (visually identical at 3.0); bicubic when
    enlarging, where Lanczos rings.
    """
    _check_longest(size)
    return _resample(image, resized_size(image.size, size))


def _check_longest(size: int | None) -> None:
    if size is not None and size < 1:
        raise InvalidParameter(f"size must be at least 1 pixel, got {size}", field="size")


def _resample(image: Image.Image, new_size: tuple[int, int]) -> Image.Image:
    """``image`` at ``new_size`` (``resize_longest``'s filters)."""
    if new_size == image.size:
        return image
    if max(new_size) < max(image.size):
        return image.resize(new_size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return image.resize(new_size, Image.Resampling.BICUBIC)


def encode_image(
    image: Image.Image, format: OutputFormat, quality: int = 90, *, smallest: bool = False
) -> bytes:
    """Encode as PNG, JPEG or WebP from RGB (alpha flattened onto white), without metadata.

    PNG is written at ``PNG_COMPRESS_LEVEL``, or with ``smallest`` at zlib's best level
    (about 6 % fewer bytes, 3x the time), for a result that would not fit otherwise.

    JPEG keeps full 4:4:4 chroma at quality 90 and above, where 4:2:0 would visibly smear
    the fine colour texture style transfer produces; below 90 it halves chroma for size.
    ``quality`` is ignored for PNG.
    """
    if format not in _CONTENT_TYPES:
        raise InvalidParameter(_unknown_format(format), field="format")
    if not 1 <= quality <= 100:
        raise InvalidParameter(f"quality must be 1..100, got {quality}", field="quality")
    limit = _MAX_ENCODABLE_SIDE.get(format)
    if limit is not None and max(image.size) > limit:
        raise InvalidParameter(
            f"{format} cannot hold a {image.width}x{image.height} image (at most {limit} "
            "pixels per side); use png or a smaller size",
            field="format",
        )
    rgb = _flatten(image).convert("RGB")
    rgb.info = {}  # PNG would otherwise copy an ICC profile from info
    buffer = io.BytesIO()
    if format == "png":
        level = 9 if smallest else PNG_COMPRESS_LEVEL
        rgb.save(buffer, "PNG", optimize=False, compress_level=level)
    elif format == "jpeg":
        subsampling = "4:2:0" if quality < 90 else "4:4:4"
        rgb.save(buffer, "JPEG", quality=quality, subsampling=subsampling, progressive=False)
    else:
        rgb.save(buffer, "WEBP", quality=quality, method=4)
    return buffer.getvalue()


def content_type(format: OutputFormat) -> str:
    """The MIME type of an output format, for the HTTP response and stored results."""
    try:
        return _CONTENT_TYPES[format]
    except KeyError:
        raise InvalidParameter(_unknown_format(format), field="format") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB, transparency composited onto white: what every decoded upload becomes
    (also each frame of an animated GIF or WebP)."""
    return _flatten(image).convert("RGB")


# --- decoding -------------------------------------------------------------------------


def _read_file(path: str | os.PathLike[str], field: str, limits: ImageLimits) -> bytes:
    try:
        with open(path, "rb") as file:
            _check_byte_size(os.fstat(file.fileno()).st_size, field, limits)
            return file.read(limits.max_bytes + 1)
    except OSError as exc:
        raise InvalidImage(
            f"cannot read {os.fspath(path)}: {exc.strerror or exc}", field=field
        ) from exc


# How much larger than the wanted size a JPEG is decoded (``decode_image``): its DCT
# scaling averages blocks of pixels without the Lanczos filter's care, so a margin is
# left to the resampling, as Pillow's thumbnail() does. At 2 a large photo brought to
# 512 or 1024 px lands 48–57 dB PSNR from decoding it whole (``bench/codec.py``).
DRAFT_MARGIN = 2


def _decode(
    data: bytes,
    field: str,
    limits: ImageLimits,
    mode: Literal["RGB", "L"],
    longest: int | None = None,
) -> Image.Image:
    """Decode the first frame, turn it upright and convert it to ``mode``; with ``longest``,
    at the size ``resize_longest`` gives it (see ``decode_image``)."""
    _check_longest(longest)
    with _open(data, field, limits) as image:
        wanted = None
        if longest is not None:
            upright = _upright_size(image)
            wanted = resized_size(upright, longest)
            if max(wanted) < max(upright):
                # draft() takes the stored orientation's box; an EXIF quarter turn swaps it.
                w, h = wanted if upright == image.size else wanted[::-1]
                with _pillow_errors(field, "cannot decode the image"):
                    image.draft(None, (DRAFT_MARGIN * w, DRAFT_MARGIN * h))  # JPEG only
        _load(image, field)
        with _tolerating_bad_exif():
            ImageOps.exif_transpose(image, in_place=True)
        with _pillow_errors(field, f"unusable {image.mode} pixels"):
            result = _flatten(image).convert(mode)
    result.info = {}  # EXIF (GPS!), ICC and comments of the upload stay behind
    if wanted is None:
        return result
    if (result.width >= result.height) != (wanted[0] >= wanted[1]):
        wanted = resized_size(result.size, longest)  # an EXIF turn that could not be applied
    # From the upload's own size, not the draft's: the same size as without the draft.
    return _resample(result, wanted)


def _open(data: bytes, field: str, limits: ImageLimits) -> Image.Image:
    """Parse only the header (Pillow is lazy) and refuse oversized images before decoding."""
    if not data:
        raise InvalidImage(f"empty (0 bytes); {_EXPECTED}", field=field)
    _check_byte_size(len(data), field, limits)
    with _pillow_errors(field, f"not a decodable image ({_EXPECTED})"):
        image = Image.open(io.BytesIO(data), formats=_PILLOW_OPENERS)
    width, height = image.size
    if width > limits.max_side or height > limits.max_side:
        raise ImageTooLarge(
            f"{width}x{height} pixels is over the limit of {limits.max_side} pixels per side",
            field=field,
        )
    if width * height > limits.max_pixels:
        raise ImageTooLarge(
            f"{width}x{height} = {width * height:,} pixels is over the limit of "
            f"{limits.max_pixels:,} pixels",
            field=field,
        )
    return image


def _load(image: Image.Image, field: str) -> None:
    """Decode every pixel now, so a truncated upload fails here and not inside a job."""
    with _pillow_errors(field, f"truncated or corrupt {image.format} data"):
        image.load()


def _check_byte_size(size: int, field: str, limits: ImageLimits) -> None:
    if size > limits.max_bytes:
        raise ImageTooLarge(
            f"{size:,} bytes is over the limit of {limits.max_bytes:,} bytes", field=field
        )


@contextlib.contextmanager
def _pillow_errors(field: str, problem: str) -> Iterator[None]:
    """Map every way Pillow can fail on hostile bytes to one typed error.

    Pillow's decoders raise a zoo of exceptions on bad input (OSError, SyntaxError,
    ValueError, EOFError, struct.error, IndexError, ...): all mean "unusable image". Its
    decompression-bomb warning (over ``Image.MAX_IMAGE_PIXELS``, left at Pillow's default)
    is made an error here only, never globally.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(
                f"refused as a possible decompression bomb: {exc}", field=field
            ) from exc
        except UnidentifiedImageError as exc:  # its message only repeats the BytesIO repr
            raise InvalidImage(problem, field=field) from exc
        except MemoryError:
            raise
        except Exception as exc:
            raise InvalidImage(f"{problem}: {exc}", field=field) from exc


@contextlib.contextmanager
def _tolerating_bad_exif() -> Iterator[None]:
    """Ignore a corrupt EXIF block: the photo stays as stored and Pillow's warnings stay
    out of the logs, because bad metadata must not cost the user an otherwise good upload.
    """
    with warnings.catch_warnings(), contextlib.suppress(Exception):
        warnings.simplefilter("ignore")
        yield


def _upright_size(image: Image.Image) -> tuple[int, int]:
    """The size after EXIF orientation, read from the header without decoding."""
    width, height = image.size
    with _tolerating_bad_exif():
        if image.getexif().get(ExifTags.Base.Orientation) in (5, 6, 7, 8):  # quarter turns
            return height, width
    return width, height


# --- pixel modes ----------------------------------------------------------------------


def _flatten(image: Image.Image) -> Image.Image:
    """Bring high bit depths down to 8 bits and composite transparency onto white.

    Every other mode (CMYK, YCbCr, LAB, HSV, P, 1, L) is left to Pillow's ``convert``.
    """
    if image.mode in _HIGH_DEPTH_MODES:
        image = _scale_to_8_bits(image)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        image = _over_white(image)
    return image


def _over_white(image: Image.Image) -> Image.Image:
    """Composite onto white: a transparent background should read as paper, not black."""
    if image.mode == "La":  # premultiplied: Pillow only converts it to LA
        image = image.convert("LA")
    rgba = image.convert("RGBA")  # also applies a P, L or RGB image's transparency key
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _scale_to_8_bits(image: Image.Image) -> Image.Image:
    """Map 16-bit, 32-bit integer and float pixels onto 0..255 ``L``, rounding, not clipping.

    The input range is fixed when the data allows it, so equal values decode equally in
    every image: ``I;16*`` spans 0..65535 (divide by 257); ``I`` within 0..65535 is
    treated as 16-bit (Pillow's older PNG mode); ``F`` within 0..1 is a unit float image
    and within 0..255 an 8-bit one. Data outside those ranges is stretched from its
    minimum to its maximum. A tRNS key on such images is dropped (it names a 16-bit value).
    """
    if image.mode.startswith("I;16"):
        low, high = 0.0, 65535.0
    else:
        low, high = image.getextrema()
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError("infinite or NaN values")
        if image.mode == "I" and low >= 0 and high <= 65535:
            low, high = 0.0, 65535.0
        elif image.mode == "F" and low >= 0 and high <= 1:
            low, high = 0.0, 1.0
        elif image.mode == "F" and low >= 0 and high <= 255:
            low, high = 0.0, 255.0
    scale = 255 / (high - low) if high > low else 0.0
    offset = 0.5 - low * scale  # +0.5 because Pillow's F -> L conversion truncates
    gray = image.convert("F").point(lambda v: v * scale + offset).convert("L")
    gray.info = {}
    return gray


def _unknown_format(format: str) -> str:
    return f"unknown output format {format!r}; use one of {', '.join(_CONTENT_TYPES)}"
