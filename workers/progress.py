"""Progress and cancellation of a running job, through Redis.

The engine calls ``progress(event)`` and ``should_cancel()``; these write the event into
the job record (at most every ``min_interval`` seconds, except stage changes) and read
the cancel flag that ``DELETE /jobs/{id}`` sets.
"""

import logging
import time
from collections.abc import Callable

from redis.exceptions import RedisError

from contract.store import JobStore
from models.images import encode_image
from models.types import ProgressEvent

log = logging.getLogger("stylize.worker")

PREVIEW_QUALITY = 80


class ProgressReporter:
    """``announce`` (the job's progress webhook, if it wants one) is called after a write,
    at most every ``announce_every`` seconds. Previews are stored at most every
    ``preview_every`` seconds (0: each one; a video offers one per frame)."""

    def __init__(
        self,
        store: JobStore,
        job_id: str,
        ttl: int,
        min_interval: float = 0.25,
        announce: Callable[[], object] | None = None,
        announce_every: float = 5.0,
        preview_every: float = 0.0,
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.ttl = ttl
        self.min_interval = min_interval
        self.announce = announce
        self.announce_every = announce_every
        self.preview_every = preview_every
        self._last_stage: str | None = None
        self._last_write = 0.0
        self._last_announce: float | None = None
        self._last_preview: float | None = None

    def __call__(self, event: ProgressEvent) -> None:
        now = time.monotonic()
        previewed = self._last_preview
        if event.preview is not None and (
            previewed is None or now - previewed >= self.preview_every
        ):
            self._last_preview = now
            self._save_preview(event)
        if event.stage == self._last_stage and now - self._last_write < self.min_interval:
            return
        self._last_stage, self._last_write = event.stage, now
        self.update(
            stage=event.stage,
            fraction=round(min(max(event.fraction, 0.0), 1.0), 4),
            iteration=event.iteration,
            total=event.total,
            losses=event.losses,
        )
        last = self._last_announce
        if self.announce is not None and (last is None or now - last >= self.announce_every):
            self._last_announce = now
            self.announce()

    def update(self, **fields: object) -> None:
        """Progress is advisory: a failed write is logged, never fails the job."""
        try:
            self.store.update(self.job_id, fields)
        except RedisError as error:
            log.warning("job %s: progress not recorded: %s", self.job_id, error)

    def _save_preview(self, event: ProgressEvent) -> None:
        try:
            data = encode_image(event.preview, "jpeg", PREVIEW_QUALITY)
            self.store.put_preview(self.job_id, data, self.ttl)
            self.store.update(self.job_id, {"preview_iteration": event.iteration or 0})
        except RedisError as error:
            log.warning("job %s: preview not recorded: %s", self.job_id, error)


class CancelFlag:
    """``should_cancel`` for the engine: true once the job's cancel flag is set."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id

    def __call__(self) -> bool:
        try:
            return self.store.cancel_requested(self.job_id)
        except RedisError:
            return False  # keep working; the result is still wanted if Redis comes back
