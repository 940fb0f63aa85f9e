"""The RQ job: read the inputs from Redis, run the engine, write the outcome to Redis.

Every outcome, including each engine error, a timeout or a bug, is written to the job
record as ``succeeded``, ``failed`` (with a code and message) or ``canceled``, and the
worker goes on to the next job. A failed job then raises ``JobFailed``, so that RQ's own
view (its failed registry, rq-dashboard) agrees with the record; the worker never
retries it (``StylizeWorker.handle_exception``): running it again would fail the same
way. RQ's retry is used for one thing only: a worker that died mid-job, which RQ
reports to ``on_job_failure`` as ``AbandonedJobError`` when it re-queues the job.

A video job streams: its content is copied from Redis to a temporary file a chunk at a
time, frames go from that file through the engine into an output file
(``models.video.stylize``), and the output goes back to Redis a chunk at a time. The
worker holds a few frames, never a whole video; its disk holds one input and one output
(in ``$TMPDIR``) while the job runs.
"""

import dataclasses
import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from rq import get_current_job
from rq.exceptions import AbandonedJobError
from rq.job import Job
from rq.timeouts import JobTimeoutException

from contract.jobs import JobError, JobRecord, JobSpec, JobStatus, ResultInfo, VideoJob
from contract.keys import Keys
from contract.metrics import record_job, record_style_cache
from contract.notify import notify
from contract.settings import Settings
from contract.store import JobStore
from models.errors import Canceled, StylizeError
from models.images import content_type, decode_image, decode_mask, encode_image
from models.types import ProgressCallback, ProgressEvent, StylizeResult
from models.video.stylize import stylize_video
from workers.engine import Engine, PreparedStyles, current_engine
from workers.progress import CancelFlag, ProgressReporter
from workers.scratch import scratch_folder

log = logging.getLogger("stylize.worker")

VIDEO_PREVIEW_SECONDS = 1.0
"""A video's latest frame is stored as its preview at most this often."""


class InputExpired(StylizeError):
    """An input image is no longer in Redis (its TTL passed while the job waited)."""

    code = "input_expired"


class ResultTooLarge(StylizeError):
    code = "result_too_large"


class JobFailed(Exception):
    """The job failed for a reason of its own, already in its record: ``code: message``."""

    def __init__(self, error: JobError) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error


@dataclass
class Outcome:
    status: JobStatus
    fields: dict[str, Any] = field(default_factory=dict)
    result: bytes | None = None
    error: JobError | None = None
    staged: bool = False  # the result is in Redis already, staged for this run (a video)


def run_stylize_job(job_id: str, key_prefix: str) -> str:
    """Run one job; returns its final status (RQ keeps it, nobody needs it), or raises
    ``JobFailed`` once a failure is recorded."""
    engine = current_engine()
    store = JobStore(engine.redis, Keys(key_prefix))
    record = store.get(job_id)
    if record is None:
        log.warning("job %s: record expired before it ran", job_id)
        return "expired"
    attempt = record.attempts + 1
    started = store.transition(
        job_id,
        JobStatus.running,
        [JobStatus.queued, JobStatus.running],  # running: a re-run after a lost worker
        {
            "started_at": time.time(),
            "attempts": attempt,
            "worker": _worker_name(),
            "stage": "starting",
            "fraction": 0.0,
        },
        # The record must outlive the run, however long the job waited in the queue.
        ttl=record.spec.ttl + (_timeout() or 0),
    )
    if not started.applied:
        return f"skipped ({started.previous})"
    notify(store, engine.settings, job_id, "start")
    clock = time.monotonic()
    progress = ProgressReporter(
        store,
        job_id,
        record.spec.ttl,
        announce=_progress_webhook(store, engine.settings, record),
        announce_every=engine.settings.webhook_progress_interval,
        preview_every=VIDEO_PREVIEW_SECONDS if record.spec.video else 0.0,
    )
    should_cancel = CancelFlag(store, job_id)
    try:
        if should_cancel():
            raise Canceled("canceled before it started")
        if (video := record.spec.video) is not None:
            outcome = _stylize_video(engine, store, record, video, attempt, progress, should_cancel)
        else:
            outcome = _stylize(engine, store, record, progress, should_cancel)
    except Canceled:
        outcome = Outcome(JobStatus.canceled, {"stage": "canceled"})
    except StylizeError as error:
        outcome = _failed(error.code, error.message, error.field)
    except JobTimeoutException:
        outcome = _failed(
            "timeout", f"the job ran longer than its limit of {_timeout()} seconds and was stopped"
        )
    except MemoryError:
        outcome = _failed("out_of_memory", "not enough memory for this size; try a smaller size")
    except Exception:
        log.exception("job %s: unexpected error", job_id)
        outcome = _failed(
            "internal_error", "the worker hit an unexpected error; it has been logged"
        )
    if not _finish(store, record, attempt, outcome, time.monotonic() - clock, engine.settings):
        return "superseded"
    if outcome.error is not None:
        raise JobFailed(outcome.error)
    return outcome.status.value


def on_job_failure(job: Job, connection: Any, exc_type: type, exc: BaseException, tb: Any) -> None:
    """RQ's failure callback. ``AbandonedJobError``: the worker running the job died
    (SIGKILL, OOM, lost machine) and its lease expired; RQ re-queues the job if it has
    retries left. ``JobFailed``: the record already says why. Anything else: the job
    function raised, which it only does when Redis itself failed under it."""
    job_id, key_prefix = job.args
    store = JobStore(connection, Keys(key_prefix))
    record = store.get(job_id)
    if record is None or record.status.finished:
        return
    if isinstance(exc, AbandonedJobError) and job.retries_left:
        log.warning("job %s: its worker was lost; RQ re-queues it", job_id)
        store.transition(
            job_id,
            JobStatus.queued,
            [JobStatus.running, JobStatus.queued],
            {"stage": "requeued (worker lost)", "fraction": 0.0},
        )
        return
    if isinstance(exc, AbandonedJobError):
        outcome = _failed(
            "worker_lost",
            f"the worker running this job stopped unexpectedly (attempt {record.attempts}, "
            "no retries left); submit it again, perhaps at a smaller size",
        )
    else:
        outcome = _failed(
            "internal_error", "the worker hit an unexpected error; it has been logged"
        )
    seconds = time.time() - record.started_at if record.started_at else 0.0
    _finish(store, record, record.attempts, outcome, seconds, Settings())


def _reader(store: JobStore) -> Callable[..., bytes]:
    """``read(sha256, field)``: an input image's bytes, or ``InputExpired``."""

    def read(sha256: str, field: str = "style") -> bytes:
        data = store.get_image(sha256)
        if data is None:
            raise InputExpired(f"the {field} image has expired; submit the job again", field=field)
        return data

    return read


def _mask_and_styles(
    engine: Engine, spec: JobSpec, read: Callable[..., bytes], progress: ProgressReporter
) -> tuple[Image.Image | None, PreparedStyles]:
    """The decoded mask (if any) and the encoded styles, from the cache when possible."""
    mask = (
        decode_mask(read(spec.mask, "mask"), field="mask", limits=engine.limits)
        if spec.mask
        else None
    )
    prepared = engine.prepare_styles(spec.styles, spec.params, read)
    progress.update(style_cache_hits=prepared.hits, style_cache_misses=prepared.misses)
    return mask, prepared


def _stylize(
    engine: Engine,
    store: JobStore,
    record: JobRecord,
    progress: ProgressReporter,
    should_cancel: CancelFlag,
) -> Outcome:
    spec, params = record.spec, record.spec.params
    read = _reader(store)
    progress.update(stage="decode")
    content = decode_image(
        read(spec.content, "content"), field="content", limits=engine.limits, longest=params.size
    )
    mask, prepared = _mask_and_styles(engine, spec, read, progress)
    result: StylizeResult = engine.stylizer.stylize(
        content, prepared.styles, params, mask=mask, progress=progress, should_cancel=should_cancel
    )
    data = encode_image(result.image, params.format, params.quality)
    if len(data) > engine.settings.max_result_bytes and params.format == "png":
        # PNG is written fast, not small: before refusing, the smallest PNG there is.
        data = encode_image(result.image, "png", smallest=True)
    if len(data) > engine.settings.max_result_bytes:
        raise ResultTooLarge(
            f"the result is {len(data):,} bytes, over the limit of "
            f"{engine.settings.max_result_bytes:,}; ask for a smaller size or jpeg",
            field="size",
        )
    info = ResultInfo(
        content_type=content_type(params.format),
        bytes=len(data),
        etag=hashlib.sha256(data).hexdigest()[:32],
        width=result.image.width,
        height=result.image.height,
        partial=result.canceled,
    )
    return _made(
        info,
        prepared,
        result.canceled,
        result=data,
        iteration=result.iterations,
        losses=result.losses or None,
    )


def _stylize_video(
    engine: Engine,
    store: JobStore,
    record: JobRecord,
    video: VideoJob,
    attempt: int,
    progress: ProgressReporter,
    should_cancel: CancelFlag,
) -> Outcome:
    """Run a video job: Redis → file → engine → file → Redis (staged for this run)."""
    spec, params = record.spec, record.spec.params
    read = _reader(store)
    with scratch_folder() as folder:
        source, output = Path(folder) / "content", Path(folder) / f"result.{video.params.format}"
        progress.update(stage="download")
        with open(source, "wb") as file:
            if not store.copy_video(record.id, file):
                raise InputExpired(
                    "the content video has expired; submit the job again", field="content"
                )
        mask, prepared = _mask_and_styles(engine, spec, read, progress)
        result = stylize_video(
            engine.stylizer,
            source,
            prepared.styles,
            output,
            params,
            video.params,
            mask=mask,
            limits=engine.video_limits,
            progress=_frames_done(progress),
            should_cancel=should_cancel,
            preview_every=1,  # offered every frame; stored every VIDEO_PREVIEW_SECONDS
        )
        size = output.stat().st_size
        if size > engine.settings.max_video_result_bytes:
            raise ResultTooLarge(
                f"the result is {size:,} bytes, over the limit of "
                f"{engine.settings.max_video_result_bytes:,}; ask for a smaller size or mp4",
                field="size",
            )
        with open(output, "rb") as file:
            etag = hashlib.file_digest(file, "sha256").hexdigest()[:32]
            file.seek(0)
            store.stage_result(record.id, attempt, file, spec.ttl)
    info = ResultInfo(
        content_type=result.content_type,
        bytes=size,
        etag=etag,
        width=result.width,
        height=result.height,
        partial=result.canceled,
        frames=result.frames,
        fps=round(result.fps, 3),
        duration=round(result.duration, 3),
        has_audio=result.has_audio,
    )
    return _made(info, prepared, result.canceled, staged=True, iteration=result.frames)


def _made(
    info: ResultInfo,
    prepared: PreparedStyles,
    canceled: bool,
    *,
    result: bytes | None = None,
    staged: bool = False,
    **fields: Any,
) -> Outcome:
    """The outcome of a run that made a result: succeeded, or canceled with a partial one
    (a Gatys job's best image, a video's frames so far)."""
    fields = {
        "result": info,
        "stage": "canceled" if canceled else "done",
        "style_cache_hits": prepared.hits,
        "style_cache_misses": prepared.misses,
        **fields,
    }
    if not canceled:
        fields["fraction"] = 1.0
    status = JobStatus.canceled if canceled else JobStatus.succeeded
    return Outcome(status, fields, result=result, staged=staged)


def _frames_done(progress: ProgressCallback) -> ProgressCallback:
    """The engine numbers frames from 0; a client counts frames done (20 of 20 at the end)."""

    def report(event: ProgressEvent) -> None:
        if event.stage == "frame" and event.iteration is not None:
            event = dataclasses.replace(event, iteration=event.iteration + 1)
        progress(event)

    return report


def _failed(code: str, message: str, field_name: str | None = None) -> Outcome:
    error = JobError(code=code, message=message, field=field_name)
    return Outcome(JobStatus.failed, {"error": error, "stage": "failed"}, error=error)


def _finish(
    store: JobStore,
    record: JobRecord,
    attempt: int,
    outcome: Outcome,
    seconds: float,
    settings: Settings,
) -> bool:
    """Store the result and the final status of run ``attempt`` in one step (a client
    that sees ``succeeded`` can fetch the image; record and result are kept ``ttl``
    seconds from now). False, and nothing written, if a newer run has taken the job over
    (this one was given up for lost while its worker was paused) or it has finished.
    Then the webhook, if the job has one, is told. A video job's content is deleted once
    it has finished: it is the job's own and needed no more."""
    ended = store.finish(
        record.id,
        attempt,
        outcome.status,
        {**outcome.fields, "finished_at": time.time()},
        outcome.result,
        record.spec.ttl,
        staged=outcome.staged,
    )
    if outcome.staged and not ended.applied:
        store.drop_staged(record.id, attempt)
    if record.spec.video is not None and ended.applied:
        store.delete_video(record.id)  # a newer run, if there is one, still needs it
    if not ended.applied:
        log.warning(
            "job %s: run %d's outcome (%s) dropped: the job is %s, or a newer run has it",
            record.id,
            attempt,
            outcome.status.value,
            ended.previous.value if ended.previous else "gone",
        )
        return False
    notify(store, settings, record.id, "completed")
    hits = outcome.fields.get("style_cache_hits", 0)
    misses = outcome.fields.get("style_cache_misses", 0)
    reason = outcome.error.code if outcome.error else None
    with store.redis.pipeline(transaction=False) as pipe:
        media = "image" if record.spec.video is None else "video"
        record_job(pipe, store.keys, record.method, media, outcome.status.value, seconds, reason)
        record_style_cache(pipe, store.keys, hits, misses)
        pipe.execute()
    log.info(
        "job %s: %s in %.2f s%s",
        record.id,
        outcome.status.value,
        seconds,
        f" ({outcome.error.code}: {outcome.error.message})" if outcome.error else "",
    )
    return True


def _progress_webhook(
    store: JobStore, settings: Settings, record: JobRecord
) -> Callable[[], object] | None:
    """What the progress reporter calls to announce progress, if the webhook wants it."""
    if record.webhook is None or "progress" not in record.webhook.events:
        return None
    return functools.partial(notify, store, settings, record.id, "progress")


def _worker_name() -> str | None:
    job = get_current_job()
    return job.worker_name if job else None


def _timeout() -> int | None:
    job = get_current_job()
    return job.timeout if job else None
