"""Submit, wait and download with the client, sync and async, through the real API
process and a real worker."""

import io

import pytest
from PIL import Image
from stylize_client import (
    AsyncClient,
    Client,
    DoneEvent,
    JobFinishedError,
    ProgressEvent,
    StatusEvent,
    Style,
)

from tests.support.images import unique_style_upload
from tests.support.paths import CONTENT, STYLE
from tests.support.video import pan, photo, read, write_clip

SMALL = {"size": 128, "style_size": 128}


def test_submit_wait_and_download(ready_api):
    with Client(ready_api.url) as client:
        job = client.stylize(CONTENT, STYLE, method="adain", alpha=0.8, **SMALL)
        assert job.status in ("queued", "running")

        done = client.wait(job, timeout=120)
        result = client.result(done)

    assert done.succeeded, done.error
    assert (done.id, done.result.width, done.result.height) == (job.id, 128, 85)
    assert result.content_type == "image/png"
    assert result.etag == done.result.etag
    assert result.image().size == (128, 85)


async def _round_trip(url: str):
    async with AsyncClient(url) as client:
        job = await client.wait(await client.stylize(CONTENT, STYLE, **SMALL), timeout=120)
        return job, await client.result(job)


@pytest.mark.anyio
async def test_submit_wait_and_download_async(ready_api):
    job, result = await _round_trip(ready_api.url)

    assert job.succeeded, job.error
    assert job.method == "wct"  # the server's default
    assert Image.open(io.BytesIO(result)).size == (128, 85)


def test_prefer_wait_on_submit_answers_with_the_finished_job(ready_api):
    with Client(ready_api.url) as client:
        job = client.stylize(CONTENT, STYLE, wait=60, format="jpeg", quality=80, **SMALL)

        assert job.succeeded
        assert client.result(job).content_type == "image/jpeg"


def test_a_pil_image_and_an_uploaded_style_are_inputs(ready_api):
    photo = Image.open(CONTENT).convert("RGB")
    with Client(ready_api.url) as client:
        upload = unique_style_upload()
        style = client.upload_style(upload[1])
        again = client.upload_style(upload[1])
        first = client.stylize(photo, style, wait=60, **SMALL)
        second = client.stylize(photo, style, wait=60, **SMALL)

    assert isinstance(style, Style) and style.created and not again.created
    assert again.id == style.id
    assert first.succeeded and second.succeeded
    assert second.raw["style_cache"] == {"hits": 1, "misses": 0}


def test_a_heic_photo_is_stylized_through_the_client(ready_api):
    heic = io.BytesIO()
    Image.open(CONTENT).save(heic, "HEIF", quality=90)

    with Client(ready_api.url) as client:
        job = client.stylize(heic.getvalue(), STYLE, wait=60, **SMALL)

    assert job.succeeded, job.error
    assert (job.result.width, job.result.height) == (128, 85)


def test_a_video_is_stylized_through_the_client(ready_api, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", pan(photo(), 8, (96, 64), 2))
    with Client(ready_api.url) as client:
        job = client.wait(client.stylize(clip, STYLE, temporal=False, **SMALL), timeout=120)
        result = client.result(job)

    assert job.succeeded, job.error
    assert job.raw["video"]["params"] == {"format": "mp4", "temporal": False}
    assert (job.raw["result"]["frames"], job.raw["result"]["has_audio"]) == (8, True)
    assert result.content_type == "video/mp4"
    result.save(tmp_path / "out.mp4")
    assert len(read(tmp_path / "out.mp4")[0]) == 8


def test_a_finished_job_cannot_be_canceled(ready_api):
    with Client(ready_api.url) as client:
        job = client.stylize(CONTENT, STYLE, wait=60, **SMALL)
        with pytest.raises(JobFinishedError) as caught:
            client.cancel(job)

    assert (caught.value.status, caught.value.code) == (409, "job_finished")


def test_events_follow_a_job_to_done(ready_api):
    with Client(ready_api.url) as client:
        job = client.stylize(CONTENT, STYLE, method="wct", size=512)
        events = list(client.events(job))

    assert isinstance(events[0], StatusEvent)
    assert isinstance(events[-1], DoneEvent) and events[-1].job.succeeded
    fractions = [e.progress.fraction for e in events if isinstance(e, ProgressEvent)]
    assert fractions == sorted(fractions)


@pytest.mark.anyio
async def test_events_follow_a_job_to_done_async(ready_api):
    async with AsyncClient(ready_api.url) as client:
        job = await client.stylize(CONTENT, STYLE, **SMALL)
        events = [event async for event in client.events(job)]

    assert isinstance(events[-1], DoneEvent) and events[-1].job.succeeded


def test_jobs_lists_this_keys_jobs_newest_first(start_api, fresh_prefix):
    api = start_api(fresh_prefix("client-list"), STYLIZE_API_KEYS="a,b")
    with Client(api.url, api_key="a") as mine, Client(api.url, api_key="b") as theirs:
        made = [mine.stylize(CONTENT, STYLE, **SMALL).id for _ in range(3)]
        theirs.stylize(CONTENT, STYLE, **SMALL)

        listed = [job.id for job in mine.jobs(page_size=2)]
        queued = [job.id for job in mine.jobs(status="queued", limit=2)]

    assert listed == made[::-1]
    assert queued == made[::-1][:2]
