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

An idle worker blocks on the queue for at most one heartbeat interval, so its heartbeat
and maintenance run on time too. Each heartbeat also renews the worker's entry in
``contract.presence``, which ``/readyz`` counts as a live worker.
"""

import logging
import threading
import time
from contextlib import suppress
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.worker import WorkerStatus

from contract import presence
from contract.jobs import QUEUE_FOR_METHOD
from contract.keys import Keys, QueueKind
from contract.settings import Settings, connect_redis
from workers.webhooks import start_delivery_threads

log = logging.getLogger("stylize.worker")

RESTART_DELAY = 2.0  # seconds before a worker loop that lost Redis starts again


def run_worker(
    settings: Settings, kinds: list[QueueKind], name: str, *, burst: bool, log_level: str
) -> int:
    """Load the engine, then work; if the loop ends because Redis went away, start it
    again (same engine, same name) until Redis is back or the process is stopped."""
    from workers.engine import load_engine

    connection = connect_redis(settings)
    start_delivery_threads(settings, connection)  # webhooks go out while the engine loads
    served = [method for method, kind in QUEUE_FOR_METHOD.items() if kind in kinds]
    load_engine(settings, warm_up=served if settings.worker_warm_up else ())
    queues = [settings.keys.queue(kind) for kind in kinds]
    while True:
        worker = None
        try:
            worker = StylizeWorker(queues, settings=settings, connection=connection, name=name)
            worker.work(burst=burst, logging_level=log_level.upper())
        except (RedisError, ValueError) as error:  # ValueError: RQ says the name is taken
            log.warning("worker loop stopped: %s", error)
        if burst or (worker is not None and worker.stop_requested):
            return 0
        log.warning("worker loop ended unexpectedly; restarting in %.0f s", RESTART_DELAY)
        time.sleep(RESTART_DELAY)


class StylizeWorker(SimpleWorker):
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

    def register_death(self) -> None:
        with suppress(RedisError):
            presence.leave(self.connection, self.keys, self.name)
        super().register_death()

    def request_stop(self, signum: int, frame: Any) -> None:
        self.stop_requested = True
        super().request_stop(signum, frame)

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
