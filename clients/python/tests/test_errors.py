"""Error answers become typed errors: one class per code, under one class per status."""

import email.utils

import httpx
import pytest

import stylize_client
from stylize_client.errors import (
    ERROR_CODES,
    STATUS_CLASSES,
    AuthenticationError,
    ConflictError,
    ImageTooLargeError,
    InvalidImageError,
    InvalidParameterError,
    InvalidRequestError,
    JobNotFinishedError,
    QueueFullError,
    RateLimitError,
    ServerError,
    StylizeError,
    UnprocessableError,
    error_class,
    error_from_response,
    parse_retry_after,
)

# The contract's codes and statuses (/work/API-PLAN.md), written out independently here.
CONTRACT = {
    "invalid_multipart": 400,
    "unauthorized": 401,
    "invalid_signature": 403,
    "url_expired": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "request_timeout": 408,
    "job_finished": 409,
    "job_failed": 409,
    "job_canceled": 409,
    "job_not_finished": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_parameter": 422,
    "invalid_image": 422,
    "image_too_large": 422,
    "invalid_mask": 422,
    "invalid_video": 422,
    "video_too_large": 422,
    "range_not_satisfiable": 416,
    "idempotency_key_reused": 422,
    "queue_full": 429,
    "too_many_active_jobs": 429,
    "internal_error": 500,
    "unavailable": 503,
    "weights_missing": 503,
    "weights_corrupt": 503,
}


def answer(status: int, code: str | None = None, field: str | None = None, **headers: str):
    body = {"error": {"code": code, "message": f"about {code}", "field": field}}
    return httpx.Response(status, json=body, headers=headers)


def test_every_code_of_the_contract_has_a_class():
    assert set(ERROR_CODES) == set(CONTRACT)


@pytest.mark.parametrize(("code", "status"), sorted(CONTRACT.items()))
def test_each_code_is_raised_as_its_class_under_its_status_class(code, status):
    error = error_from_response(answer(status, code, field="alpha"))

    assert type(error) is ERROR_CODES[code]
    assert isinstance(error, STATUS_CLASSES[status])
    assert (error.status, error.code, error.field) == (status, code, "alpha")
    assert error.message == f"about {code}"
    assert isinstance(error, ServerError if status >= 500 else InvalidRequestError)


def test_every_error_class_is_exported_from_the_package():
    for cls in {*ERROR_CODES.values(), *STATUS_CLASSES.values()}:
        assert getattr(stylize_client, cls.__name__) is cls


def test_engine_refinements_are_kept_too_large_is_an_invalid_image():
    assert issubclass(ImageTooLargeError, InvalidImageError)


def test_an_unknown_code_falls_back_to_its_status_class():
    error = error_from_response(answer(422, "invalid_colour", field="colour"))

    assert type(error) is UnprocessableError
    assert (error.code, error.field) == ("invalid_colour", "colour")


def test_a_known_code_with_an_unexpected_status_is_classed_by_its_status():
    assert error_class(400, "queue_full") is stylize_client.BadRequestError


@pytest.mark.parametrize(
    ("status", "cls"), [(418, InvalidRequestError), (502, ServerError), (507, ServerError)]
)
def test_an_unknown_status_falls_back_to_its_family(status, cls):
    assert type(error_from_response(answer(status, "teapot"))) is cls


def test_a_body_that_is_not_the_apis_keeps_its_text_as_the_message():
    response = httpx.Response(502, text="<html>Bad gateway</html>")

    error = error_from_response(response)

    assert type(error) is ServerError
    assert error.code is None and error.field is None
    assert "Bad gateway" in error.message


def test_an_empty_body_gets_the_reason_phrase():
    error = error_from_response(httpx.Response(409))

    assert type(error) is ConflictError
    assert error.message == "Conflict"


def test_retry_after_is_read_from_the_header():
    error = error_from_response(answer(429, "queue_full", **{"Retry-After": "10"}))

    assert type(error) is QueueFullError and isinstance(error, RateLimitError)
    assert error.retry_after == 10.0


def test_the_error_keeps_the_response():
    response = answer(401, "unauthorized")

    error = error_from_response(response)

    assert isinstance(error, AuthenticationError)
    assert error.response is response


def test_the_message_names_status_code_and_field():
    text = str(error_from_response(answer(422, "invalid_parameter", field="alpha")))

    assert text == "422 invalid_parameter [alpha]: about invalid_parameter"


def test_errors_found_before_sending_have_no_status():
    error = InvalidParameterError("must be 0..1", field="alpha")

    assert error.status is None and error.response is None
    assert isinstance(error, StylizeError)
    assert str(error) == "must be 0..1 [alpha]"


def test_job_not_finished_is_a_conflict():
    assert issubclass(JobNotFinishedError, ConflictError)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("5", 5.0), ("0", 0.0), ("-3", 0.0), ("1.5", 1.5), ("soon", None), ("inf", None)],
)
def test_retry_after_in_seconds(header, seconds):
    assert parse_retry_after(header) == seconds


def test_retry_after_as_an_http_date():
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)

    assert parse_retry_after(header, now=now) == pytest.approx(30.0)
