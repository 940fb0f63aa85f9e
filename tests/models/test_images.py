"""Decoding untrusted uploads, pixel-mode conversion, resizing and encoding results."""

import io
import random
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import Image, ImageFile
from PIL.JpegImagePlugin import get_sampling

from models.errors import ImageTooLarge, InvalidImage, InvalidParameter
from models.images import (
    SUPPORTED_INPUT_FORMATS,
    ImageLimits,
    content_type,
    decode_image,
    decode_mask,
    encode_image,
    load_image,
    load_mask,
    probe_image,
    resize_longest,
)
from tests.support.paths import TESTDATA

CORNELL = TESTDATA / "content" / "cornell.jpg"
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)
# Limits above Pillow's own decompression-bomb threshold, to reach that check.
PAST_PILLOW_LIMIT = ImageLimits(max_pixels=10**9, max_side=20_000)


def _save(image: Image.Image, format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **params)
    return buffer.getvalue()


def _gray(mode: str, values: list[float]) -> Image.Image:
    """A one-row image of ``mode`` holding ``values``."""
    image = Image.new(mode, (len(values), 1))
    for x, value in enumerate(values):
        image.putpixel((x, 0), value)
    return image


def _row(image: Image.Image) -> list[float | tuple[int, ...]]:
    return [image.getpixel((x, 0)) for x in range(image.width)]


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` RGB pixels but carries almost no data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def _sideways_jpeg() -> bytes:
    """A 40x20 JPEG, red on its left quarter, tagged EXIF Orientation 6 (rotate 90° CW)."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(image, "JPEG", exif=exif, quality=95)


def _close(actual: tuple[int, ...], expected: tuple[int, ...], tolerance: int = 8) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


# --- formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("format", sorted(SUPPORTED_INPUT_FORMATS))
def test_every_supported_format_decodes_to_rgb_and_probes_under_its_name(format: str) -> None:
    red, blue = Image.new("RGB", (16, 8), RED), Image.new("RGB", (16, 8), BLUE)
    # A single-frame MPO is saved as a plain JPEG; two frames make it a real one.
    frames = {"save_all": True, "append_images": [blue]} if format == "MPO" else {}
    data = _save(red, format, **frames)

    image = decode_image(data)

    assert (image.mode, image.size) == ("RGB", (16, 8))
    assert _close(image.getpixel((8, 4)), RED)
    assert probe_image(data) == (format, 16, 8)


def test_unsupported_format_is_invalid_image_naming_the_expected_formats() -> None:
    data = _save(Image.new("RGB", (4, 4), RED), "PPM")

    with pytest.raises(InvalidImage, match="not a decodable image .*JPEG, PNG"):
        decode_image(data)


def test_the_real_photo_decodes_to_its_size_and_survives_a_png_round_trip() -> None:
    photo = decode_image(CORNELL.read_bytes())

    again = decode_image(encode_image(photo, "png"))

    assert (photo.mode, photo.size) == ("RGB", (729, 512))
    assert again.tobytes() == photo.tobytes()


def test_load_image_reads_the_same_pixels_as_decode_image() -> None:
    assert load_image(CORNELL).tobytes() == decode_image(CORNELL.read_bytes()).tobytes()


@pytest.mark.parametrize("format", ["GIF", "WEBP"])
def test_animated_images_use_their_first_frame(format: str) -> None:
    frames = [Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 8), BLUE)]
    data = _save(frames[0], format, save_all=True, append_images=frames[1:], lossless=True)

    assert decode_image(data).getpixel((4, 4)) == RED


# --- pixel modes ------------------------------------------------------------------------


def test_rgba_transparent_pixels_become_white() -> None:
    image = Image.new("RGBA", (2, 1), (0, 0, 0, 0))

    assert decode_image(_save(image, "PNG")).getpixel((0, 0)) == WHITE


def test_rgba_half_transparent_pixels_blend_with_white() -> None:
    image = Image.new("RGBA", (2, 1), (0, 0, 0, 128))

    assert _close(decode_image(_save(image, "PNG")).getpixel((0, 0)), (127, 127, 127), 1)


def test_rgba_opaque_pixels_keep_their_colour() -> None:
    image = Image.new("RGBA", (2, 1), (10, 20, 30, 255))

    assert decode_image(_save(image, "PNG")).getpixel((0, 0)) == (10, 20, 30)


def test_la_transparent_pixels_become_white() -> None:
    image = Image.new("LA", (2, 1), (0, 0))

    assert decode_image(_save(image, "PNG")).getpixel((0, 0)) == WHITE


def test_palette_transparency_index_becomes_white() -> None:
    image = Image.new("P", (2, 1), 0)
    image.putpalette([0, 0, 0, *RED])
    image.putpixel((1, 0), 1)

    decoded = decode_image(_save(image, "PNG", transparency=0))

    assert _row(decoded) == [WHITE, RED]


def test_rgb_transparency_key_colour_becomes_white() -> None:
    image = Image.new("RGB", (2, 1), (1, 2, 3))
    image.putpixel((1, 0), RED)

    decoded = decode_image(_save(image, "PNG", transparency=(1, 2, 3)))

    assert _row(decoded) == [WHITE, RED]


def test_cmyk_converts_to_rgb() -> None:
    image = Image.new("CMYK", (2, 1), (0, 0, 0, 0))
    image.putpixel((1, 0), (255, 0, 0, 0))  # pure cyan ink

    assert _row(decode_image(_save(image, "TIFF"))) == [WHITE, (0, 255, 255)]


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_grayscale_is_scaled_by_257_not_clipped(mode: str) -> None:
    image = _gray(mode, [0, 257, 32896, 65535])

    decoded = decode_image(_save(image, "TIFF"))

    assert _row(decoded) == [(0, 0, 0), (1, 1, 1), (128, 128, 128), WHITE]


def test_16_bit_png_is_scaled_by_257_not_clipped() -> None:
    image = _gray("I;16", [1000, 65535])

    assert _row(decode_image(_save(image, "PNG"))) == [(4, 4, 4), WHITE]


def test_32_bit_integer_pixels_within_16_bits_scale_like_16_bit() -> None:
    image = _gray("I", [0, 32896, 65535])

    assert _row(decode_image(_save(image, "TIFF"))) == [(0, 0, 0), (128, 128, 128), WHITE]


def test_32_bit_integer_pixels_beyond_16_bits_stretch_from_min_to_max() -> None:
    image = _gray("I", [-100_000, 0, 100_000])

    assert _row(decode_image(_save(image, "TIFF"))) == [(0, 0, 0), (128, 128, 128), WHITE]


def test_float_pixels_within_0_and_1_scale_to_0_and_255() -> None:
    image = _gray("F", [0.0, 0.5, 1.0])

    assert _row(decode_image(_save(image, "TIFF"))) == [(0, 0, 0), (128, 128, 128), WHITE]


def test_float_pixels_within_0_and_255_are_taken_as_8_bit_values() -> None:
    image = _gray("F", [0.0, 99.6, 200.0])

    assert _row(decode_image(_save(image, "TIFF"))) == [(0, 0, 0), (100, 100, 100), (200,) * 3]


def test_float_pixels_outside_0_and_255_stretch_from_min_to_max() -> None:
    image = _gray("F", [-1000.0, 0.0, 1000.0])

    assert _row(decode_image(_save(image, "TIFF"))) == [(0, 0, 0), (128, 128, 128), WHITE]


def test_infinite_float_pixels_are_invalid_image() -> None:
    image = _gray("F", [0.0, float("inf")])

    with pytest.raises(InvalidImage, match="infinite or NaN") as caught:
        decode_image(_save(image, "TIFF"), field="style")
    assert caught.value.field == "style"


def test_grayscale_becomes_rgb_with_equal_channels() -> None:
    image = _gray("L", [0, 77, 255])

    assert _row(decode_image(_save(image, "PNG"))) == [(0, 0, 0), (77, 77, 77), WHITE]


def test_bilevel_image_becomes_black_and_white_rgb() -> None:
    image = _gray("1", [0, 1])

    assert _row(decode_image(_save(image, "PNG"))) == [(0, 0, 0), WHITE]


@pytest.mark.parametrize("mode", ["YCbCr", "LAB"])
def test_ycbcr_and_lab_white_converts_to_rgb_white(mode: str) -> None:
    image = Image.new(mode, (2, 1), (255, 128, 128))  # full luma/lightness, neutral chroma

    assert _close(decode_image(_save(image, "TIFF")).getpixel((0, 0)), WHITE, 2)


# --- orientation and metadata -----------------------------------------------------------


def test_exif_orientation_6_swaps_width_and_height() -> None:
    assert decode_image(_sideways_jpeg()).size == (20, 40)


def test_exif_orientation_6_turns_the_left_edge_to_the_top() -> None:
    upright = decode_image(_sideways_jpeg())

    assert _close(upright.getpixel((10, 2)), RED, 16)
    assert _close(upright.getpixel((10, 37)), BLUE, 16)


def test_corrupt_exif_keeps_the_photo_as_stored() -> None:
    data = _save(Image.new("RGB", (40, 20), RED), "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff")

    assert decode_image(data).size == (40, 20)


def test_decoded_image_carries_no_metadata_from_the_upload() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    data = _save(Image.new("RGB", (8, 8), RED), "JPEG", exif=exif, comment=b"secret")

    assert decode_image(data).info == {}


# --- refusals ---------------------------------------------------------------------------


def test_empty_bytes_are_invalid_image() -> None:
    with pytest.raises(InvalidImage, match="empty") as caught:
        decode_image(b"")
    assert caught.value.field == "image"


def test_random_bytes_are_invalid_image() -> None:
    noise = random.Random(0).randbytes(4096)

    with pytest.raises(InvalidImage, match="not a decodable image") as caught:
        decode_image(noise, field="content")
    assert caught.value.field == "content"


def test_truncated_jpeg_is_invalid_image() -> None:
    data = CORNELL.read_bytes()

    with pytest.raises(InvalidImage, match="truncated") as caught:
        decode_image(data[: len(data) // 2])
    assert type(caught.value) is InvalidImage
    assert caught.value.field == "image"


def test_upload_over_the_byte_limit_is_too_large() -> None:
    data = _save(Image.new("RGB", (64, 64), RED), "BMP")

    with pytest.raises(ImageTooLarge, match=f"{len(data):,} bytes .* 1,000 bytes") as caught:
        decode_image(data, field="style", limits=ImageLimits(max_bytes=1000))
    assert caught.value.field == "style"


def test_side_over_the_limit_is_too_large_naming_both_dimensions() -> None:
    data = _save(Image.new("RGB", (200, 50), RED), "PNG")

    with pytest.raises(ImageTooLarge, match="200x50 .* 100 pixels per side") as caught:
        decode_image(data, limits=ImageLimits(max_side=100))
    assert caught.value.field == "image"


def test_pixel_count_over_the_limit_is_too_large() -> None:
    data = _save(Image.new("RGB", (50, 50), RED), "PNG")

    with pytest.raises(ImageTooLarge, match="2,500 pixels .* 1,000 pixels") as caught:
        decode_image(data, field="content", limits=ImageLimits(max_pixels=1000))
    assert caught.value.field == "content"


def test_pixel_limit_is_checked_from_the_header_before_decoding() -> None:
    # 55 MP claimed, no pixel data: decoding would fail as truncated, not as too large.
    with pytest.raises(ImageTooLarge, match="11000x5000 = 55,000,000 pixels"):
        decode_image(_png_header(11_000, 5_000))


def test_header_claiming_20000_by_20000_is_too_large() -> None:
    with pytest.raises(ImageTooLarge) as caught:
        decode_image(_png_header(20_000, 20_000), field="style")
    assert caught.value.field == "style"


def test_pillow_decompression_bomb_warning_is_too_large() -> None:
    with pytest.raises(ImageTooLarge, match="decompression bomb"):
        decode_image(_png_header(10_000, 9_000), limits=PAST_PILLOW_LIMIT)


def test_decoding_leaves_pillow_and_warning_globals_alone() -> None:
    max_pixels, filters = Image.MAX_IMAGE_PIXELS, list(warnings.filters)

    with pytest.raises(ImageTooLarge):
        decode_image(_png_header(10_000, 9_000), limits=PAST_PILLOW_LIMIT)

    assert max_pixels == Image.MAX_IMAGE_PIXELS
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert warnings.filters == filters


def test_load_image_of_a_missing_file_is_invalid_image(tmp_path: Path) -> None:
    with pytest.raises(InvalidImage, match="cannot read") as caught:
        load_image(tmp_path / "missing.png", field="content")
    assert caught.value.field == "content"


def test_load_image_over_the_byte_limit_reports_the_file_size(tmp_path: Path) -> None:
    path = tmp_path / "big.bmp"
    path.write_bytes(_save(Image.new("RGB", (64, 64), RED), "BMP"))

    with pytest.raises(ImageTooLarge, match=f"{path.stat().st_size:,} bytes"):
        load_image(path, limits=ImageLimits(max_bytes=1000))


# --- masks ------------------------------------------------------------------------------


def test_mask_is_a_single_channel_l_image() -> None:
    mask = decode_mask(_save(Image.new("RGB", (6, 4), WHITE), "PNG"))

    assert (mask.mode, mask.size, mask.getpixel((0, 0))) == ("L", (6, 4), 255)


def test_mask_transparent_areas_become_white() -> None:
    image = Image.new("LA", (2, 1), (0, 255))
    image.putpixel((1, 0), (0, 0))

    assert _row(decode_mask(_save(image, "PNG"))) == [0, 255]


def test_mask_16_bit_values_are_scaled_not_clipped() -> None:
    image = _gray("I;16", [0, 32896, 65535])

    assert _row(decode_mask(_save(image, "PNG"))) == [0, 128, 255]


def test_mask_errors_name_the_mask_field() -> None:
    with pytest.raises(InvalidImage) as caught:
        decode_mask(b"not an image")
    assert caught.value.field == "mask"


def test_load_mask_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mask.png"
    path.write_bytes(_save(_gray("L", [0, 200]), "PNG"))

    assert _row(load_mask(path)) == [0, 200]


# --- probe ------------------------------------------------------------------------------


def test_probe_image_reports_format_and_size_of_the_real_photo() -> None:
    assert probe_image(CORNELL.read_bytes()) == ("JPEG", 729, 512)


def test_probe_image_reports_the_upright_size() -> None:
    assert probe_image(_sideways_jpeg()) == ("JPEG", 20, 40)


def test_probe_image_refuses_a_truncated_jpeg() -> None:
    data = CORNELL.read_bytes()

    with pytest.raises(InvalidImage, match="truncated") as caught:
        probe_image(data[: len(data) - 200], field="content")
    assert caught.value.field == "content"


def test_probe_image_applies_the_limits() -> None:
    data = _save(Image.new("RGB", (200, 50), RED), "PNG")

    with pytest.raises(ImageTooLarge, match="200x50"):
        probe_image(data, limits=ImageLimits(max_side=100))


# --- phone formats: HEIC/HEIF (pillow-heif) and AVIF (Pillow) ----------------------------

PHONE_FORMATS = ["HEIF", "AVIF"]


def _sideways_phone_photo(format: str) -> bytes:
    """40x20, red on its left quarter, turned as a phone stores it: EXIF Orientation 6 and
    the container's own rotation (``irot``), which both encoders write from EXIF bytes."""
    image = Image.new("RGB", (40, 20), BLUE)
    image.paste(RED, (0, 0, 10, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _save(image, format, exif=exif.tobytes(), quality=90)
    assert b"irot" in data
    return data


def _claiming_size(format: str, width: int, height: int) -> bytes:
    """A real 64x64 image whose ``ispe`` box (the image's declared size) is rewritten to
    ``width`` x ``height``: decoding it would fail, as the pixels do not match."""
    data = bytearray(_save(Image.new("RGB", (64, 64), RED), format))
    box = data.find(b"ispe")
    assert struct.unpack(">II", data[box + 8 : box + 16]) == (64, 64)
    data[box + 8 : box + 16] = struct.pack(">II", width, height)
    return bytes(data)


def test_heic_and_avif_are_supported_input_formats() -> None:
    assert {"HEIF", "AVIF"} <= SUPPORTED_INPUT_FORMATS


@pytest.mark.parametrize("format", PHONE_FORMATS)
def test_phone_photo_orientation_turns_the_left_edge_to_the_top(format: str) -> None:
    upright = decode_image(_sideways_phone_photo(format))

    assert upright.size == (20, 40)
    assert _close(upright.getpixel((10, 2)), RED, 16)
    assert _close(upright.getpixel((10, 37)), BLUE, 16)


@pytest.mark.parametrize("format", PHONE_FORMATS)
def test_phone_photo_probes_under_its_name_with_the_upright_size(format: str) -> None:
    assert probe_image(_sideways_phone_photo(format)) == (format, 20, 40)


@pytest.mark.parametrize("format", PHONE_FORMATS)
def test_phone_photo_carries_no_metadata_from_the_upload(format: str) -> None:
    assert decode_image(_sideways_phone_photo(format)).info == {}


def test_the_real_photo_survives_a_heic_round_trip() -> None:
    photo = decode_image(CORNELL.read_bytes())

    again = decode_image(_save(photo, "HEIF", quality=95))

    assert again.size == photo.size
    difference = [abs(a - b) for a, b in zip(again.tobytes(), photo.tobytes(), strict=True)]
    assert sum(difference) / len(difference) < 4  # lossy, but the same picture


def test_avif_with_the_generic_mif1_brand_is_read_as_avif() -> None:
    # libheif here has no AV1 decoder: were HEIF tried first, it would open the file and
    # then fail on the pixels.
    data = bytearray(_save(Image.new("RGB", (16, 8), RED), "AVIF"))
    assert data[4:12] == b"ftypavif"
    data[8:12] = b"mif1"

    assert probe_image(bytes(data)) == ("AVIF", 16, 8)
    assert _close(decode_image(bytes(data)).getpixel((8, 4)), RED)


@pytest.mark.parametrize("format", PHONE_FORMATS)
def test_phone_photo_pixel_limit_is_checked_from_the_header_before_decoding(format: str) -> None:
    data = _claiming_size(format, 11_000, 5_000)

    with pytest.raises(ImageTooLarge, match="11000x5000 = 55,000,000 pixels") as caught:
        decode_image(data, field="content")
    assert caught.value.field == "content"
    with pytest.raises(ImageTooLarge, match="11000x5000"):
        probe_image(data)


def test_heic_side_over_the_limit_is_too_large() -> None:
    data = _save(Image.new("RGB", (128, 64), RED), "HEIF")

    with pytest.raises(ImageTooLarge, match="128x64 .* 100 pixels per side"):
        decode_image(data, limits=ImageLimits(max_side=100))


def test_heic_over_the_byte_limit_is_too_large() -> None:
    data = _save(Image.new("RGB", (64, 64), RED), "HEIF")

    with pytest.raises(ImageTooLarge, match=f"{len(data):,} bytes"):
        decode_image(data, limits=ImageLimits(max_bytes=len(data) - 1))


def test_heic_claiming_20000_by_20000_is_a_decompression_bomb() -> None:
    with pytest.raises(ImageTooLarge, match="decompression bomb"):
        decode_image(_claiming_size("HEIF", 20_000, 20_000), limits=PAST_PILLOW_LIMIT)


@pytest.mark.parametrize("format", PHONE_FORMATS)
def test_truncated_phone_photo_is_invalid_image(format: str) -> None:
    data = _save(decode_image(CORNELL.read_bytes()), format)

    with pytest.raises(InvalidImage) as caught:
        decode_image(data[: len(data) // 2], field="style")
    assert caught.value.field == "style"


# --- resizing ---------------------------------------------------------------------------


def test_resize_to_none_returns_the_image_unchanged() -> None:
    image = Image.new("RGB", (729, 512))

    assert resize_longest(image, None) is image


@pytest.mark.parametrize(
    ("size", "target", "expected"),
    [
        ((729, 512), 333, (333, 234)),
        ((512, 729), 333, (234, 333)),
        ((729, 512), 1001, (1001, 703)),
        ((3, 5), 10, (6, 10)),
        ((1, 1), 7, (7, 7)),
    ],
)
def test_resize_sets_the_longest_side_exactly_and_keeps_the_aspect_ratio(
    size: tuple[int, int], target: int, expected: tuple[int, int]
) -> None:
    assert resize_longest(Image.new("RGB", size), target).size == expected


def test_resize_keeps_a_thin_side_at_least_one_pixel() -> None:
    assert resize_longest(Image.new("RGB", (1000, 1)), 10).size == (10, 1)


def test_resize_of_a_uniform_image_keeps_its_colour() -> None:
    resized = resize_longest(Image.new("RGB", (729, 512), RED), 100)

    assert resized.getpixel((50, 35)) == RED


def test_resize_to_zero_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter) as caught:
        resize_longest(Image.new("RGB", (4, 4)), 0)
    assert caught.value.field == "size"


# --- encoding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("format", "magic", "mime"),
    [
        ("png", b"\x89PNG", "image/png"),
        ("jpeg", b"\xff\xd8", "image/jpeg"),
        ("webp", b"RIFF", "image/webp"),
    ],
)
def test_encode_round_trips_with_the_matching_content_type(
    format: str, magic: bytes, mime: str
) -> None:
    photo = load_image(CORNELL)

    data = encode_image(photo, format)
    again = decode_image(data)

    assert data.startswith(magic)
    assert content_type(format) == mime
    assert again.size == photo.size
    assert _close(again.resize((1, 1)).getpixel((0, 0)), photo.resize((1, 1)).getpixel((0, 0)), 2)


@pytest.mark.parametrize("format", ["png", "jpeg", "webp"])
@pytest.mark.parametrize("size", [(1, 1), (3, 5)])
def test_tiny_images_decode_resize_and_encode(format: str, size: tuple[int, int]) -> None:
    image = decode_image(_save(Image.new("RGB", size, RED), "PNG"))

    again = decode_image(encode_image(resize_longest(image, 7), format))

    assert again.size == resize_longest(image, 7).size
    assert _close(again.getpixel((0, 0)), RED, 40)  # lossy codecs on tiny images drift a little


@pytest.mark.parametrize(("quality", "sampling"), [(90, 0), (95, 0), (89, 2), (75, 2)])
def test_jpeg_keeps_full_chroma_from_quality_90(quality: int, sampling: int) -> None:
    data = encode_image(Image.new("RGB", (16, 16), RED), "jpeg", quality=quality)

    assert get_sampling(Image.open(io.BytesIO(data))) == sampling  # 0 = 4:4:4, 2 = 4:2:0


def test_encode_flattens_transparency_onto_white() -> None:
    image = Image.new("RGBA", (2, 2), (0, 0, 0, 0))

    assert decode_image(encode_image(image, "png")).getpixel((0, 0)) == WHITE


def test_encode_converts_other_modes_to_rgb() -> None:
    image = Image.new("HSV", (2, 2), (0, 255, 255))  # hue 0, full saturation and value

    assert decode_image(encode_image(image, "png")).getpixel((0, 0)) == RED


def test_encode_writes_no_icc_profile_or_exif() -> None:
    image = Image.new("RGB", (4, 4), RED)
    image.info["icc_profile"] = b"not really a profile"

    reopened = Image.open(io.BytesIO(encode_image(image, "png")))

    assert "icc_profile" not in reopened.info
    assert not reopened.getexif()


def test_encode_to_an_unknown_format_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="unknown output format 'gif'") as caught:
        encode_image(Image.new("RGB", (4, 4)), "gif")  # type: ignore[arg-type]
    assert caught.value.field == "format"


def test_content_type_of_an_unknown_format_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter) as caught:
        content_type("bmp")  # type: ignore[arg-type]
    assert caught.value.field == "format"


def test_encode_quality_out_of_range_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter) as caught:
        encode_image(Image.new("RGB", (4, 4)), "jpeg", quality=0)
    assert caught.value.field == "quality"


def test_webp_wider_than_16383_pixels_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameter, match="at most 16383") as caught:
        encode_image(Image.new("RGB", (16_384, 1)), "webp")
    assert caught.value.field == "format"


def _psnr(a: Image.Image, b: Image.Image) -> float:
    import numpy as np

    error = np.mean((np.asarray(a, float) - np.asarray(b, float)) ** 2)
    return float("inf") if error == 0 else float(10 * np.log10(255**2 / error))


@pytest.fixture(scope="module")
def large_jpeg() -> tuple[bytes, Image.Image]:
    """A 2400x1600 photo JPEG (cornell, enlarged) and its full decode."""
    photo = load_image(CORNELL).resize((2400, 1600), Image.Resampling.BICUBIC)
    data = _save(photo, "JPEG", quality=92)
    return data, decode_image(data)


@pytest.mark.parametrize("longest", [512, 300, 150])  # DCT scales 1/2, 1/4, 1/8
def test_a_large_jpeg_decodes_at_the_size_asked_as_resizing_it_would(large_jpeg, longest):
    data, whole = large_jpeg
    expected = resize_longest(whole, longest)
    fast = decode_image(data, longest=longest)
    assert fast.size == expected.size and fast.mode == "RGB"
    assert _psnr(fast, expected) > 40
    # Not the same bytes: it was decoded at a reduced DCT scale, not whole and resized.
    assert fast.tobytes() != expected.tobytes()


def test_a_turned_jpeg_decodes_upright_at_the_size_asked(large_jpeg):
    data, whole = large_jpeg
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise: stored 2400x1600, upright 1600x2400
    turned = _save(whole, "JPEG", exif=exif, quality=92)
    expected = resize_longest(decode_image(turned), 600)
    fast = decode_image(turned, longest=600)
    assert fast.size == expected.size == (400, 600)
    assert _psnr(fast, expected) > 40


@pytest.mark.parametrize("longest", [150, 2000])
def test_other_formats_and_enlargements_come_back_as_resize_longest_makes_them(longest):
    photo = load_image(CORNELL)
    for data in (_save(photo, "PNG"), _save(photo, "JPEG", quality=90)):
        if data.startswith(b"\xff\xd8") and longest < max(photo.size):
            continue  # a JPEG shrunk is the draft's case, above
        expected = resize_longest(decode_image(data), longest)
        assert decode_image(data, longest=longest).tobytes() == expected.tobytes()


def test_a_longest_side_below_one_pixel_is_refused():
    with pytest.raises(InvalidParameter, match="at least 1 pixel"):
        decode_image(_save(Image.new("RGB", (8, 8), RED), "PNG"), longest=0)


def test_the_smallest_png_holds_the_same_pixels_in_fewer_bytes():
    photo = load_image(CORNELL)
    fast, small = encode_image(photo, "png"), encode_image(photo, "png", smallest=True)
    assert len(small) < len(fast)
    assert decode_image(small).tobytes() == decode_image(fast).tobytes() == photo.tobytes()
