"""Response bodies, as OpenAPI documents them (request parameters are in ``forms.py``)."""

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from contract.jobs import JobError, JobRecord, JobStatus, ResultInfo
from models.params import Method


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `invalid_image`.")
    message: str = Field(description="What is wrong, for a developer.")
    field: str | None = Field(description="The request field to fix, if one is at fault.")


class ErrorOut(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorOut} for status in (401, 404, 409, 413, 415, 422, 429, 503)
}
UPLOAD_ERROR_RESPONSES: dict[int | str, dict] = ERROR_RESPONSES | {
    400: {
        "model": ErrorOut,
        "description": "`invalid_multipart`: the body is not well-formed multipart/form-data "
        "(a broken part, more than 1,000 fields or files, a non-file field over 1 MB).",
    },
    408: {
        "model": ErrorOut,
        "description": "`request_timeout`: the body did not arrive in time; the connection "
        "is closed.",
    },
}
"""What a route that reads an upload may answer besides ``ERROR_RESPONSES``."""


class Progress(BaseModel):
    fraction: float = Field(description="0 … 1 of the whole job.")
    stage: str = Field(description="`queued`, `encode_style`, `level 3`, `optimise`, `done` …")
    iteration: int | None = None
    total: int | None = None
    losses: dict[str, float] | None = None


class StyleCache(BaseModel):
    hits: int = Field(description="Styles whose encoded features the worker had cached.")
    misses: int = Field(description="Styles the worker had to encode.")


class JobLinks(BaseModel):
    self: str
    result: str | None = Field(None, description="Present once there is an image to fetch.")
    preview: str | None = Field(None, description="Latest preview (gatys), while running.")
    cancel: str | None = Field(None, description="DELETE it to cancel, while not finished.")


class JobOut(BaseModel):
    id: str
    status: JobStatus
    method: Method
    progress: Progress
    queue_position: int | None = Field(description="Jobs ahead of this one while queued.")
    cancel_requested: bool
    attempts: int = Field(description="Runs started; above 1 after a worker was lost.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: JobError | None = Field(description="Why it failed (when `failed`).")
    result: ResultInfo | None
    style_cache: StyleCache | None = Field(description="Set once the styles are prepared.")
    links: JobLinks


class StyleOut(BaseModel):
    id: str = Field(description="sha256 of the bytes; pass it as `style_id`.")
    format: str
    width: int
    height: int
    bytes: int
    expires_in: int = Field(description="Seconds it stays available (renewed on use).")
    links: dict[str, str]


class Readiness(BaseModel):
    status: str = Field(description="`ready`, or `unavailable` (with status 503).")
    redis: bool
    workers: int = Field(description="Workers with a recent heartbeat.")
    queues: dict[str, int] = Field(description="Jobs waiting, per queue.")


def job_out(
    record: JobRecord, links: JobLinks, *, queue_position: int | None, cancel_requested: bool
) -> JobOut:
    prepared = record.style_cache_hits + record.style_cache_misses > 0
    return JobOut(
        id=record.id,
        status=record.status,
        method=record.method,
        progress=Progress(
            fraction=record.fraction,
            stage=record.stage,
            iteration=record.iteration,
            total=record.total,
            losses=record.losses,
        ),
        queue_position=queue_position,
        cancel_requested=cancel_requested,
        attempts=record.attempts,
        created_at=_time(record.created_at),
        started_at=_time(record.started_at),
        finished_at=_time(record.finished_at),
        error=record.error,
        result=record.result,
        style_cache=StyleCache(hits=record.style_cache_hits, misses=record.style_cache_misses)
        if prepared
        else None,
        links=links,
    )


def _time(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
