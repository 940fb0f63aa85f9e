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
from tests.support.images import content_upload, style_upload

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


def _result_png_sizes(size: int) -> tuple[int, int]:
    """The bytes of the default job's result at ``size`` px as the fast and as the smallest
    PNG, stylized here as the worker will (same engine, same inputs)."""
    from models.images import decode_image, encode_image
    from models.stylizer import Stylizer

    content, style = content_upload(), style_upload()
    params = StyleParams(size=size, style_size=size)
    image = (
        Stylizer(device="cpu")
        .stylize(
            decode_image(content[1], longest=size), [decode_image(style[1], longest=size)], params
        )
        .image
    )
    return len(encode_image(image, "png")), len(encode_image(image, "png", smallest=True))


def test_a_png_over_the_size_limit_is_written_smaller_before_the_job_is_refused(
    make_api, start_worker, prefix
):
    fast, smallest = _result_png_sizes(128)
    assert smallest < 0.98 * fast  # the margin the limit below sits in
    limit = round(0.99 * fast)  # over it the fast PNG, under it the smallest one
    start_worker(prefix, f"{prefix}-w", STYLIZE_MAX_RESULT_BYTES=str(limit)).wait_ready()
    api = make_api(key_prefix=prefix)
    job = api.submit(format="png", headers={"Prefer": "wait=60"}).json()
    assert job["status"] == "succeeded", job
    result = api.client.get(job["links"]["result"])
    assert result.status_code == 200 and len(result.content) <= limit
    # The worker's own picture, written fast, would not have fitted: the fallback ran.
    from models.images import decode_image, encode_image

    assert len(encode_image(decode_image(result.content), "png")) > limit


def test_a_result_over_the_size_limit_fails_naming_the_limit(make_api, start_worker, prefix):
    _, smallest = _result_png_sizes(128)
    limit = round(0.5 * smallest)
    start_worker(prefix, f"{prefix}-w", STYLIZE_MAX_RESULT_BYTES=str(limit)).wait_ready()
    job = make_api(key_prefix=prefix).submit(format="png", headers={"Prefer": "wait=60"}).json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "result_too_large"
    assert f"over the limit of {limit:,}" in job["error"]["message"]
    assert "ask for a smaller size or jpeg" in job["error"]["message"]
