"""Response bodies and their OpenAPI documentation (request parameters are in ``forms.py``).

The job's JSON is ``contract.job_json.JobOut``, shared with the webhooks the workers send.
``errors(...)`` declares the error answers a route can give, one entry per status with
its codes; ``EXAMPLE_JOB`` and friends are the examples the schema shows.
"""

from typing import Any

from pydantic import BaseModel, Field

from contract.job_json import JobLinks, JobOut
from service.errors import ERROR_STATUS, ErrorCode

__all__ = ["JobLinks", "JobOut", "JobList", "ErrorOut", "StyleOut", "Readiness", "errors"]


class ErrorDetail(BaseModel):
    code: ErrorCode = Field(description="Stable machine-readable code, e.g. `invalid_image`.")
    message: str = Field(description="What is wrong, for a developer.")
    field: str | None = Field(description="The request field to fix, if one is at fault.")


class ErrorOut(BaseModel):
    error: ErrorDetail


class JobList(BaseModel):
    jobs: list[JobOut] = Field(description="Newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class StyleOut(BaseModel):
    id: str = Field(description="sha256 of the bytes; pass it as `style_id`.")
    format: str
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    bytes: int = Field(ge=0)
    expires_in: int = Field(ge=0, description="Seconds it stays available (renewed on use).")
    links: dict[str, str]


class Readiness(BaseModel):
    status: str = Field(description="`ready`, or `unavailable` (with status 503).")
    redis: bool
    workers: int = Field(ge=0, description="Workers with a recent heartbeat.")
    queues: dict[str, int] = Field(description="Jobs waiting, per queue.")


# --- documentation of answers -------------------------------------------------------------

_STRING = {"schema": {"type": "string"}}
RETRY_AFTER_HEADER = {"Retry-After": {"description": "Seconds to wait before retrying.", **_STRING}}
LOCATION_HEADER = {"Location": {"description": "Where to poll the job.", **_STRING}}
ETAG_HEADER = {"ETag": {"description": "The result's hash, for If-None-Match.", **_STRING}}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when an Idempotency-Key returned an earlier answer.",
        **_STRING,
    }
}
BINARY = {"schema": {"type": "string", "format": "binary"}}
RESULT_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif", "video/mp4", "video/webm")
RESULT_CONTENT = {kind: BINARY for kind in RESULT_TYPES}
CONTENT_RANGE_HEADER = {
    "Content-Range": {"description": "`bytes first-last/size`.", **_STRING},
}
RESULT_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": RESULT_CONTENT,
        "headers": ETAG_HEADER,
        "description": "The image or video.",
    },
    206: {
        "content": RESULT_CONTENT,
        "headers": ETAG_HEADER | CONTENT_RANGE_HEADER,
        "description": "The byte range asked for (`Range`).",
    },
    304: {"description": "Unchanged (If-None-Match).", "headers": ETAG_HEADER},
}

_MESSAGES = {
    ErrorCode.invalid_multipart: ("the body is not a valid multipart form", None),
    ErrorCode.unauthorized: ("send `Authorization: Bearer <key>`", None),
    ErrorCode.invalid_signature: ("the signature does not match this URL", "signature"),
    ErrorCode.not_found: ("no such job (unknown, or expired)", None),
    ErrorCode.request_timeout: ("the request body came too slowly", None),
    ErrorCode.job_not_finished: ("the job is queued; poll until it has succeeded", None),
    ErrorCode.job_finished: ("job already succeeded", None),
    ErrorCode.payload_too_large: ("content is too large: at most 10,485,760 bytes", "content"),
    ErrorCode.unsupported_media_type: ("text/plain is not a supported image type", "content"),
    ErrorCode.invalid_parameter: ("Input should be less than or equal to 1", "alpha"),
    ErrorCode.queue_full: ("the fast queue is full (100 jobs waiting); retry later", None),
    ErrorCode.unavailable: ("the job store is unreachable; retry shortly", None),
}


def errors(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """The error answers of a route: for each status, the codes it may carry, an example,
    and the headers that come with it (``Retry-After`` on 429 and 503)."""
    by_status: dict[int, list[ErrorCode]] = {}
    for code in codes:
        by_status.setdefault(ERROR_STATUS[code], []).append(code)
    responses: dict[int | str, dict[str, Any]] = {}
    for status, listed in sorted(by_status.items()):
        first = listed[0]
        message, field = _MESSAGES.get(first, (first.value.replace("_", " "), None))
        entry: dict[str, Any] = {
            "model": ErrorOut,
            "description": "Codes: " + ", ".join(f"`{c.value}`" for c in listed) + ".",
            "content": {
                "application/json": {
                    "example": {"error": {"code": first.value, "message": message, "field": field}}
                }
            },
        }
        if status in (429, 503):
            entry["headers"] = RETRY_AFTER_HEADER
        if status == 401:
            entry["headers"] = {"WWW-Authenticate": {"description": "`Bearer`", **_STRING}}
        responses[status] = entry
    return responses


# Errors most routes share: the key, and Redis being away.
AUTH = (ErrorCode.unauthorized,)
REDIS = (ErrorCode.unavailable,)
BODY = (
    ErrorCode.invalid_multipart,
    ErrorCode.request_timeout,
    ErrorCode.payload_too_large,
    ErrorCode.unsupported_media_type,
    ErrorCode.invalid_parameter,
    ErrorCode.invalid_image,
    ErrorCode.image_too_large,
)

EXAMPLE_JOB: dict[str, Any] = {
    "id": "991cf4b59dba4170bde32c2348191dfd",
    "status": "succeeded",
    "method": "adain",
    "progress": {
        "fraction": 1.0,
        "stage": "done",
        "iteration": None,
        "total": None,
        "losses": None,
    },
    "queue_position": None,
    "cancel_requested": False,
    "attempts": 1,
    "created_at": "2026-11-28T12:00:00Z",
    "started_at": "2026-11-28T12:00:00.100000Z",
    "finished_at": "2026-11-28T12:00:00.900000Z",
    "expires_at": "2026-11-28T13:00:01Z",
    "error": None,
    "result": {
        "content_type": "image/png",
        "bytes": 274194,
        "etag": "4d0a6d92ee93fa7d29db256a67b73521",
        "width": 512,
        "height": 341,
        "partial": False,
        "frames": None,
        "fps": None,
        "duration": None,
        "has_audio": None,
    },
    "video": None,
    "style_cache": {"hits": 0, "misses": 1},
    "webhook": None,
    "links": {
        "self": "/jobs/991cf4b59dba4170bde32c2348191dfd",
        "result": "/jobs/991cf4b59dba4170bde32c2348191dfd/result",
        "result_url": "https://api.example.com/results/991cf4b59dba4170bde32c2348191dfd"
        "?expires=1795867201&signature=5f0c…",
        "preview": None,
        "cancel": None,
        "events": "/jobs/991cf4b59dba4170bde32c2348191dfd/events",
    },
}
EXAMPLE_QUEUED: dict[str, Any] = {
    **EXAMPLE_JOB,
    "status": "queued",
    "progress": {"fraction": 0.0, "stage": "queued", "iteration": None, "total": None},
    "queue_position": 0,
    "started_at": None,
    "finished_at": None,
    "result": None,
    "style_cache": None,
    "links": {
        **EXAMPLE_JOB["links"],
        "result": None,
        "result_url": None,
        "cancel": "/jobs/991cf4b59dba4170bde32c2348191dfd",
    },
}
EXAMPLE_STYLE: dict[str, Any] = {
    "id": "262d95bea34a593542793e44d8ab5e73a19408e44d9f78d00e08b123bbc6ebb2",
    "format": "JPEG",
    "width": 600,
    "height": 380,
    "bytes": 183002,
    "expires_in": 3600,
    "links": {"self": "/styles/262d95bea34a593542793e44d8ab5e73a19408e44d9f78d00e08b123bbc6ebb2"},
}


def json_example(example: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"example": example}}
