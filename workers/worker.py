"""The worker process: RQ's ``SimpleWorker`` with a lease, so lost jobs come back fast.

Why ``SimpleWorker``: RQ's default worker forks a child per job, and a child would have
to load the networks again (or share them copy-on-write until torch touches them). The
simple worker runs every job in this process, with the engine loaded once.

How a job survives ``kill -9`` of its worker (RQ 3.0):

1. Taking a job, the worker puts it in the queue's ``StartedJobRegistry`` (a sorted set
   ``rq:wip:{queue}``) scored by an expiry time: now + ``get_heartbeat_ttl``.
2. While the job runs, a ``_LeaseKeeper`` thread pushes that expiry forward every
   ``STYLIZE_WORKER_HEARTBEAT`` seconds (``maintain_heartbeats``). Stock ``SimpleWorker``
   has no such thread: it registers the job once for its timeout + 60 s, so a killed
   worker's job would sit there for the whole job timeout.
3. A killed worker stops renewing; ``STYLIZE_WORKER_LEASE`` seconds later its entry has
   expired. Every live worker runs RQ's maintenance every ``STYLIZE_WORKER_MAINTENANCE``
   seconds (``clean_registries`` → ``StartedJobRegistry.cleanup``), which takes expired
   entries of jobs still ``started``, calls the job's failure callback with
   ``AbandonedJobError`` (``workers.jobs.on_job_failure`` puts the record back to
   ``queued``) and re-enqueues the job at the front if it has retries left
   (``Retry(max=STYLIZE_RETRY_LIMIT)``), or fails it (the callback records
   ``worker_lost``).

Taking a job is atomic, whatever the number of queues: ``StylizeQueue.dequeue_any`` moves
the job id from its queue into the queue's intermediate list in one step (RQ itself does
this only for a worker of one queue, and pops with BLPOP otherwise, so a worker killed
between the pop and step 1 lost the job). RQ's maintenance re-queues a job left in an
intermediate list by a worker that died before step 1.

An idle worker blocks on the queue for at most one heartbeat interval, so its heartbeat
and maintenance run on time too. Each heartbeat also renews the worker's entry in
``contract.presence``, which ``/readyz`` counts as a live worker.

When Redis goes away, RQ's loop ends (or never starts); ``run_worker`` starts it again
with a capped exponential backoff, one log line per attempt. A loop that lost Redis
mid-job cannot deregister, and Redis's append-only file keeps its registration, so a
new loop takes over a registration of its own name that is provably stale
(``StylizeWorker.register_birth``) instead of waiting for it to expire.
"""

import logging
import math
import os
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.callbacks import execute_failure_callback
from rq.exceptions import AbandonedJobError, DequeueTimeout
from rq.executions import Execution
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job
from rq.queue import Queue
from rq.utils import as_text, now, utcparse
from rq.worker import WorkerStatus

from contract import presence
from contract.jobs import METHODS_OF_QUEUE
from contract.keys import Keys, QueueKind
from contract.settings import Settings, connect_redis
from workers.jobs import JobFailed
from workers.scratch import process_exists, sweep_orphans
from workers.webhooks import start_delivery_threads

log = logging.getLogger("stylize.worker")

FIRST_RETRY = 1.0  # seconds before the first new attempt after the loop ended
MAX_RETRY = 5.0  # the backoff's cap: a worker is back within this long of Redis


def run_worker(
    settings: Settings, kinds: list[QueueKind], name: str, *, burst: bool, log_level: str
) -> int:
    """Load the engine, then work; if the loop ends because Redis went away (or was never
    there), start it again (same engine, same name) until the process is stopped, waiting
    ``FIRST_RETRY`` seconds, then twice as long each time up to ``MAX_RETRY``."""
    from workers.engine import load_engine

    sweep_orphans()  # video scratch folders of workers killed on this host
    connection = connect_redis(settings)
    start_delivery_threads(settings, connection)  # webhooks go out while the engine loads
    served = list(dict.fromkeys(method for kind in kinds for method in METHODS_OF_QUEUE[kind]))
    load_engine(settings, warm_up=served if settings.worker_warm_up else ())
    queues = [settings.keys.queue(kind) for kind in kinds]
    delay = FIRST_RETRY
    while True:
        worker = None
        try:
            worker = StylizeWorker(queues, settings=settings, connection=connection, name=name)
            worker.work(burst=burst, logging_level=log_level.upper())
            reason = "the worker loop ended"
        except RedisError as error:
            reason = f"cannot reach Redis at {redis_address(settings.redis_url)} ({error})"
        except NameTaken as error:
            reason = str(error)
        if burst or (worker is not None and worker.stop_requested):
            return 0
        if worker is not None and worker.birth_date is not None:
            delay = FIRST_RETRY  # it had been working: start the backoff afresh
        with suppress(RedisError):  # not taking jobs now: /readyz must not count it
            presence.leave(connection, settings.keys, name)
        log.warning("%s; next attempt in %.0f s", reason, delay)
        time.sleep(delay)
        delay = min(delay * 2, MAX_RETRY)


def redis_address(url: str) -> str:
    """The Redis URL without its credentials, for log lines."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


class NameTaken(Exception):
    """A live worker elsewhere is registered under this worker's name."""


_MOVE_FIRST = """
for i = 1, #KEYS, 2 do
  local id = redis.call('LMOVE', KEYS[i], KEYS[i + 1], 'LEFT', 'RIGHT')
  if id then return {KEYS[i], id} end
end
return false
"""

BLOCK_SLICE = 1  # seconds an idle worker of several queues blocks on its first queue at a time


class StylizeQueue(Queue):
    """RQ's queue, with a pop that is atomic for any number of queues."""

    @classmethod
    def dequeue_any(
        cls,
        queues: Iterable[Queue],
        timeout: int | None,
        connection: Redis,
        job_class: Any = None,
        serializer: Any = None,
        death_penalty_class: Any = None,
    ) -> tuple[Job, Queue] | None:
        """The first job of the first non-empty queue, moved into that queue's
        intermediate list by one Lua script (``LMOVE``, Redis 6.2). When all are empty,
        block (``BLMOVE``) on the first queue, ``BLOCK_SLICE`` seconds at a time while
        there are others to look at again, until ``timeout`` (``DequeueTimeout``); a
        ``timeout`` of None does not block."""
        queues = list(queues)
        keys = [key for queue in queues for key in (queue.key, _intermediate(queue.key))]
        move_first = connection.register_script(_MOVE_FIRST)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            popped = move_first(keys=keys)
            if not popped and deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DequeueTimeout(timeout, [queue.key for queue in queues])
                wait = math.ceil(left) if len(queues) == 1 else min(BLOCK_SLICE, math.ceil(left))
                job_id = connection.blmove(keys[0], keys[1], wait)
                popped = [keys[0], job_id] if job_id is not None else None
            if not popped:
                if deadline is None:
                    return None
                continue
            queue_key, job_id = (as_text(part) for part in popped)
            fetched = cls._fetch_dequeued_job(
                connection,
                queue_key,
                job_id,
                job_class=job_class,
                serializer=serializer,
                death_penalty_class=death_penalty_class,
            )
            if fetched is not None:
                return fetched


def _intermediate(queue_key: str) -> str:
    return IntermediateQueue.get_intermediate_queue_key(queue_key)


class StylizeWorker(SimpleWorker):
    queue_class = StylizeQueue
    # Back off at most this long between attempts to reach Redis while idle (RQ: 60 s).
    max_connection_wait_time = 5.0

    def __init__(
        self, queues: list[str], *, settings: Settings, connection: Redis, name: str | None = None
    ) -> None:
        self.keys: Keys = settings.keys
        self.lease = settings.worker_lease
        self.heartbeat_interval = settings.worker_heartbeat
        self.stop_requested = False
        super().__init__(
            queues,
            name=name,
            connection=connection,
            worker_ttl=settings.worker_lease,
            job_monitoring_interval=settings.worker_heartbeat,
            maintenance_interval=settings.worker_maintenance,
        )

    @property
    def dequeue_timeout(self) -> int:
        return self.heartbeat_interval

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        return self.lease

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        super().heartbeat(self.lease, pipeline=pipeline)
        presence.beat(
            pipeline if pipeline is not None else self.connection, self.keys, self.name, self.lease
        )

    def register_birth(self) -> None:
        """RQ refuses a name that is registered without a death date. Such a registration
        is taken over when it is stale (``_registration_is_stale``); a live one elsewhere
        is ``NameTaken``."""
        registered = self.connection.hgetall(self.key)
        if registered and b"death" not in registered:
            if not self._registration_is_stale(registered):
                raise NameTaken(
                    f"a live worker named {self.name!r} is registered (host "
                    f"{registered.get(b'hostname', b'?').decode()}, pid "
                    f"{registered.get(b'pid', b'?').decode()}); worker names must be unique"
                )
            log.info("worker %s: taking over its stale registration", self.name)
            self.register_death()
        super().register_birth()

    def _registration_is_stale(self, registered: dict[bytes, bytes]) -> bool:
        """Left by this very process (a loop that lost Redis before it could deregister),
        by a process of this host that is gone, or silent for longer than a lease."""
        pid = int(registered.get(b"pid", b"0") or 0)
        here = registered.get(b"hostname", b"").decode() == self.hostname
        if here and (pid == os.getpid() or not process_exists(pid)):
            return True
        heartbeat = registered.get(b"last_heartbeat")
        return heartbeat is None or now() - utcparse(heartbeat.decode()) > timedelta(
            seconds=self.lease
        )

    def register_death(self) -> None:
        """Deregister, if Redis lets us: when it does not, the next loop (or process) of
        this name takes the registration over."""
        try:
            presence.leave(self.connection, self.keys, self.name)
            super().register_death()
        except RedisError as error:
            log.warning("worker %s: could not deregister: %s", self.name, error)

    def unsubscribe(self) -> None:
        """Stop listening for RQ's commands, even when Redis is gone (or each new loop
        would leave a pubsub thread behind)."""
        try:
            super().unsubscribe()
        except RedisError:
            self.pubsub_thread.stop()
            self.pubsub_thread.join(timeout=1)
            with suppress(RedisError):
                self.pubsub.close()

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_requested = True
        super().request_stop(signum, frame)

    def handle_exception(self, job: Job, *exc_info: Any) -> None:
        """A ``JobFailed`` job failed for its own reasons (bad input, timeout, a bug), is
        recorded and logged, and would fail again: RQ files it as failed, with the error,
        and does not retry it (its ``Retry`` is for lost workers). Anything else is RQ's."""
        if isinstance(exc_info[1], JobFailed):
            job.retries_left = 0
            return
        super().handle_exception(job, *exc_info)

    def handle_job_failure(
        self,
        job: Job,
        queue: Queue,
        started_job_registry: Any = None,
        exc_string: str = "",
        execution: Execution | None = None,
    ) -> None:
        """Without an execution the job never started: RQ's maintenance found it in an
        intermediate list, taken by a worker that died before starting it. That is a lost
        worker, so the job's failure callback hears of it as one (RQ's cleanup does not
        call it), and the record goes back to queued, or to ``worker_lost`` when RQ has
        no retry left for it."""
        if execution is None:
            abandoned = AbandonedJobError()
            execute_failure_callback(
                job, self.death_penalty_class, AbandonedJobError, abandoned, None
            )
        super().handle_job_failure(job, queue, started_job_registry, exc_string, execution)

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        """Every pop left the job in its queue's intermediate list (``StylizeQueue``), not
        only a single-queue worker's, so take it out once the run is registered."""
        super().prepare_job_execution(job, remove_from_intermediate_queue=True)

    def execute_job(self, job: Job, queue: Queue) -> None:
        execution = self.prepare_execution(job)
        with _LeaseKeeper(self, job, execution):
            self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)


class _LeaseKeeper:
    """Renews the running job's lease from a thread while the main thread computes."""

    def __init__(self, worker: StylizeWorker, job: Job, execution: Execution) -> None:
        self.worker, self.job, self.execution = worker, job, execution
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)

    def __enter__(self) -> "_LeaseKeeper":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.worker.heartbeat_interval):
            try:
                self.worker.maintain_heartbeats(self.job, self.execution)
            except Exception as error:  # never kill the job over a missed heartbeat
                log.warning(
                    "job %s: heartbeat failed: %s",
                    self.job.id,
                    error,
                    extra={"job_id": self.job.id},
                )
