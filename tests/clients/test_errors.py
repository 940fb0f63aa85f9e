"""Each error the API answers with reaches the caller as its typed exception, with the
field to fix and, where the server says when to come back, ``retry_after``."""

import io
import struct
import zlib

import pytest
from stylize_client import (
    AuthenticationError,
    Client,
    ImageTooLargeError,
    InvalidImageError,
    InvalidMaskError,
    InvalidParameterError,
    JobCanceledError,
    JobNotFinishedError,
    NotFoundError,
    PayloadTooLargeError,
    QueueFullError,
    RetryPolicy,
    TooManyActiveJobsError,
    UnavailableError,
    UnsupportedMediaTypeError,
)

from tests.support.paths import CONTENT, STYLE  # chicago.jpg is 220 kB

SMALL = {"size": 128, "style_size": 128}


def small_jpeg(width: int = 120, height: int = 80) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 140, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header claiming ``width`` x ``height`` pixels, with no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.fixture
def client(idle_client):
    return idle_client


def test_no_key_is_an_authentication_error(idle_api):
    with (
        Client(idle_api.url, api_key="") as anonymous,
        pytest.raises(AuthenticationError) as caught,
    ):
        anonymous.get_job("0" * 32)

    assert (caught.value.status, caught.value.code) == (401, "unauthorized")


def test_a_wrong_key_is_an_authentication_error(idle_api):
    with Client(idle_api.url, api_key="wrong") as stranger, pytest.raises(AuthenticationError):
        stranger.stylize(small_jpeg(), STYLE, **SMALL)


def test_an_unknown_job_is_not_found(client):
    with pytest.raises(NotFoundError) as caught:
        client.get_job("0" * 32)

    assert (caught.value.status, caught.value.code) == (404, "not_found")


def test_the_result_of_a_queued_job_is_job_not_finished(client):
    job = client.stylize(small_jpeg(), STYLE, **SMALL)

    with pytest.raises(JobNotFinishedError) as caught:
        client.result(job)

    assert caught.value.status == 409
    client.cancel(job)


def test_the_result_of_a_canceled_job_is_job_canceled(client):
    job = client.cancel(client.stylize(small_jpeg(), STYLE, **SMALL))

    assert job.status == "canceled"
    with pytest.raises(JobCanceledError):
        client.result(job)


def test_a_file_over_the_upload_limit_is_payload_too_large(client):
    with pytest.raises(PayloadTooLargeError) as caught:
        client.stylize(CONTENT, STYLE, **SMALL)

    assert (caught.value.status, caught.value.field) == (413, "content")
    assert "150,000 bytes" in caught.value.message


def test_a_file_that_is_not_an_image_is_unsupported_media_type(client):
    with pytest.raises(UnsupportedMediaTypeError) as caught:
        client.stylize(b"hello, world", STYLE, **SMALL)

    assert (caught.value.status, caught.value.field) == (415, "content")


def test_a_size_over_the_servers_maximum_is_invalid_parameter(client):
    # 512 is within the API's bounds, so the client sends it; this server allows 256.
    with pytest.raises(InvalidParameterError) as caught:
        client.stylize(small_jpeg(), STYLE, size=512)

    assert (caught.value.status, caught.value.field) == (422, "size")


def test_an_unknown_style_id_is_invalid_parameter(client):
    with pytest.raises(InvalidParameterError) as caught:
        client.stylize(small_jpeg(), style_id="f" * 64, **SMALL)

    assert caught.value.field == "style_id"


def test_bytes_that_do_not_decode_are_invalid_image(client):
    with pytest.raises(InvalidImageError) as caught:
        client.stylize(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, STYLE, **SMALL)

    assert (caught.value.status, caught.value.code, caught.value.field) == (
        422,
        "invalid_image",
        "content",
    )


def test_too_many_pixels_is_image_too_large(client):
    with pytest.raises(ImageTooLargeError) as caught:
        client.stylize(png_claiming(9_000, 9_000), STYLE, **SMALL)

    assert (caught.value.code, caught.value.field) == ("image_too_large", "content")


def test_a_mask_with_one_style_is_invalid_mask(client):
    with pytest.raises(InvalidMaskError) as caught:
        client.stylize(small_jpeg(), STYLE, mask=small_jpeg(), **SMALL)

    assert (caught.value.code, caught.value.field) == ("invalid_mask", "mask")


def test_a_full_queue_is_queue_full_with_retry_after(start_api, fresh_prefix):
    api = start_api(fresh_prefix("client-full"), STYLIZE_MAX_QUEUE_DEPTH="1")
    with Client(api.url, retry=RetryPolicy.never()) as client:
        client.stylize(small_jpeg(), STYLE, **SMALL)

        with pytest.raises(QueueFullError) as caught:
            client.stylize(small_jpeg(), STYLE, **SMALL)

    assert (caught.value.status, caught.value.code) == (429, "queue_full")
    assert caught.value.retry_after == 10.0


def test_a_store_that_is_down_is_unavailable_with_retry_after(start_api, fresh_prefix):
    api = start_api(fresh_prefix("client-down"), REDIS_URL="redis://127.0.0.1:1/0")
    with (
        Client(api.url, retry=RetryPolicy.never()) as client,
        pytest.raises(UnavailableError) as caught,
    ):
        client.get_job("0" * 32)

    assert (caught.value.status, caught.value.code) == (503, "unavailable")
    assert caught.value.retry_after == 5.0


def test_too_many_active_jobs_for_one_key_is_its_own_429(start_api, fresh_prefix):
    api = start_api(fresh_prefix("client-share"), STYLIZE_MAX_ACTIVE_JOBS_PER_KEY="1")
    with Client(api.url, retry=RetryPolicy.never()) as client:
        client.stylize(small_jpeg(), STYLE, **SMALL)

        with pytest.raises(TooManyActiveJobsError) as caught:
            client.stylize(small_jpeg(), STYLE, **SMALL)

    assert caught.value.status == 429 and caught.value.retry_after is not None
