"""A video as ``content``: checked against the video limits before it is queued, queued
on a queue of its own, and (with the session worker) stylized into a playable video
with the source's frames, rate and audio; previews, cancel and partial results.

Clips are made here with PyAV (``tests/support/video.py``): a few small frames of a
development photo, panned, with an AAC tone.
"""

import io
import tempfile
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image
from redis import Redis

from contract.keys import Keys
from tests.support.images import png_bytes
from tests.support.prometheus import metric
from tests.support.video import clip_upload, gif_upload, read

SMALL = {"size": "64", "style_size": "64"}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def clip(clips: Path) -> tuple[str, bytes, str]:
    """10 frames of 96×64 at 25 fps (0.4 s) with an AAC track: 11 kB or so."""
    return clip_upload(clips)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    return error


def queued(redis: Redis, prefix: str) -> dict[str, int]:
    return {kind: redis.llen(f"rq:queue:{prefix}:{kind}") for kind in ("fast", "slow", "video")}


def content_keys(redis: Redis, prefix: str) -> list[bytes]:
    return list(redis.scan_iter(match=f"{prefix}:job:*:content"))


# --- admission -----------------------------------------------------------------------------


def test_a_video_is_queued_on_the_video_queue_with_its_source_described(
    api_without_worker, redis, clip
):
    response = api_without_worker.submit(content=clip, **SMALL)

    assert response.status_code == 202, response.text
    job = response.json()
    assert job["video"] == {
        "params": {"format": "mp4", "temporal": True},
        "source": {
            "container": "mp4",
            "width": 96,
            "height": 64,
            "frames": 10,
            "fps": 25.0,
            "duration": 0.4,
            "has_audio": True,
        },
    }
    prefix = api_without_worker.settings.key_prefix
    assert queued(redis, prefix) == {"fast": 0, "slow": 0, "video": 1}
    assert redis.get(Keys(prefix).video(job["id"])) == clip[1]  # the job's own copy


def test_the_output_format_and_temporal_switch_are_recorded(api_without_worker, clip):
    job = api_without_worker.submit(content=clip, format="webm", temporal="off").json()

    assert job["video"]["params"] == {"format": "webm", "temporal": False}


def test_an_animated_gif_is_a_video_and_a_still_gif_an_image(api_without_worker, redis):
    prefix = api_without_worker.settings.key_prefix

    animated = api_without_worker.submit(content=gif_upload(6)).json()
    still = api_without_worker.submit(content=gif_upload(1)).json()

    assert animated["video"]["source"]["frames"] == 6
    assert still["video"] is None
    assert queued(redis, prefix) == {"fast": 1, "slow": 0, "video": 1}


def test_a_video_over_the_image_limit_streams_through_a_temporary_file(
    make_api, prefix, redis, clip, tmp_path, monkeypatch
):
    # Past the image limit only a video can be accepted: the API keeps no more than that
    # in memory and spools the rest to disk, then deletes the file whatever the answer.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    api = make_api(key_prefix=prefix, max_upload_bytes=1_000)
    style = [("s.png", png_bytes(64, 48), "image/png")]  # 200 bytes or so
    name, data, kind = clip

    job = api.submit(content=clip, styles=style)
    assert job.status_code == 202, job.text
    assert redis.get(Keys(prefix).video(job.json()["id"])) == data  # all of it, in order
    assert list(tmp_path.iterdir()) == []

    error = error_of(api.submit(content=(name, _truncated(data), kind), styles=style), 422)
    assert error["code"] == "invalid_video"
    photo = error_of(api.submit(styles=style), 413)  # chicago.jpg, 10 times over
    assert photo["field"] == "content" and "at most 1,000 bytes" in photo["message"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("limit", "status", "code", "words"),
    [
        ({"max_video_bytes": 2_000}, 413, "payload_too_large", "at most 2,000"),
        ({"max_video_seconds": 0.2}, 422, "video_too_large", "0.4 s long; at most 0.2 s"),
        ({"max_video_frames": 5}, 422, "video_too_large", "10 frames; at most 5"),
        ({"max_video_pixels": 5_000}, 422, "video_too_large", "96x64 = 6,144 pixels"),
    ],
    ids=["bytes", "seconds", "frames", "pixels"],
)
def test_a_video_over_a_limit_is_refused_naming_it(
    make_api, prefix, redis, clip, limit, status, code, words
):
    api = make_api(key_prefix=prefix, **limit)

    error = error_of(api.submit(content=clip), status)

    assert (error["code"], error["field"]) == (code, "content")
    assert words in error["message"]
    assert queued(redis, prefix) == {"fast": 0, "slow": 0, "video": 0}
    assert content_keys(redis, prefix) == []


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 6 // 10]


def _garbled(data: bytes) -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, len(data) - 200, dtype=np.uint8)
    return data[:200] + noise.tobytes()


@pytest.mark.parametrize(
    "spoil",
    [
        _truncated,
        _garbled,
        lambda data: b"\x00\x00\x00\x20ftypisom" + bytes(200),  # a header and nothing else
        lambda data: np.random.default_rng(1).bytes(5000),  # declared video/mp4
    ],
    ids=["truncated", "garbled", "header-only", "random"],
)
def test_a_corrupt_or_truncated_video_is_422(api_without_worker, redis, clip, spoil):
    name, data, kind = clip

    error = error_of(api_without_worker.submit(content=(name, spoil(data), kind)), 422)

    assert (error["code"], error["field"]) == ("invalid_video", "content")
    prefix = api_without_worker.settings.key_prefix
    assert queued(redis, prefix)["video"] == 0


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"method": "gatys"}, "method", "not available for video"),
        ({"format": "png"}, "format", "image format, and the content is a video"),
        ({"temporal": "sometimes"}, "temporal", "valid boolean"),
    ],
)
def test_what_video_cannot_do_is_422_naming_the_field(
    api_without_worker, clip, fields, field, words
):
    error = error_of(api_without_worker.submit(content=clip, **fields), 422)

    assert error["field"] == field
    assert words in error["message"]


def test_a_full_video_queue_is_429_and_keeps_no_upload(make_api, prefix, redis, clip):
    api = make_api(key_prefix=prefix, max_video_queue_depth=1)
    assert api.submit(content=clip).status_code == 202

    response = api.submit(content=clip)

    assert error_of(response, 429)["code"] == "queue_full"
    assert "the video queue is full (1 jobs waiting)" in response.json()["error"]["message"]
    assert len(content_keys(redis, prefix)) == 1  # the queued job's only
    assert api.submit().status_code == 202  # images have their own queue


def test_canceling_a_queued_video_deletes_its_upload(api_without_worker, redis, clip):
    job = api_without_worker.submit(content=clip).json()

    assert api_without_worker.client.delete(f"/jobs/{job['id']}").status_code == 200

    assert content_keys(redis, api_without_worker.settings.key_prefix) == []


# --- with the worker -------------------------------------------------------------------------


def test_a_video_round_trip_keeps_frames_rate_and_audio(api, redis, clip, clips):
    counted = {"method": "wct", "media": "video"}
    before = metric(
        api.client.get("/metrics").text, "stylize_job_duration_seconds_count", **counted
    )
    job = api.submit(content=clip, headers={"Prefer": "wait=60"}, **SMALL).json()
    job = api.wait(job["id"])

    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result | {"etag": None, "bytes": None} == {
        "content_type": "video/mp4",
        "bytes": None,
        "etag": None,
        "width": 64,
        "height": 42,
        "partial": False,
        "frames": 10,
        "fps": 25.0,
        "duration": 0.4,
        "has_audio": True,
    }
    assert (job["progress"]["iteration"], job["progress"]["total"]) == (10, 10)
    answer = api.client.get(job["links"]["result"])
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["accept-ranges"] == "bytes"
    assert len(answer.content) == result["bytes"]
    out = clips / "round-trip.mp4"
    out.write_bytes(answer.content)
    frames, times = read(out)
    assert len(frames) == 10 and frames[0].shape == (42, 64, 3)
    assert times == pytest.approx([i / 25 for i in range(10)], abs=1e-3)
    with av.open(str(out)) as file:
        assert file.streams.video[0].average_rate == 25
        assert file.streams.audio[0].codec_context.name == "aac"
    prefix = api.settings.key_prefix
    assert not redis.exists(Keys(prefix).video(job["id"]))  # the upload went with the job
    assert not list(redis.scan_iter(match=f"{prefix}:job:{job['id']}:result:*"))  # no stage
    # Counted apart from image jobs: a video runs minutes where an image runs a second.
    text = api.client.get("/metrics").text
    assert metric(text, "stylize_job_duration_seconds_count", **counted) == before + 1
    assert metric(text, "stylize_jobs_finished_total", status="succeeded", **counted) >= 1


def test_a_video_result_is_served_in_byte_ranges(api, clip, monkeypatch):
    job = api.submit(content=clip, headers={"Prefer": "wait=60"}, **SMALL).json()
    job = api.wait(job["id"])
    url = job["links"]["result"]
    whole = api.client.get(url).content

    part = api.client.get(url, headers={"Range": "bytes=100-199"})
    tail = api.client.get(url, headers={"Range": "bytes=-50"})
    past = api.client.get(url, headers={"Range": f"bytes={len(whole)}-"})

    assert (part.status_code, part.content) == (206, whole[100:200])
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole)}"
    assert (tail.status_code, tail.content) == (206, whole[-50:])
    assert error_of(past, 416)["code"] == "range_not_satisfiable"
    assert past.headers["content-range"] == f"bytes */{len(whole)}"
    # A result larger than a chunk streams from Redis a chunk at a time, ranges too.
    monkeypatch.setattr("contract.store.CHUNK", 1000)
    monkeypatch.setattr("service.routes.jobs.CHUNK", 1000)
    streamed = api.client.get(url)
    middle = api.client.get(url, headers={"Range": "bytes=1500-4999"})
    assert (streamed.content, streamed.headers["content-length"]) == (whole, str(len(whole)))
    assert (middle.status_code, middle.content) == (206, whole[1500:5000])


def test_an_animated_gif_comes_back_as_one(api, clip):
    job = api.submit(content=clip, format="gif", headers={"Prefer": "wait=60"}, **SMALL).json()
    job = api.wait(job["id"])

    assert job["status"] == "succeeded", job
    answer = api.client.get(job["links"]["result"])
    assert answer.headers["content-type"] == "image/gif"
    with Image.open(io.BytesIO(answer.content)) as gif:
        assert (gif.n_frames, gif.size) == (10, (64, 43))  # gif keeps odd sides


def test_a_running_video_previews_its_frames_and_a_cancel_keeps_a_partial_video(api, clips):
    long = clip_upload(clips, frames=150, size=(160, 96), audio=False)
    job = api.submit(content=long, size="128", style_size="128").json()
    running = api.wait(job["id"], until=lambda j: (j["progress"]["iteration"] or 0) >= 2)
    assert running["progress"]["stage"] == "frame"
    assert running["progress"]["total"] == 150
    assert running["links"]["preview"] == f"/jobs/{job['id']}/preview"
    preview = api.client.get(running["links"]["preview"])
    assert (preview.status_code, preview.headers["content-type"]) == (200, "image/jpeg")
    assert Image.open(io.BytesIO(preview.content)).size == (128, 76)

    assert api.client.delete(f"/jobs/{job['id']}").status_code == 202
    canceled = api.wait(job["id"], timeout=60)

    assert canceled["status"] == "canceled"
    result = canceled["result"]
    assert result["partial"] is True
    assert 2 <= result["frames"] < 150
    assert canceled["progress"]["iteration"] == result["frames"]
    out = clips / "partial.mp4"
    out.write_bytes(api.client.get(canceled["links"]["result"]).content)
    assert len(read(out)[0]) == result["frames"]  # playable, and as long as it says
