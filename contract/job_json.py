"""The job as clients see it: the JSON of ``GET /jobs/{id}``, of webhook deliveries and of
live events. One presenter for the API and the workers (which sign webhook bodies), so a
webhook carries exactly what a poll would have shown."""

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from contract.jobs import JobError, JobRecord, JobStatus, ResultInfo, VideoJob, WebhookEvent
from contract.signing import UrlSigner
from models.params import Method


class Progress(BaseModel):
    fraction: float = Field(ge=0, le=1, description="0 … 1 of the whole job.")
    stage: str = Field(
        description="`queued`, `encode_style`, `level 3`, `optimise`, `frame` (videos), `done` …"
    )
    iteration: int | None = Field(
        None, ge=0, description="Gatys: iterations done; a video: frames stylized."
    )
    total: int | None = Field(None, ge=0, description="Gatys: the budget; a video: its frames.")
    losses: dict[str, float] | None = None


class StyleCache(BaseModel):
    hits: int = Field(ge=0, description="Styles whose encoded features the worker had cached.")
    misses: int = Field(ge=0, description="Styles the worker had to encode.")


class JobLinks(BaseModel):
    self: str
    result: str | None = Field(None, description="Present once there is an image to fetch.")
    result_url: str | None = Field(
        None,
        description="The result without the API key: an absolute signed URL that expires with "
        "the job (`expires_at`); usable as an `<img src>`.",
    )
    preview: str | None = Field(
        None, description="Latest preview (gatys; a video's latest frame), while running."
    )
    cancel: str | None = Field(None, description="DELETE it to cancel, while not finished.")
    events: str = Field(description="Live events (Server-Sent Events) of this job.")


class DeliveryOut(BaseModel):
    event: WebhookEvent
    attempt: int = Field(ge=1)
    at: datetime
    status_code: int | None = Field(None, ge=100, le=599)
    error: str | None = None
    delivered: bool


class WebhookOut(BaseModel):
    url: str
    events: list[WebhookEvent]
    deliveries: list[DeliveryOut] = Field(description="The latest attempts, oldest first.")


class JobOut(BaseModel):
    id: str
    status: JobStatus
    method: Method
    progress: Progress
    queue_position: int | None = Field(ge=0, description="Jobs ahead of this one while queued.")
    cancel_requested: bool
    attempts: int = Field(ge=0, description="Runs started; above 1 after a worker was lost.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None = Field(
        description="When the job, its inputs and its result are deleted."
    )
    error: JobError | None = Field(description="Why it failed (when `failed`).")
    result: ResultInfo | None
    video: VideoJob | None = Field(
        description="A video job's output settings and its source as uploaded; null for images."
    )
    style_cache: StyleCache | None = Field(description="Set once the styles are prepared.")
    webhook: WebhookOut | None = Field(description="Where events go, and the latest attempts.")
    links: JobLinks


def job_out(
    record: JobRecord,
    *,
    root_path: str,
    base_url: str | None,
    signer: UrlSigner,
    queue_position: int | None,
    cancel_requested: bool,
) -> JobOut:
    """``root_path`` prefixes the relative links (``/jobs/{id}``); ``base_url`` (scheme,
    host and root path) makes the absolute ``result_url``."""
    path = f"{root_path}/jobs/{record.id}"
    running = record.status is JobStatus.running
    result_url = None
    if record.result is not None and base_url and record.expires_at:
        result_url = signer.result_url(base_url, record.id, int(record.expires_at))
    links = JobLinks(
        self=path,
        result=f"{path}/result" if record.result else None,
        result_url=result_url,
        preview=f"{path}/preview" if running and _previews(record) else None,
        cancel=None if record.status.finished else path,
        events=f"{path}/events",
    )
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
        expires_at=_time(record.expires_at),
        error=record.error,
        result=record.result,
        video=record.spec.video,
        style_cache=StyleCache(hits=record.style_cache_hits, misses=record.style_cache_misses)
        if prepared
        else None,
        webhook=_webhook_out(record),
        links=links,
    )


def _previews(record: JobRecord) -> bool:
    """Gatys jobs send their latest image, video jobs their latest frame."""
    return record.method == "gatys" or record.spec.video is not None


def _webhook_out(record: JobRecord) -> WebhookOut | None:
    if record.webhook is None:
        return None
    return WebhookOut(
        url=record.webhook.url,
        events=list(record.webhook.events),
        deliveries=[
            DeliveryOut(**{**attempt.model_dump(), "at": _time(attempt.at)})
            for attempt in record.webhook.deliveries
        ],
    )


def _time(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)
