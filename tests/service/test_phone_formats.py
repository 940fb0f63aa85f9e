"""Phone photos (HEIC/HEIF, AVIF) are accepted like any other image: recognised by their
bytes, checked against the same limits before anything is queued, and stylized upright."""

import io
import struct

import pytest
from PIL import Image
from redis import Redis

from service.uploads import sniff
from tests.support.paths import CONTENT

HEIC, AVIF = "image/heic", "image/avif"


def _encode(image: Image.Image, format: str, orientation: int | None = None) -> bytes:
    """``image`` as HEIF or AVIF; an EXIF orientation is also written as the container's
    rotation (``irot``), as phones do."""
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    buffer = io.BytesIO()
    image.save(buffer, format, exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def _sideways_chicago_heic() -> bytes:
    """chicago.jpg (712x474) turned a quarter, as a phone in portrait stores it: the pixels
    on their side, EXIF Orientation 8 and ``irot`` saying how to stand them up."""
    sideways = Image.open(CONTENT).convert("RGB").transpose(Image.Transpose.ROTATE_270)
    return _encode(sideways, "HEIF", orientation=8)


def _queued(redis: Redis, prefix: str) -> int:
    return redis.llen(f"rq:queue:{prefix}:fast") + redis.llen(f"rq:queue:{prefix}:slow")


@pytest.mark.parametrize(
    ("format", "expected"),
    [("HEIF", "HEIF"), ("AVIF", "AVIF")],
)
def test_sniff_names_heic_and_avif_by_their_ftyp_brands(format, expected):
    assert sniff(_encode(Image.new("RGB", (16, 16)), format)) == expected


def test_sniff_reads_avif_behind_the_generic_mif1_brand():
    data = bytearray(_encode(Image.new("RGB", (16, 16)), "AVIF"))
    data[8:12] = b"mif1"  # compatible brands still say avif

    assert sniff(bytes(data)) == "AVIF"


def test_sniff_refuses_an_iso_bmff_file_of_another_kind():
    canon_raw = struct.pack(">I", 24) + b"ftypcrx " + b"\x00\x00\x00\x01" + b"crx isom"

    assert sniff(canon_raw) is None


def test_a_sideways_heic_photo_is_stylized_upright(api):
    response = api.submit(
        content=("IMG_0001.HEIC", _sideways_chicago_heic(), HEIC), headers={"Prefer": "wait=60"}
    )

    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded", job
    result = Image.open(io.BytesIO(api.client.get(job["links"]["result"]).content))
    assert result.size == (128, 85)  # upright chicago is 712x474, stored as 474x712
    assert (job["result"]["width"], job["result"]["height"]) == (128, 85)


def test_an_avif_style_is_stylized_with(api):
    style = _encode(Image.open(CONTENT).convert("RGB").resize((200, 133)), "AVIF")

    response = api.submit(styles=[("style.avif", style, AVIF)], headers={"Prefer": "wait=60"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded", response.json()


@pytest.mark.parametrize("format", ["HEIF", "AVIF"])
def test_a_phone_photo_sent_as_octet_stream_is_recognised_by_its_bytes(api_without_worker, format):
    data = _encode(Image.open(CONTENT).convert("RGB"), format)

    response = api_without_worker.submit(content=("photo", data, "application/octet-stream"))

    assert response.status_code == 202, response.text


def test_a_heic_style_upload_reports_its_format_and_upright_size(api_without_worker):
    response = api_without_worker.client.post(
        "/styles", files={"style": ("style.heic", _sideways_chicago_heic(), HEIC)}
    )

    assert response.status_code == 201, response.text
    assert response.json() | {"format": "HEIF", "width": 712, "height": 474} == response.json()


def test_a_heic_claiming_too_many_pixels_is_422_before_anything_is_queued(
    api_without_worker, redis, prefix
):
    # A real 64x64 HEIC whose header (``ispe``) claims 8000x6000: refused from the header.
    data = bytearray(_encode(Image.new("RGB", (64, 64), (200, 0, 0)), "HEIF"))
    box = data.find(b"ispe")
    data[box + 8 : box + 16] = struct.pack(">II", 8_000, 6_000)

    response = api_without_worker.submit(content=("bomb.heic", bytes(data), HEIC))

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("image_too_large", "content")
    assert "48,000,000 pixels" in error["message"]
    assert _queued(redis, prefix) == 0


def test_a_truncated_heic_is_422(api_without_worker):
    data = _encode(Image.open(CONTENT).convert("RGB"), "HEIF")

    response = api_without_worker.submit(content=("cut.heic", data[: len(data) // 2], HEIC))

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_image"
