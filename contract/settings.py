"""Settings of the API and the workers, read from the environment (one class for both),
and the Redis client both sides connect with.

Every field is ``STYLIZE_<NAME>`` in the environment (``STYLIZE_JOB_TTL=600``), except
the Redis URL, which is the conventional ``REDIS_URL``. Lists are comma-separated.
The README has the table.
"""

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from redis import Redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from contract.keys import Keys
from models.images import ImageLimits
from models.params import MAX_SIDE
from models.video.source import DEFAULT_VIDEO_LIMITS, VideoLimits

CommaList = Annotated[tuple[str, ...], NoDecode]
REQUEST_SLACK = 50 * 2**20  # room beside the largest video for the style images and mask


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/stylize``, else ``~/.local/share/stylize``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share") / "stylize"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STYLIZE_", frozen=True, populate_by_name=True)

    # -- Redis -------------------------------------------------------------------------------
    redis_url: str = Field(
        "redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "STYLIZE_REDIS_URL"),
        description="Where the queue, inputs and results live.",
    )
    key_prefix: str = Field(
        "stylize",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="Namespace of every Redis key and queue name.",
    )
    redis_timeout: float = Field(5.0, gt=0, description="Redis socket timeout, seconds.")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where `stylize up` keeps the data of its embedded Redis.",
    )

    # -- access ------------------------------------------------------------------------------
    api_keys: CommaList = Field((), description="Bearer keys; empty = no authentication.")
    cors_origins: CommaList = Field((), description="Origins allowed to call from a browser.")
    metrics_token: str = Field(
        "", description="Bearer token for /metrics; empty = /metrics takes the API keys."
    )

    # -- uploads -----------------------------------------------------------------------------
    max_upload_bytes: int = Field(10 * 2**20, gt=0, description="Per uploaded image.")
    max_request_bytes: int | None = Field(
        None,
        gt=0,
        description="Whole request body; default: the video limit plus 50 MiB for the "
        "style images and the mask (`request_limit`).",
    )
    max_pixels: int = Field(40_000_000, gt=0, description="Per uploaded image (bomb guard).")
    max_side: int = Field(10_000, gt=0, description="Per uploaded image side, pixels.")
    max_size: int = Field(
        2048, ge=1, le=MAX_SIDE, description="Largest `size` / `style_size` a job may ask for."
    )
    # -- video uploads (content only) ---------------------------------------------------------
    max_video_bytes: int = Field(100 * 2**20, gt=0, description="Per uploaded video.")
    max_video_seconds: float = Field(
        DEFAULT_VIDEO_LIMITS.max_seconds, gt=0, description="Longest video, seconds."
    )
    max_video_frames: int = Field(
        DEFAULT_VIDEO_LIMITS.max_frames, gt=0, description="Most frames in a video."
    )
    max_video_pixels: int = Field(
        DEFAULT_VIDEO_LIMITS.max_pixels, gt=0, description="Per frame of a video, before resizing."
    )
    header_timeout: float = Field(
        10.0, gt=0, description="Seconds a client may take to send a request's headers."
    )
    body_timeout: float = Field(
        60.0, gt=0, description="Seconds a client may take to send a request body (408 after)."
    )

    # -- jobs --------------------------------------------------------------------------------
    job_ttl: int = Field(3600, gt=0, description="Seconds inputs, jobs and results are kept.")
    style_ttl: int = Field(3600, gt=0, description="Seconds an uploaded style is kept.")
    max_result_bytes: int = Field(32 * 2**20, gt=0, description="Largest result image stored.")
    max_video_result_bytes: int = Field(
        128 * 2**20, gt=0, description="Largest result video stored."
    )
    max_queue_depth: int = Field(100, ge=1, description="Per image queue; above it POST gets 429.")
    max_video_queue_depth: int = Field(
        10,
        ge=1,
        description="Videos waiting; above it POST gets 429 (each waits in Redis, whole).",
    )
    fast_timeout: int = Field(300, gt=0, description="Seconds an adain/wct job may run.")
    slow_timeout: int = Field(1800, gt=0, description="Seconds a gatys job may run.")
    video_timeout: int = Field(3600, gt=0, description="Seconds a video job may run.")
    retry_limit: int = Field(2, ge=0, description="Re-runs of a job whose worker died.")
    max_wait: float = Field(60.0, ge=0, description="Cap of `Prefer: wait=N`, seconds.")

    # -- integrations (webhooks, result URLs, fair share, live events) -----------------------
    public_url: str | None = Field(
        None,
        description="Base URL clients reach the API at (e.g. https://api.example.com), for the "
        "absolute links in job JSON and webhooks; default: the URL of the request.",
    )
    url_secret: str | None = Field(
        None,
        description="Key that signs result URLs; default: a random key kept in Redis, "
        "shared by every API process and worker of the deployment.",
    )
    max_active_jobs_per_key: int = Field(
        0, ge=0, description="Queued + running jobs one API key may have; 0 = no cap."
    )
    webhook_secret: str | None = Field(
        None,
        description="Signs webhook deliveries: `whsec_<base64>` or any string. Without it "
        "the `webhook` field is refused.",
    )
    webhook_allow_http: bool = Field(False, description="Accept http:// webhook URLs.")
    webhook_allow_private: bool = Field(
        False, description="Deliver to loopback, private and link-local addresses."
    )
    webhook_timeout: float = Field(5.0, gt=0, le=60, description="Seconds per delivery attempt.")
    webhook_attempts: int = Field(5, ge=1, le=20, description="Attempts per delivery.")
    webhook_backoff: float = Field(
        20.0, gt=0, description="Seconds before the first retry; each next one waits 3× longer."
    )
    webhook_progress_interval: float = Field(
        5.0, gt=0, description="Least seconds between two `progress` webhooks of a job."
    )
    events_interval: float = Field(
        0.25, gt=0, le=5, description="Seconds between two looks at a job for its live events."
    )

    # -- workers -----------------------------------------------------------------------------
    worker_heartbeat: int = Field(5, ge=1, description="Seconds between worker heartbeats.")
    worker_lease: int = Field(
        30, ge=2, description="Seconds without a heartbeat after which a job is abandoned."
    )
    worker_maintenance: int = Field(
        10, ge=1, description="Seconds between a worker's checks for abandoned jobs."
    )
    style_cache_size: int = Field(64, ge=0, description="Encoded styles kept per worker.")
    worker_warm_up: bool = Field(
        True, description="Run a tiny job per method at start, before taking real jobs."
    )
    torch_threads: int = Field(0, ge=0, description="Threads per worker; 0 = torch's choice.")
    keep_freed_memory: bool = Field(
        True,
        description="Workers keep freed memory for the next job instead of returning it to "
        "the OS (about 2× faster at 1024 px on CPU; RSS stays at the largest job's peak).",
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _lease_outlives_heartbeat(self) -> "Settings":
        if self.worker_lease <= 2 * self.worker_heartbeat:
            raise ValueError(
                "STYLIZE_WORKER_LEASE must be more than twice STYLIZE_WORKER_HEARTBEAT, or "
                "a busy worker's job could be taken for abandoned between two heartbeats"
            )
        return self

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.key_prefix)

    @cached_property
    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_bytes=self.max_upload_bytes, max_pixels=self.max_pixels, max_side=self.max_side
        )

    @cached_property
    def video_limits(self) -> VideoLimits:
        return VideoLimits(
            max_bytes=self.max_video_bytes,
            max_seconds=self.max_video_seconds,
            max_frames=self.max_video_frames,
            max_pixels=self.max_video_pixels,
        )

    @property
    def max_content_bytes(self) -> int:
        """The content is read up to this before it is known to be an image or a video."""
        return max(self.max_upload_bytes, self.max_video_bytes)

    @property
    def request_limit(self) -> int:
        """The cap on a whole request body (the ``BodyLimits`` middleware). It is read
        before the form is parsed, so it cannot depend on what the content is: by
        default it admits the largest video plus 50 MiB of style images and mask."""
        return self.max_request_bytes or self.max_video_bytes + REQUEST_SLACK

    def job_timeout(self, queue: str) -> int:
        return {"slow": self.slow_timeout, "video": self.video_timeout}.get(
            queue, self.fast_timeout
        )

    def queue_depth(self, queue: str) -> int:
        """Most jobs waiting in ``queue`` (then 429)."""
        return self.max_video_queue_depth if queue == "video" else self.max_queue_depth


def connect_redis(settings: Settings) -> Redis:
    """A client that fails fast (about a second) when Redis is down, so the API can answer
    503 at once, and reconnects by itself when Redis is back. Bytes in, bytes out (RQ
    needs ``decode_responses=False``)."""
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=min(settings.redis_timeout, 2.0),
        socket_timeout=settings.redis_timeout,
        health_check_interval=30,
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=2),
    )
