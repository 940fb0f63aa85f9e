"""Taking a job off a queue is atomic for a worker of any number of queues: the job id
moves from its queue into that queue's intermediate list in one step, so a worker killed
before it registers the run leaves the job where RQ's maintenance gives it back."""

import hashlib
import time

import pytest
from rq import Queue, Retry
from rq.exceptions import DequeueTimeout

from contract.jobs import JOB_FUNCTION
from contract.settings import Settings, connect_redis
from contract.store import JobStore
from models.params import StyleParams
from service.queueing import enqueue_job
from service.uploads import Upload
from tests.support.images import png_bytes
from tests.support.keyspace import REDIS_URL
from workers.worker import StylizeWorker


@pytest.fixture
def worker(prefix):
    """A worker of both queues, in this process (it never runs a job here)."""
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix)
    queues = [settings.keys.queue("fast"), settings.keys.queue("slow")]
    return StylizeWorker(
        queues, settings=settings, connection=connect_redis(settings), name=f"{prefix}-w"
    )


def enqueue(worker: StylizeWorker, index: int) -> str:
    """An RQ job on the worker's ``index``-th queue (0: fast, 1: slow), retried as the
    API's are when their worker is lost."""
    queue = worker.queues[index]
    return queue.enqueue_call(JOB_FUNCTION, args=("0" * 32, "nowhere"), retry=Retry(max=2)).id


def pop(worker: StylizeWorker):
    return worker.queue_class.dequeue_any(worker.queues, 1, connection=worker.connection)


def intermediate(redis, queue: Queue) -> list[str]:
    return [i.decode() for i in redis.lrange(queue.intermediate_queue_key, 0, -1)]


def test_a_job_taken_from_the_second_queue_is_held_in_its_intermediate_list(worker, redis):
    job_id = enqueue(worker, 1)

    job, queue = pop(worker)

    assert (job.id, queue.name) == (job_id, worker.queues[1].name)
    assert intermediate(redis, queue) == [job_id]
    assert queue.count == 0


def test_the_first_queue_is_served_first(worker):
    enqueue(worker, 1)
    fast = enqueue(worker, 0)

    assert pop(worker)[0].id == fast


def test_an_idle_pop_times_out(worker):
    with pytest.raises(DequeueTimeout):
        pop(worker)


def test_registering_the_run_takes_the_job_out_of_the_intermediate_list(worker, redis):
    enqueue(worker, 1)
    job, queue = pop(worker)

    worker.prepare_job_execution(job)

    assert intermediate(redis, queue) == []


def test_a_job_whose_worker_died_before_registering_it_is_queued_again(worker, redis):
    job_id = enqueue(worker, 1)
    job, queue = pop(worker)  # ... and the worker dies here

    maintenance = queue.intermediate_queue  # what RQ's maintenance runs, in any worker
    maintenance.cleanup(worker, queue)  # the first look only notes the job
    redis.set(maintenance.get_first_seen_key(job_id), time.time() - 120)  # a while later
    maintenance.cleanup(worker, queue)

    assert intermediate(redis, queue) == []
    assert queue.get_job_ids() == [job_id]


def test_without_retries_left_such_a_job_fails_as_worker_lost_instead_of_staying_queued(
    worker, redis, prefix
):
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, retry_limit=0)
    store = JobStore(worker.connection, settings.keys)
    data = png_bytes(8, 8)
    image = Upload("content", data, hashlib.sha256(data).hexdigest(), "PNG", 8, 8)
    params = StyleParams(method="gatys")  # the slow queue: the worker's second
    job_id = enqueue_job(store, settings, "anonymous", params, image, [image], None).record.id
    job, queue = pop(worker)  # ... and the worker dies here

    maintenance = queue.intermediate_queue
    maintenance.cleanup(worker, queue)
    redis.set(maintenance.get_first_seen_key(job_id), time.time() - 120)
    maintenance.cleanup(worker, queue)

    record = store.get(job_id)
    assert record.status == "failed"
    assert record.error.code == "worker_lost"
    assert job_id in queue.failed_job_registry.get_job_ids()
