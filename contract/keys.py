"""The Redis key layout: one method per key, every key under one configurable prefix.

Everything the service stores lives under ``{prefix}:`` (``STYLIZE_KEY_PREFIX``), so two
deployments, or two test sessions, can share a Redis without seeing each other. RQ keeps
its own keys under ``rq:``; they are namespaced by our queue names, which carry the
prefix too (``rq:queue:{prefix}:fast``).

    {prefix}:job:{id}               hash     the job record (contract.jobs.JobRecord)
    {prefix}:job:{id}:result        string   encoded result image or video
    {prefix}:job:{id}:result:{n}    string   run n's result video while it is written
                                             (renamed to :result when the run finishes)
    {prefix}:job:{id}:content       string   a video job's content video (its own, not
                                             shared: deleted when the job finishes)
    {prefix}:job:{id}:preview       string   latest progress preview (JPEG): gatys, video
    {prefix}:job:{id}:cancel        string   present = cancellation requested
    {prefix}:image:{sha256}         string   an uploaded image (content, style or mask)
    {prefix}:style:{owner}:{sha256} string   JSON metadata: this owner uploaded this style
    {prefix}:jobs:{owner}           zset     job id -> created_at: an owner's jobs (GET /jobs)
    {prefix}:active:{owner}         zset     job id -> when its record expires: an owner's
                                             queued and running jobs (fair share)
    {prefix}:idempotency:{owner}:{h} string  JSON: the request an Idempotency-Key (sha256 h)
                                             created, and what it created
    {prefix}:webhooks:due           zset     delivery id -> when it is due (or its lease ends)
    {prefix}:webhook:{delivery}     hash     one webhook delivery: job, event, url, body, attempts
    {prefix}:secrets:urls           string   the key that signs result URLs (when not set)
    {prefix}:workers                zset     worker name -> when its lease runs out
    {prefix}:metrics:jobs           hash     "{method}|{status}" -> finished jobs
    {prefix}:metrics:failures       hash     reason (error code) -> failed jobs
    {prefix}:metrics:seconds:{m}    hash     job-duration histogram buckets of method m
    {prefix}:metrics:style_cache    hash     "hit" / "miss" -> style lookups

Every key except the metrics keys, the due-deliveries set (empty when nothing is due) and
the URL-signing key has a TTL (``STYLIZE_JOB_TTL``, ``STYLIZE_STYLE_TTL``).
"""

from dataclasses import dataclass
from typing import Literal, get_args

QueueKind = Literal["fast", "slow", "video"]
QUEUE_KINDS: tuple[QueueKind, ...] = get_args(QueueKind)


@dataclass(frozen=True)
class Keys:
    prefix: str

    # -- jobs --------------------------------------------------------------------------
    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def result(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:result"

    def staged_result(self, job_id: str, attempt: int) -> str:
        return f"{self.prefix}:job:{job_id}:result:{attempt}"

    def video(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:content"

    def preview(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:preview"

    def cancel(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}:cancel"

    # -- inputs ----------------------------------------------------------------------------
    def image(self, sha256: str) -> str:
        return f"{self.prefix}:image:{sha256}"

    def style(self, owner: str, sha256: str) -> str:
        return f"{self.prefix}:style:{owner}:{sha256}"

    # -- owners: listing, fair share, idempotency ------------------------------------------
    def owner_jobs(self, owner: str) -> str:
        return f"{self.prefix}:jobs:{owner}"

    def active_jobs(self, owner: str) -> str:
        return f"{self.prefix}:active:{owner}"

    def active_jobs_prefix(self) -> str:
        """``active_jobs(owner)`` is this plus the owner (for scripts that read the owner)."""
        return f"{self.prefix}:active:"

    def idempotency(self, owner: str, key_hash: str) -> str:
        return f"{self.prefix}:idempotency:{owner}:{key_hash}"

    # -- webhooks and signed URLs ----------------------------------------------------------
    def webhooks_due(self) -> str:
        return f"{self.prefix}:webhooks:due"

    def webhook(self, delivery_id: str) -> str:
        return f"{self.prefix}:webhook:{delivery_id}"

    def url_secret(self) -> str:
        return f"{self.prefix}:secrets:urls"

    # -- workers and queues ----------------------------------------------------------------
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    def queue(self, kind: QueueKind) -> str:
        """The RQ queue name (RQ stores it as ``rq:queue:{this}``)."""
        return f"{self.prefix}:{kind}"

    # -- metrics -----------------------------------------------------------------------------
    def metrics_jobs(self) -> str:
        return f"{self.prefix}:metrics:jobs"

    def metrics_failures(self) -> str:
        return f"{self.prefix}:metrics:failures"

    def metrics_seconds(self, method: str, media: str = "image") -> str:
        # Image jobs keep the key they had before videos were counted apart.
        suffix = "" if media == "image" else f":{media}"
        return f"{self.prefix}:metrics:seconds:{method}{suffix}"

    def metrics_style_cache(self) -> str:
        return f"{self.prefix}:metrics:style_cache"
