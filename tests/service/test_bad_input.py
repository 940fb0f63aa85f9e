"""Every kind of bad input is refused before it is queued, with its own status and a
message that names the field; no response carries a stack trace."""

import pytest
from redis import Redis

from tests.support.images import content_upload, png_bytes, unique_style_upload

JPEG = "image/jpeg"


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert "Traceback" not in response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["message"]
    return error


def queued(redis: Redis, prefix: str) -> int:
    return redis.llen(f"rq:queue:{prefix}:fast") + redis.llen(f"rq:queue:{prefix}:slow")


# --- sizes ------------------------------------------------------------------------------


def test_a_file_over_the_upload_limit_is_413_naming_the_field(make_api, prefix, redis):
    api = make_api(key_prefix=prefix, max_upload_bytes=100_000)  # chicago.jpg is 220 kB

    error = error_of(api.submit(), 413)

    assert error["code"] == "payload_too_large"
    assert error["field"] == "content"
    assert "100,000 bytes" in error["message"]
    assert queued(redis, prefix) == 0


def test_a_request_body_over_the_limit_is_413(make_api, prefix):
    api = make_api(key_prefix=prefix, max_request_bytes=50_000)

    error = error_of(api.submit(), 413)

    assert error["code"] == "payload_too_large"


def test_a_chunked_body_over_the_limit_is_413_too(make_api, prefix):
    api = make_api(key_prefix=prefix, max_request_bytes=50_000)

    def chunks():  # no Content-Length: the limit must be enforced while reading
        yield b'--b\r\nContent-Disposition: form-data; name="content"; filename="a.jpg"\r\n\r\n'
        for _ in range(100):
            yield b"x" * 1000
        yield b"\r\n--b--\r\n"

    response = api.client.post(
        "/stylize", content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )

    assert error_of(response, 413)["code"] == "payload_too_large"


# --- types and decoding --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "field"),
    [
        ({"content": ("notes.txt", b"hello, world", "text/plain")}, "content"),
        ({"content": ("doc.pdf", b"%PDF-1.7\n...", "application/pdf")}, "content"),
        (
            {
                "styles": [
                    ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")
                ]
            },
            "style",
        ),
    ],
    ids=["text", "pdf", "svg_style"],
)
def test_a_file_that_is_not_a_supported_image_type_is_415(api_without_worker, upload, field):
    error = error_of(api_without_worker.submit(**upload), 415)

    assert error["code"] == "unsupported_media_type"
    assert error["field"] == field


def test_bytes_that_claim_to_be_an_image_but_do_not_decode_are_422(api_without_worker):
    garbage = ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png")

    error = error_of(api_without_worker.submit(content=garbage), 422)

    assert error == {**error, "code": "invalid_image", "field": "content"}


def test_a_truncated_jpeg_is_422(api_without_worker):
    name, data, kind = content_upload()

    error = error_of(api_without_worker.submit(content=(name, data[: len(data) // 2], kind)), 422)

    assert error == {**error, "code": "invalid_image", "field": "content"}
    assert "truncated" in error["message"]


def test_a_decompression_bomb_is_422(make_api, prefix):
    api = make_api(key_prefix=prefix, max_pixels=1_000_000)
    bomb = ("bomb.png", png_bytes(2000, 1000), "image/png")  # 9 kB that decode to 2 megapixels

    error = error_of(api.submit(content=bomb), 422)

    assert error == {**error, "code": "image_too_large", "field": "content"}
    assert "1,000,000 pixels" in error["message"]


def test_an_image_over_the_side_limit_is_422(make_api, prefix):
    api = make_api(key_prefix=prefix, max_side=1000)

    error = error_of(api.submit(styles=[("wide.png", png_bytes(1200, 10), "image/png")]), 422)

    assert error == {**error, "code": "image_too_large", "field": "style"}
    assert "per side" in error["message"]


# --- parameters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"alpha": "1.5"}, "alpha", "less than or equal to 1"),
        ({"alpha": "strong"}, "alpha", "valid number"),
        ({"method": "cubism"}, "method", "'adain', 'wct' or 'gatys'"),
        ({"size": "0"}, "size", "greater than or equal to 1"),
        ({"size": "3000"}, "size", "at most 2048"),
        ({"quality": "101"}, "quality", "less than or equal to 100"),
        ({"format": "gif"}, "format", "a video format, and the content is an image"),
        ({"format": "bmp"}, "format", "'jpeg', 'webp', 'mp4'"),
        ({"temporal": "off"}, "temporal", "videos only"),
        ({"preserve_color": "maybe"}, "preserve_color", "valid boolean"),
        ({"style_weights": "1,heavy"}, "style_weights", "must be numbers"),
        ({"style_weights": "0.5,0.5"}, "style_weights", "2 weights for 1 style"),
        ({"style_weights": "-1"}, "style_weights", "non-negative"),
        ({"gatys.iterations": "0"}, "gatys.iterations", "greater than or equal to 1"),
        ({"gatys.optimizer": "sgd"}, "gatys.optimizer", "'lbfgs' or 'adam'"),
        ({"alpah": "0.5"}, "alpah", "unknown field"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
def test_a_bad_parameter_is_422_naming_the_field(api_without_worker, redis, fields, field, words):
    error = error_of(api_without_worker.submit(**fields), 422)

    assert error["field"] == field
    assert words in error["message"]
    assert queued(redis, api_without_worker.settings.key_prefix) == 0


def test_a_missing_content_file_is_422(api_without_worker):
    response = api_without_worker.client.post(
        "/stylize", files=[("style", ("s.png", b"x", "image/png"))]
    )

    assert error_of(response, 422) == {
        "code": "invalid_parameter",
        "message": "required but missing",
        "field": "content",
    }


def test_a_job_without_any_style_is_422(api_without_worker):
    error = error_of(api_without_worker.submit(styles=[]), 422)

    assert error["field"] == "style"


def test_a_mask_with_a_single_style_is_422_naming_the_mask(api_without_worker):
    error = error_of(
        api_without_worker.submit(mask=("m.png", png_bytes(712, 474), "image/png")), 422
    )

    assert error == {**error, "code": "invalid_mask", "field": "mask"}


def test_a_mask_of_another_aspect_ratio_is_422(api_without_worker):
    two_styles = [unique_style_upload(), unique_style_upload()]

    response = api_without_worker.submit(
        styles=two_styles, mask=("m.png", png_bytes(100, 100), "image/png")
    )

    assert "aspect ratio" in error_of(response, 422)["message"]


def test_an_unknown_style_id_is_422_naming_style_id(api_without_worker):
    error = error_of(api_without_worker.submit(style_id="f" * 64), 422)

    assert error["field"] == "style_id"
    assert "POST /styles" in error["message"]


def test_style_files_and_style_ids_together_are_422(api_without_worker):
    response = api_without_worker.submit(styles=[unique_style_upload()], style_id="f" * 64)

    error = error_of(response, 422)
    assert error == {**error, "field": "style_id"}
    assert "not both" in error["message"]


# --- load and failures ------------------------------------------------------------------------


def test_a_full_queue_is_429_with_retry_after(make_api, prefix):
    api = make_api(key_prefix=prefix, max_queue_depth=2)
    assert api.submit().status_code == 202
    assert api.submit().status_code == 202

    response = api.submit()

    assert error_of(response, 429)["code"] == "queue_full"
    assert int(response.headers["Retry-After"]) > 0


def test_an_unexpected_error_is_a_generic_500_without_a_stack_trace(api_without_worker):
    app = api_without_worker.client.app

    def explode() -> None:
        raise RuntimeError("secret internals: /etc/passwd")

    app.add_api_route("/explode", explode)

    error = error_of(api_without_worker.client.get("/explode"), 500)

    assert error == {"code": "internal_error", "message": error["message"], "field": None}
    assert "secret" not in error["message"]


def test_an_unknown_route_is_a_json_404(api_without_worker):
    assert error_of(api_without_worker.client.get("/nowhere"), 404)["code"] == "not_found"


def test_a_method_a_path_does_not_answer_is_405_naming_every_method_it_does(api_without_worker):
    response = api_without_worker.client.patch(f"/jobs/{'0' * 32}")

    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "DELETE, GET"


# --- the multipart body itself ------------------------------------------------------------


def multipart(parts: list[tuple[str, bytes]]) -> bytes:
    body = b""
    for name, value in parts:
        body += f'--b\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += value + b"\r\n"
    return body + b"--b--\r\n"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"--b\r\nthis is not a part", "multipart"),
        (multipart([(f"f{i}", b"1") for i in range(1001)]), "fields"),
        (multipart([("alpha", b"1" * (1024 * 1024 + 1))]), "exceeded maximum size"),
    ],
    ids=["broken", "too_many_fields", "part_over_1mb"],
)
def test_a_body_the_multipart_parser_refuses_is_400_invalid_multipart(
    api_without_worker, redis, body, words
):
    response = api_without_worker.client.post(
        "/stylize", content=body, headers={"Content-Type": "multipart/form-data; boundary=b"}
    )

    error = error_of(response, 400)
    assert error["code"] == "invalid_multipart"
    assert words in error["message"].lower()
    assert queued(redis, api_without_worker.settings.key_prefix) == 0


def test_the_schema_documents_the_400_and_408_of_uploads(api_without_worker):
    paths = api_without_worker.client.get("/openapi.json").json()["paths"]

    for path in ("/stylize", "/styles"):
        responses = paths[path]["post"]["responses"]
        assert "invalid_multipart" in responses["400"]["description"]
        assert "request_timeout" in responses["408"]["description"]


@pytest.mark.parametrize("field", ["content", "mask", "alpha"])
def test_a_field_given_twice_is_422_naming_it(api_without_worker, redis, field):
    files = [("content", content_upload()), ("style", content_upload())]
    data = {}
    if field in ("content", "mask"):
        files += [(field, content_upload()), (field, content_upload())][field == "content" :]
    else:
        data = {field: ["0.5", "0.6"]}

    response = api_without_worker.client.post("/stylize", files=files, data=data)

    error = error_of(response, 422)
    assert error["field"] == field
    assert "give one" in error["message"]
    assert queued(redis, api_without_worker.settings.key_prefix) == 0


def test_two_files_to_styles_are_422_naming_style(api_without_worker):
    files = [("style", unique_style_upload()), ("style", unique_style_upload())]

    error = error_of(api_without_worker.client.post("/styles", files=files), 422)

    assert error["field"] == "style"
