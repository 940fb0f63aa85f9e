"""``AsyncClient`` behaves as ``Client``: the same requests, retries, waits and streams."""

import json

import pytest
from support import DROP, Reply, error_json, job_json

from stylize_client import (
    AsyncClient,
    DoneEvent,
    ProgressEvent,
    QueueFullError,
    RetryPolicy,
    StatusEvent,
)

pytestmark = pytest.mark.anyio

JOB_ID = "a" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
FAST = RetryPolicy(backoff=0.01, max_backoff=0.05)


def sse(*events: tuple[str, dict]) -> list[bytes]:
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


async def test_submit_wait_and_download(server):
    server.script("POST /stylize", Reply(202, job_json(JOB_ID, "queued")))
    server.script(
        f"GET /jobs/{JOB_ID}",
        Reply(200, job_json(JOB_ID, "succeeded"), {"Preference-Applied": "wait=60"}),
    )
    server.script(f"GET /jobs/{JOB_ID}/result", Reply(200, PNG, {"Content-Type": "image/png"}))

    async with AsyncClient(server.url, retry=FAST) as client:
        job = await client.wait(await client.stylize(PNG, PNG, method="wct"), timeout=60)
        result = await client.result(job)

    assert job.succeeded
    assert result == PNG and result.content_type == "image/png"
    assert server.requests(f"GET /jobs/{JOB_ID}")[0].headers["prefer"] == "wait=60"


async def test_a_429_is_retried_after_its_retry_after_with_the_same_key(server):
    server.script(
        "POST /stylize",
        Reply(429, error_json("queue_full"), {"Retry-After": "1"}),
        Reply(202, job_json(JOB_ID)),
    )

    async with AsyncClient(server.url, retry=FAST) as client:
        await client.stylize(PNG, PNG)

    first, second = server.requests("POST /stylize")
    assert second.at - first.at >= 1.0  # waited as long as Retry-After said
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


async def test_a_connection_dropped_mid_post_is_retried_with_the_same_key(server):
    server.script("POST /stylize", DROP, Reply(202, job_json(JOB_ID)))

    async with AsyncClient(server.url, retry=FAST) as client:
        job = await client.stylize(PNG, PNG)

    first, second = server.requests("POST /stylize")
    assert job.id == JOB_ID
    assert (first.body, first.headers["idempotency-key"]) == (
        second.body,
        second.headers["idempotency-key"],
    )


async def test_retries_end_with_the_typed_error(server):
    server.script("POST /stylize", Reply(429, error_json("queue_full"), {"Retry-After": "0"}))

    async with AsyncClient(server.url, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(QueueFullError):
            await client.stylize(PNG, PNG)

    assert len(server.requests()) == 2


async def test_events_are_typed_and_end_with_done(server):
    stream = sse(("status", job_json(JOB_ID, "running")), ("progress", {"fraction": 0.25}))
    stream += [b": keep-alive\n\n"] + sse(("done", job_json(JOB_ID, "succeeded")))
    server.script(f"GET /jobs/{JOB_ID}/events", Reply(200, stream=stream))

    async with AsyncClient(server.url, retry=FAST) as client:
        events = [event async for event in client.events(JOB_ID)]

    assert [type(e) for e in events] == [StatusEvent, ProgressEvent, DoneEvent]
    assert events[1].progress.fraction == 0.25


async def test_jobs_follows_the_cursor(server):
    server.script(
        "GET /jobs?",
        Reply(200, {"jobs": [job_json("1" * 32)], "next_cursor": "n1"}),
        Reply(200, {"jobs": [job_json("2" * 32)], "next_cursor": None}),
    )

    async with AsyncClient(server.url, retry=FAST) as client:
        ids = [job.id[0] async for job in client.jobs(page_size=1)]

    assert ids == ["1", "2"]
    assert server.requests()[1].path == "/jobs?limit=1&cursor=n1"
