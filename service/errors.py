"""The one place where errors become HTTP responses.

Every error body has the same shape, ``{"error": {"code", "message", "field"}}``: ``code``
is stable and machine-readable, ``message`` says what is wrong for a developer, and
``field`` names the request field to fix (or is null). No response ever carries a stack
trace: unexpected exceptions are logged with theirs and answered with a generic 500.
"""

import logging
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import BusyLoadingError, OutOfMemoryError, ReadOnlyError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from models.errors import (
    Canceled,
    ImageTooLarge,
    InvalidImage,
    InvalidParameter,
    StylizeError,
    VideoTooLarge,
    WeightsCorrupt,
    WeightsMissing,
)

log = logging.getLogger("stylize.service")

REDIS_RETRY_AFTER = 5


class ErrorCode(StrEnum):
    """Every ``error.code`` an answer can carry, by status. Clients should still tolerate
    codes they do not know (falling back on the status class)."""

    invalid_multipart = "invalid_multipart"
    unauthorized = "unauthorized"
    invalid_signature = "invalid_signature"
    url_expired = "url_expired"
    not_found = "not_found"
    method_not_allowed = "method_not_allowed"
    request_timeout = "request_timeout"
    job_finished = "job_finished"
    job_failed = "job_failed"
    job_canceled = "job_canceled"
    job_not_finished = "job_not_finished"
    payload_too_large = "payload_too_large"
    unsupported_media_type = "unsupported_media_type"
    invalid_parameter = "invalid_parameter"
    invalid_image = "invalid_image"
    image_too_large = "image_too_large"
    invalid_mask = "invalid_mask"
    invalid_video = "invalid_video"
    video_too_large = "video_too_large"
    range_not_satisfiable = "range_not_satisfiable"
    idempotency_key_reused = "idempotency_key_reused"
    queue_full = "queue_full"
    too_many_active_jobs = "too_many_active_jobs"
    internal_error = "internal_error"
    unavailable = "unavailable"
    weights_missing = "weights_missing"
    weights_corrupt = "weights_corrupt"


ERROR_STATUS: dict[ErrorCode, int] = {
    code: int(status)
    for status, names in {
        400: "invalid_multipart",
        401: "unauthorized",
        403: "invalid_signature url_expired",
        404: "not_found",
        405: "method_not_allowed",
        408: "request_timeout",
        409: "job_finished job_failed job_canceled job_not_finished",
        413: "payload_too_large",
        415: "unsupported_media_type",
        416: "range_not_satisfiable",
        422: "invalid_parameter invalid_image image_too_large invalid_mask invalid_video "
        "video_too_large idempotency_key_reused",
        429: "queue_full too_many_active_jobs",
        500: "internal_error",
        503: "unavailable weights_missing weights_corrupt",
    }.items()
    for code in map(ErrorCode, names.split())
}
"""The status each code comes with (the OpenAPI schema lists them per route)."""


class ServiceError(Exception):
    """An error of the HTTP layer; subclasses fix the status and the default code."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code or self.code
        self.headers = headers or {}


class NotFound(ServiceError):
    status, code = 404, "not_found"


class Unauthorized(ServiceError):
    status, code = 401, "unauthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ServiceError):
    status, code = 403, "invalid_signature"


class Conflict(ServiceError):
    status, code = 409, "job_not_finished"


class PayloadTooLarge(ServiceError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(ServiceError):
    status, code = 415, "unsupported_media_type"


class RangeNotSatisfiable(ServiceError):
    status, code = 416, "range_not_satisfiable"

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message, field="Range", headers={"Content-Range": f"bytes */{size}"})


class QueueFull(ServiceError):
    status, code = 429, "queue_full"

    def __init__(self, message: str, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after)})


class TooManyActiveJobs(QueueFull):
    code = "too_many_active_jobs"


class IdempotencyKeyReused(ServiceError):
    status, code = 422, "idempotency_key_reused"

    def __init__(self, message: str) -> None:
        super().__init__(message, field="Idempotency-Key")


class Busy(ServiceError):
    status, code = 503, "unavailable"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": "1"})


ENGINE_STATUS: dict[type[StylizeError], int] = {
    ImageTooLarge: 422,
    InvalidImage: 422,
    InvalidParameter: 422,  # InvalidMask too
    Canceled: 409,
    WeightsMissing: 503,
    WeightsCorrupt: 503,
}


def engine_answer(error: StylizeError) -> tuple[int, str]:
    """The status and code of an engine error. A video over its byte limit is 413
    ``payload_too_large``, as an image over its own; over its other limits (seconds,
    frames, pixels per frame) 422 ``video_too_large``. The message names the limit."""
    if isinstance(error, VideoTooLarge) and error.limit == "max_bytes":
        return 413, ErrorCode.payload_too_large.value
    for cls in type(error).__mro__:
        if cls in ENGINE_STATUS:
            return ENGINE_STATUS[cls], error.code
    return 500, error.code


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message, field), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(StylizeError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    # Redis down, starting up, full (maxmemory) or a read-only replica: all pass; retry.
    for redis_down in (
        RedisConnectionError,
        RedisTimeoutError,
        BusyLoadingError,
        OutOfMemoryError,
        ReadOnlyError,
    ):
        app.add_exception_handler(redis_down, _redis_unavailable)
    app.add_exception_handler(Exception, _unexpected)


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def _engine_error(request: Request, exc: StylizeError) -> JSONResponse:
    status, code = engine_answer(exc)
    return error_response(status, code, exc.message, exc.field)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    error = exc.errors()[0]
    field = request_field(error.get("loc", ()))
    return error_response(422, "invalid_parameter", describe(error), field)


_HTTP_CODES = {
    400: "invalid_multipart",  # the only body the API parses: multipart/form-data
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
}


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    fallback = "internal_error" if exc.status_code >= 500 else "invalid_parameter"
    code = _HTTP_CODES.get(exc.status_code, fallback)
    headers = exc.headers
    if exc.status_code == 405:  # Starlette names the methods of one route of the path only
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
    return error_response(exc.status_code, code, str(exc.detail), headers=headers)


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers, asked of the routes themselves."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.router.routes
        )
    ]


async def _redis_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("Redis unavailable on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        503,
        "unavailable",
        "the job store is unreachable; retry shortly",
        headers={"Retry-After": str(REDIS_RETRY_AFTER)},
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")


def request_field(loc: tuple[Any, ...] | list[Any]) -> str | None:
    """``("body", "gatys", "iterations")`` -> ``"gatys.iterations"``; the HTTP location
    (body, query, header, path) is dropped, list indexes are kept as ``[i]``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "header", "path", "form"):
        parts = parts[1:]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or None


def describe(error: dict[str, Any]) -> str:
    """A pydantic error as one sentence that says what was received."""
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "missing":
        return "required but missing"
    if error.get("type") == "extra_forbidden":
        return "unknown field (the fields are listed at /docs)"
    received = error.get("input")
    if isinstance(received, str | int | float | bool) and len(repr(received)) <= 80:
        return f"{message} (got {received!r})"
    return message
