"""The API's side of the queue: enqueue a checked job, cancel it, look at the queues.

Synchronous (blocking Redis calls); the routes run these in the thread pool.
"""

import asyncio
import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq import Callback, Queue, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from starlette.concurrency import run_in_threadpool

from contract.jobs import (
    JOB_FAILURE_CALLBACK,
    JOB_FUNCTION,
    JobRecord,
    JobSpec,
    JobStatus,
    VideoInput,
    VideoJob,
    Webhook,
    queue_for,
)
from contract.keys import QUEUE_KINDS, Keys, QueueKind
from contract.notify import notify
from contract.presence import live_workers
from contract.settings import Settings
from contract.store import JobStore
from models.params import StyleParams
from models.video.params import VideoParams
from service.errors import Busy, Conflict, NotFound, QueueFull, TooManyActiveJobs
from service.idempotency import Claim, remember, remembered
from service.uploads import Upload

RETRY_AFTER: dict[str, int] = {"fast": 10, "slow": 120, "video": 120}  # about one job's time


@dataclass(frozen=True)
class Admission:
    record: JobRecord
    replayed: bool  # an Idempotency-Key's earlier job, nothing new queued


MAX_TRIES = 100
"""Optimistic transactions that lost a race start again; each loss means another request
got in, so this bound is only reached under an absurd burst (then 503, retry)."""


def enqueue_job(
    store: JobStore,
    settings: Settings,
    owner: str,
    params: StyleParams,
    content: Upload,
    styles: Sequence[Upload | str],
    mask: Upload | None,
    *,
    video: VideoParams | None = None,
    webhook: Webhook | None = None,
    base_url: str | None = None,
    claim: Claim | None = None,
) -> Admission:
    """Admit the job in one atomic step: check the queue's depth (429 ``queue_full``) and
    the owner's active jobs (429 ``too_many_active_jobs``), claim the Idempotency-Key,
    store the inputs and the record, and enqueue the job id.

    Atomic through WATCH/MULTI on the queue, the owner's active set and the key: if any
    of them changes between the checks and the writes (another request admitted, a
    worker took a job), the transaction is refused and the step starts again, so the caps
    hold exactly under any concurrency, across API processes. ``styles`` are uploads, or
    sha256 ids of styles ``owner`` uploaded before (checked by the caller).

    A video content (``video``: its output settings) is the job's own: written in chunks
    under ``Keys.video(id)`` before the transaction (it is too big to resend on every
    retry of it) and deleted again if the job is not admitted.
    """
    kind = queue_for(params.method, video is not None)
    queue = Queue(store.keys.queue(kind), connection=store.redis)
    ttl = settings.job_ttl
    spec = JobSpec(
        params=params,
        content=content.sha256,
        styles=tuple(s if isinstance(s, str) else s.sha256 for s in styles),
        mask=mask.sha256 if mask else None,
        ttl=ttl,
        video=_video_job(content, video),
    )
    now = time.time()
    record = JobRecord(
        id=uuid.uuid4().hex,
        owner=owner,
        status=JobStatus.queued,
        method=params.method,
        queue=kind,
        spec=spec,
        created_at=now,
        expires_at=now + ttl,
        webhook=webhook,
        base_url=base_url,
    )
    images = [*styles, mask] if spec.video else [content, *styles, mask]
    if spec.video:
        store.put_video(record.id, content.data, ttl)
    admitted = False
    active = store.keys.active_jobs(owner)
    watched = [queue.key, active] + ([claim.key] if claim else [])
    try:
        with store.redis.pipeline() as pipe:
            for _ in range(MAX_TRIES):
                try:
                    pipe.watch(*watched)
                    if claim is not None:
                        earlier = _earlier_job(store, owner, remembered(pipe.get(claim.key), claim))
                        if earlier is not None:
                            return Admission(earlier, replayed=True)
                    _check_caps(pipe, settings, kind, queue.key, active)
                    pipe.multi()
                    pipe.zremrangebyscore(active, "-inf", time.time())  # expired, never finished
                    for upload in images:
                        if isinstance(upload, Upload):
                            store.put_image(upload.sha256, upload.data, ttl, pipe)
                        elif isinstance(upload, str):
                            store.keep_style(owner, upload, ttl, pipe)
                    store.create(record, pipe)
                    if claim is not None:
                        remember(pipe, claim, record.id, ttl)
                    _enqueue(queue, record, store.keys.prefix, settings, pipe)
                    pipe.execute()
                    admitted = True
                    return Admission(record, replayed=False)
                except WatchError:
                    continue
        raise Busy("too many submissions at this moment; retry in a second")
    finally:
        if spec.video and not admitted:
            store.delete_video(record.id)


def _video_job(content: Upload, video: VideoParams | None) -> VideoJob | None:
    """The video part of the spec: the output settings, and the source as probed."""
    if video is None:
        return None
    info = content.video
    if info is None:
        raise ValueError("video parameters for a content that is not a video")
    source = VideoInput(
        container=info.format,
        width=info.width,
        height=info.height,
        frames=info.frames,
        fps=round(info.fps, 3),
        duration=round(info.duration, 3),
        has_audio=info.has_audio,
    )
    return VideoJob(params=video, source=source)


def _check_caps(
    pipe: Pipeline, settings: Settings, kind: QueueKind, queue: str, active: str
) -> None:
    depth = settings.queue_depth(kind)
    if pipe.llen(queue) >= depth:
        raise QueueFull(
            f"the {kind} queue is full ({depth} jobs waiting); retry later",
            retry_after=RETRY_AFTER[kind],
        )
    cap = settings.max_active_jobs_per_key
    if cap and pipe.zcount(active, time.time(), "+inf") >= cap:
        raise TooManyActiveJobs(
            f"this API key already has {cap} jobs queued or running, the most it may have; "
            "retry when one has finished",
            retry_after=RETRY_AFTER[kind],
        )


def _earlier_job(store: JobStore, owner: str, job_id: str | None) -> JobRecord | None:
    if job_id is None:
        return None
    record = store.get(job_id)
    return record if record is not None and record.owner == owner else None


def _enqueue(
    queue: Queue, record: JobRecord, prefix: str, settings: Settings, pipe: Pipeline
) -> None:
    queue.enqueue_call(
        JOB_FUNCTION,
        args=(record.id, prefix),
        job_id=record.id,
        description=f"stylize {record.method} {record.id}",
        timeout=settings.job_timeout(record.queue),
        ttl=record.spec.ttl,
        result_ttl=record.spec.ttl,
        failure_ttl=record.spec.ttl,
        # Retries are for lost workers only: the job function itself never raises.
        retry=Retry(max=settings.retry_limit, enqueue_at_front=True)
        if settings.retry_limit
        else None,
        on_failure=Callback(JOB_FAILURE_CALLBACK),
        pipeline=pipe,
    )


def cancel_job(store: JobStore, settings: Settings, record: JobRecord) -> JobRecord:
    """Cancel at once if queued (and tell its webhook; a video's upload is deleted); if
    running, raise the flag the worker checks between cascade levels, Gatys iterations
    or video frames. Canceling a canceled job is a no-op; a job that succeeded or failed
    cannot be canceled (409)."""
    if record.status is JobStatus.canceled:
        return record
    if record.status.finished:
        raise Conflict(f"job already {record.status.value}", code="job_finished")
    store.request_cancel(record.id, record.spec.ttl)
    done = store.transition(
        record.id,
        JobStatus.canceled,
        [JobStatus.queued],
        {"finished_at": time.time(), "stage": "canceled"},
    )
    if done.applied:
        _drop_from_queue(store, record)
        if record.spec.video is not None:
            store.delete_video(record.id)
        notify(store, settings, record.id, "completed")
    return store.get(record.id) or record


def _drop_from_queue(store: JobStore, record: JobRecord) -> None:
    # If a worker took it meanwhile, it sees the status and skips the job.
    with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
        Job.fetch(record.id, connection=store.redis).cancel()


def queue_position(store: JobStore, record: JobRecord) -> int | None:
    """How many jobs are ahead of this one (0 = next), while it is queued."""
    if record.status is not JobStatus.queued:
        return None
    queue = Queue(store.keys.queue(record.queue), connection=store.redis)
    position = queue.get_job_position(record.id)
    return 0 if position is None else position  # None: a worker is taking it right now


def queue_depths(redis: Redis, keys: Keys) -> dict[str, int]:
    return {kind: Queue(keys.queue(kind), connection=redis).count for kind in QUEUE_KINDS}


def count_live_workers(redis: Redis, keys: Keys) -> int:
    return len(live_workers(redis, keys))


async def wait_for_job(store: JobStore, record: JobRecord, seconds: float) -> JobRecord:
    """Poll the record until it is finished or ``seconds`` have passed, without blocking
    the event loop: each poll is one Redis read in the thread pool, sleeps in between
    grow from 50 ms to half a second. 404 if the record expires meanwhile."""
    deadline = time.monotonic() + seconds
    pause = 0.05
    while not record.status.finished:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        await asyncio.sleep(min(pause, left))
        pause = min(pause * 1.5, 0.5)
        latest = await run_in_threadpool(store.get, record.id)
        if latest is None:
            raise NotFound("the job expired while waiting for it")
        record = latest
    return record
