"""What a job is, as both sides of the queue see it: status names, routing, spec, record.

The API writes a ``JobRecord`` (with its ``JobSpec``) into Redis and enqueues only the job
id; the worker reads the record, runs the engine and writes the outcome back. RQ's own
job status and pickled return value are never shown to clients: the record is the truth.
"""

import json
import re
import time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contract.keys import QueueKind
from models.params import MAX_STYLES, Method, StyleParams
from models.video.params import VIDEO_METHODS, VideoParams

SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")  # image and style ids
JOB_ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")  # uuid4().hex
Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN.pattern)]

JOB_FUNCTION = "workers.jobs.run_stylize_job"
"""What RQ calls, by import path so the API never imports the worker (or torch)."""
JOB_FAILURE_CALLBACK = "workers.jobs.on_job_failure"
"""RQ calls this when a worker died mid-job (``AbandonedJobError``) or a job raised."""


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.succeeded, JobStatus.failed, JobStatus.canceled)


QUEUE_FOR_METHOD: dict[str, QueueKind] = {"adain": "fast", "wct": "fast", "gatys": "slow"}
"""Feed-forward methods take a second; Gatys optimises for minutes, so it gets its own
queue and its own workers and can never hold up the fast ones."""
METHODS_OF_QUEUE: dict[QueueKind, tuple[str, ...]] = {
    "fast": ("adain", "wct"),
    "slow": ("gatys",),
    "video": VIDEO_METHODS,
}
"""The methods a worker of each queue runs (the ones it warms up)."""


def queue_for(method: str, video: bool) -> QueueKind:
    """Videos take minutes whatever the method: they have a queue of their own too."""
    return "video" if video else QUEUE_FOR_METHOD[method]


class VideoInput(BaseModel):
    """The content video as the upload check found it (``models.video.probe.VideoInfo``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    container: str = Field(description="mp4, mov, webm, matroska, gif or webp.")
    width: int = Field(ge=1, description="As displayed (rotation applied), before resizing.")
    height: int = Field(ge=1)
    frames: int = Field(ge=1)
    fps: float = Field(ge=0, description="Average frame rate.")
    duration: float = Field(ge=0, description="Seconds.")
    has_audio: bool


class VideoJob(BaseModel):
    """What makes a job a video job: its output settings and its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: VideoParams
    source: VideoInput


class JobSpec(BaseModel):
    """Everything a worker needs to run a job, besides the bytes it points to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: StyleParams
    content: Sha256 = Field(
        description="sha256 of the content: an image under Keys.image, or (``video`` set) "
        "the job's video under Keys.video"
    )
    styles: tuple[Sha256, ...] = Field(min_length=1, max_length=MAX_STYLES)
    mask: Sha256 | None = None
    ttl: int = Field(gt=0, description="Seconds the inputs, record and result are kept.")
    video: VideoJob | None = None

    @property
    def output_format(self) -> str:
        return self.video.params.format if self.video else self.params.format


class JobError(BaseModel):
    code: str
    message: str
    field: str | None = None


class ResultInfo(BaseModel):
    content_type: str
    bytes: int
    etag: str
    width: int
    height: int
    partial: bool = Field(
        False,
        description="A canceled job's result so far: a Gatys optimisation's best image, or "
        "a video's frames stylized before the cancel (a shorter, playable video).",
    )
    frames: int | None = Field(None, description="Frames of a video result.")
    fps: float | None = Field(None, description="A video result's average frame rate.")
    duration: float | None = Field(None, description="Seconds of a video result.")
    has_audio: bool | None = Field(None, description="Whether a video result has sound.")


WebhookEvent = Literal["start", "progress", "completed"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = ("start", "progress", "completed")
MAX_DELIVERIES_SHOWN = 20
"""A job's record keeps its last this-many webhook delivery attempts."""


class DeliveryAttempt(BaseModel):
    """One attempt to deliver one webhook event."""

    event: WebhookEvent
    attempt: int = Field(ge=1, description="1 for the first try, then 2, 3 …")
    at: float = Field(description="When the attempt ended (unix seconds).")
    status_code: int | None = Field(None, description="The receiver's answer, if any.")
    error: str | None = Field(None, description="Why it failed, when it did.")
    delivered: bool


class Webhook(BaseModel):
    """Where a job's events go (``POST /stylize`` fields ``webhook``, ``webhook_events``)."""

    url: str
    events: tuple[WebhookEvent, ...]
    deliveries: list[DeliveryAttempt] = Field(default_factory=list)


class JobRecord(BaseModel):
    """The job as stored in the Redis hash ``Keys.job(id)``."""

    id: str
    owner: str
    status: JobStatus
    method: Method
    queue: QueueKind
    spec: JobSpec
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    attempts: int = 0
    worker: str | None = None
    stage: str = "queued"
    fraction: float = 0.0
    iteration: int | None = None
    total: int | None = None
    losses: dict[str, float] | None = None
    error: JobError | None = None
    result: ResultInfo | None = None
    style_cache_hits: int = 0
    style_cache_misses: int = 0
    expires_at: float | None = Field(None, description="When Redis drops the record (unix).")
    preview_iteration: int | None = Field(None, description="Iteration of the latest preview.")
    webhook: Webhook | None = None
    base_url: str | None = Field(
        None, description="The API's base URL as the client saw it, for absolute links."
    )

    def to_redis(self) -> dict[str, str]:
        return encode_fields(dict(self))

    @classmethod
    def from_redis(cls, fields: dict[bytes, bytes]) -> "JobRecord":
        data: dict[str, Any] = {k.decode(): v.decode() for k, v in fields.items()}
        for name in _JSON_FIELDS:
            if name in data:
                data[name] = json.loads(data[name])
        return cls.model_validate(data)


_JSON_FIELDS = ("spec", "losses", "error", "result", "webhook")


def encode_fields(fields: dict[str, Any]) -> dict[str, str]:
    """Hash values are strings: models and dicts become JSON, None is not stored."""
    out = {}
    for name, value in fields.items():
        if value is None:
            continue
        if isinstance(value, BaseModel):
            value = value.model_dump(mode="json")
        out[name] = json.dumps(value) if name in _JSON_FIELDS else str(value)
    return out
