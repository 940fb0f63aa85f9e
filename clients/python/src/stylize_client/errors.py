"""Typed errors: one class per error ``code`` the API answers with, under one class per
HTTP status, so callers catch as broadly or as narrowly as they need::

    try:
        job = client.stylize("photo.jpg", "painting.jpg", alpha=0.8)
    except stylize_client.ImageTooLargeError as error:      # one code
        print(error.field, error.message)
    except stylize_client.UnprocessableError:                # every 422
        ...
    except stylize_client.StylizeError:                      # anything from this package
        ...

A code this version does not know falls back to the class of its status (then of its
status family, 4xx or 5xx), so a newer server never breaks an older client.
"""

from __future__ import annotations

import email.utils
import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from stylize_client.models import Job


class StylizeError(Exception):
    """Everything this package raises. For an error answer of the API, ``status`` is the
    HTTP status, ``code``/``message``/``field`` come from its ``{"error": {...}}`` body,
    ``retry_after`` from its ``Retry-After`` header (seconds), and ``response`` is the
    ``httpx.Response``. Errors found before any request (client-side checks) have no
    status and no response."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        field: str | None = None,
        retry_after: float | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.field = field
        self.retry_after = retry_after
        self.response = response

    def __str__(self) -> str:
        where = f" [{self.field}]" if self.field else ""
        what = " ".join(str(part) for part in (self.status, self.code) if part is not None)
        return f"{what}{where}: {self.message}" if what else f"{self.message}{where}"


# --- transport and client-side errors ---------------------------------------------------


class APIConnectionError(StylizeError):
    """The server could not be reached, or the connection broke, after every retry."""


class WaitTimeout(StylizeError):
    """``wait()`` ran out of time; ``job`` is the last state seen (still unfinished)."""

    def __init__(self, message: str, job: Job) -> None:
        super().__init__(message)
        self.job = job


class WebhookVerificationError(StylizeError):
    """A webhook delivery whose signature, timestamp or headers do not check out."""


# --- status classes ---------------------------------------------------------------------


class InvalidRequestError(StylizeError):
    """Any 4xx: the request has to change before it can succeed (429 excepted)."""


class BadRequestError(InvalidRequestError):
    """400."""


class AuthenticationError(InvalidRequestError):
    """401: no API key, or an unknown one (code ``unauthorized``)."""


class PermissionDeniedError(InvalidRequestError):
    """403."""


class NotFoundError(InvalidRequestError):
    """404: unknown or expired (or another key's) job or style (code ``not_found``)."""


class MethodNotAllowedError(InvalidRequestError):
    """405 (code ``method_not_allowed``)."""


class RequestTimeoutError(InvalidRequestError):
    """408: the server gave up reading the request (code ``request_timeout``)."""


class ConflictError(InvalidRequestError):
    """409: the job is not in a state that allows this."""


class PayloadTooLargeError(InvalidRequestError):
    """413: a file or the whole request is over the server's limit (``payload_too_large``)."""


class UnsupportedMediaTypeError(InvalidRequestError):
    """415: not an image type the server reads (code ``unsupported_media_type``)."""


class RangeNotSatisfiableError(InvalidRequestError):
    """416: a ``Range`` outside the result (code ``range_not_satisfiable``)."""


class UnprocessableError(InvalidRequestError):
    """422: a parameter or an image the server refuses; ``field`` names it."""


class RateLimitError(InvalidRequestError):
    """429: come back after ``retry_after`` seconds (the client retries these itself)."""


class ServerError(StylizeError):
    """Any 5xx."""


class InternalServerError(ServerError):
    """500 (code ``internal_error``): a bug on the server; it has been logged there."""


class ServiceUnavailableError(ServerError):
    """503: the server cannot take work right now (the client retries these itself)."""


# --- code classes -----------------------------------------------------------------------


class InvalidMultipartError(BadRequestError):
    """``invalid_multipart``: the body is not a readable multipart form."""


class InvalidSignatureError(PermissionDeniedError):
    """``invalid_signature``: a signed result URL was altered."""


class UrlExpiredError(PermissionDeniedError):
    """``url_expired``: a signed result URL is past its ``expires``."""


class JobFinishedError(ConflictError):
    """``job_finished``: a finished job cannot be canceled."""


class JobFailedError(ConflictError):
    """``job_failed``: the job failed, so it has no result; see ``Job.error``."""


class JobCanceledError(ConflictError):
    """``job_canceled``: the job was canceled before it had a result."""


class JobNotFinishedError(ConflictError):
    """``job_not_finished``: no result yet; ``wait()`` for the job first."""


class InvalidParameterError(UnprocessableError):
    """``invalid_parameter``: a form field out of range or unknown (also raised by the
    client's own checks, before anything is sent)."""


class InvalidImageError(UnprocessableError):
    """``invalid_image``: an upload that does not decode (truncated, not an image)."""


class ImageTooLargeError(InvalidImageError):
    """``image_too_large``: too many pixels, a side too long, or a decompression bomb."""


class InvalidMaskError(InvalidParameterError):
    """``invalid_mask``: a mask that does not fit the content or the styles."""


class InvalidVideoError(UnprocessableError):
    """``invalid_video``: a video upload that cannot be used."""


class VideoTooLargeError(InvalidVideoError):
    """``video_too_large``: a video over the server's seconds, frames or pixels per frame
    (the message names the limit; over its bytes it is a 413)."""


class IdempotencyKeyReusedError(UnprocessableError):
    """``idempotency_key_reused``: the same ``Idempotency-Key`` with a different request."""


class QueueFullError(RateLimitError):
    """``queue_full``: the server's queue for this method is full."""


class TooManyActiveJobsError(RateLimitError):
    """``too_many_active_jobs``: this API key has its share of queued and running jobs."""


class UnavailableError(ServiceUnavailableError):
    """``unavailable``: the job store is unreachable; retry shortly."""


class WeightsMissingError(ServiceUnavailableError):
    """``weights_missing``: the workers lack network weights (an operator must act)."""


class WeightsCorruptError(ServiceUnavailableError):
    """``weights_corrupt``: the workers' weight files fail their checksums."""


ERROR_CODES: dict[str, type[StylizeError]] = {
    "invalid_multipart": InvalidMultipartError,
    "unauthorized": AuthenticationError,
    "invalid_signature": InvalidSignatureError,
    "url_expired": UrlExpiredError,
    "not_found": NotFoundError,
    "method_not_allowed": MethodNotAllowedError,
    "request_timeout": RequestTimeoutError,
    "job_finished": JobFinishedError,
    "job_failed": JobFailedError,
    "job_canceled": JobCanceledError,
    "job_not_finished": JobNotFinishedError,
    "payload_too_large": PayloadTooLargeError,
    "unsupported_media_type": UnsupportedMediaTypeError,
    "invalid_parameter": InvalidParameterError,
    "invalid_image": InvalidImageError,
    "image_too_large": ImageTooLargeError,
    "invalid_mask": InvalidMaskError,
    "invalid_video": InvalidVideoError,
    "video_too_large": VideoTooLargeError,
    "range_not_satisfiable": RangeNotSatisfiableError,
    "idempotency_key_reused": IdempotencyKeyReusedError,
    "queue_full": QueueFullError,
    "too_many_active_jobs": TooManyActiveJobsError,
    "internal_error": InternalServerError,
    "unavailable": UnavailableError,
    "weights_missing": WeightsMissingError,
    "weights_corrupt": WeightsCorruptError,
}
"""Every code of the API contract, and the class raised for it."""

STATUS_CLASSES: dict[int, type[StylizeError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    408: RequestTimeoutError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    416: RangeNotSatisfiableError,
    422: UnprocessableError,
    429: RateLimitError,
    500: InternalServerError,
    503: ServiceUnavailableError,
}
"""The class for a status whose code is unknown (or missing, as from a proxy)."""


def error_class(status: int, code: str | None) -> type[StylizeError]:
    """The most specific class for ``status`` and ``code``: the code's, if it belongs to
    that status; else the status's; else the family's (4xx, 5xx)."""
    by_code = ERROR_CODES.get(code or "")
    by_status = STATUS_CLASSES.get(status)
    if by_code is not None and (by_status is None or issubclass(by_code, by_status)):
        return by_code
    if by_status is not None:
        return by_status
    return ServerError if status >= 500 else InvalidRequestError if status >= 400 else StylizeError


def error_from_response(response: httpx.Response) -> StylizeError:
    """The typed error for an error answer; tolerant of bodies that are not the API's
    (a proxy's HTML page, an empty body, extra fields)."""
    code = field = None
    message = ""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    detail = body.get("error") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        code = detail.get("code") if isinstance(detail.get("code"), str) else None
        field = detail.get("field") if isinstance(detail.get("field"), str) else None
        message = str(detail.get("message") or "")
    if not message:
        text = response.text.strip() if body is None else ""
        message = text[:200] or response.reason_phrase or "error"
    cls = error_class(response.status_code, code)
    return cls(
        message,
        status=response.status_code,
        code=code,
        field=field,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
        response=response,
    )


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; None if absent or
    unreadable; never negative."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
