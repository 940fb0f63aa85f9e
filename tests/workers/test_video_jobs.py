"""A video job in the worker: a video the engine cannot read fails the job with the
engine's words (the worker takes the next job), and its upload never outlives the job."""

import hashlib

from contract.keys import Keys
from contract.settings import Settings
from contract.store import JobStore
from models.params import StyleParams
from models.video.params import VideoParams
from models.video.probe import VideoInfo
from service.queueing import enqueue_job
from service.uploads import Upload
from tests.support.images import style_upload

NOT_A_VIDEO = b"\x00\x00\x00\x20ftypisom" + bytes(4000)  # an MP4 header, nothing behind it


def enqueue_unchecked_video(api, data: bytes) -> str:
    """A video job straight onto the session worker's queue, as if the probe had passed."""
    prefix = api.settings.key_prefix
    store = JobStore(api.client.app.state.redis, Keys(prefix))
    info = VideoInfo("mp4", 96, 64, 25.0, 10, 0.4, False)
    content = Upload("content", data, hashlib.sha256(data).hexdigest(), "mp4", 96, 64, info)
    style = style_upload()[1]
    styles = [Upload("style", style, hashlib.sha256(style).hexdigest(), "PNG", 1, 1)]
    admission = enqueue_job(
        store,
        Settings(key_prefix=prefix),
        "anonymous",
        StyleParams(size=64, style_size=64),
        content,
        styles,
        None,
        video=VideoParams(),
    )
    return admission.record.id


def test_an_unreadable_video_fails_the_job_and_the_worker_takes_the_next(api, redis):
    job_id = enqueue_unchecked_video(api, NOT_A_VIDEO)

    failed = api.wait(job_id, timeout=120)
    good = api.submit(headers={"Prefer": "wait=60"}).json()

    assert failed["status"] == "failed"
    assert (failed["error"]["code"], failed["error"]["field"]) == ("invalid_video", "content")
    assert failed["result"] is None
    assert not redis.exists(Keys(api.settings.key_prefix).video(job_id))
    assert good["status"] == "succeeded"
