"""Whatever happens inside a job, the worker records an outcome and takes the next job:
engine errors become failed jobs with the engine's code, message and field, and RQ's own
registries (what rq-dashboard shows) agree with the record."""

import hashlib
import time

from rq import Queue
from rq.job import Job

from contract.keys import Keys
from contract.settings import Settings
from contract.store import JobStore
from models.params import StyleParams
from service.queueing import enqueue_job
from service.uploads import Upload
from tests.support.images import content_upload

BROKEN_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(data: bytes) -> Upload:
    """An upload as the API would pass it on, but without the API's checks."""
    return Upload("content", data, hashlib.sha256(data).hexdigest(), "PNG", 8, 8)


def rq_status(job_id: str, redis, want: str, timeout: float = 10.0) -> str:
    """RQ's status of the job once it reads `want`, or its last status after `timeout`.

    The worker writes our job record inside the job; RQ files the job as finished or
    failed only after the job function returns, so a client that sees the record first
    may briefly find RQ still saying "started".
    """
    deadline = time.monotonic() + timeout
    while True:
        status = Job.fetch(job_id, connection=redis).get_status()
        if status == want or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def enqueue_unchecked(api, content: Upload, styles: list[Upload | str]) -> str:
    """Straight onto the session worker's queue, past the checks that would refuse it."""
    prefix = api.settings.key_prefix
    store = JobStore(api.client.app.state.redis, Keys(prefix))
    params = StyleParams(size=128, style_size=128)
    admission = enqueue_job(
        store, Settings(key_prefix=prefix), "anonymous", params, content, styles, None
    )
    return admission.record.id


def test_an_undecodable_input_fails_the_job_and_the_worker_takes_the_next(api):
    broken = upload(BROKEN_PNG)

    failed = api.wait(enqueue_unchecked(api, broken, [broken]), timeout=60)
    good = api.submit(headers={"Prefer": "wait=60"}).json()

    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "invalid_image"
    assert failed["error"]["field"] == "content"
    assert "not a decodable image" in failed["error"]["message"]
    assert good["status"] == "succeeded"


def test_an_input_that_expired_while_queued_fails_the_job_naming_it(api):
    never_stored = "cd" * 32

    job = api.wait(enqueue_unchecked(api, upload(content_upload()[1]), [never_stored]), timeout=60)

    assert job["status"] == "failed"
    assert job["error"] == {
        "code": "input_expired",
        "message": "the style image has expired; submit the job again",
        "field": "style",
    }


def test_rq_files_a_failed_job_as_failed_with_its_error_and_does_not_retry_it(api, redis):
    broken = upload(BROKEN_PNG)

    job_id = enqueue_unchecked(api, broken, [broken])
    assert api.wait(job_id, timeout=60)["status"] == "failed"

    queue = Queue(Keys(api.settings.key_prefix).queue("fast"), connection=redis)
    assert rq_status(job_id, redis, "failed") == "failed"
    rq_job = Job.fetch(job_id, connection=redis)
    assert job_id in queue.failed_job_registry.get_job_ids()
    assert job_id not in queue.finished_job_registry.get_job_ids()
    assert "invalid_image: " in rq_job.latest_result().exc_string
    assert job_id not in queue.get_job_ids()  # not queued again: it would fail the same way
    assert api.job(job_id)["attempts"] == 1


def test_rq_files_a_succeeded_job_as_finished(api, redis):
    job = api.submit(headers={"Prefer": "wait=60"}).json()
    assert job["status"] == "succeeded"

    queue = Queue(Keys(api.settings.key_prefix).queue("fast"), connection=redis)
    assert rq_status(job["id"], redis, "finished") == "finished"
    assert job["id"] in queue.finished_job_registry.get_job_ids()
