"""Whatever happens inside a job, the worker records an outcome and takes the next job:
engine errors become failed jobs with the engine's code, message and field."""

import hashlib

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
