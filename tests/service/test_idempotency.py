"""Idempotency-Key: a retried POST gets the original job or style back; nothing new is
queued; the same key with another request is refused, naming the header."""

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.images import content_upload, style_upload, unique_style_upload
from tests.support.processes import ApiServer

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}


def queued(redis, prefix: str) -> int:
    return redis.llen(f"rq:queue:{prefix}:fast") + redis.llen(f"rq:queue:{prefix}:slow")


def test_a_retry_with_the_same_key_returns_the_same_job_and_queues_nothing(
    api_without_worker, redis
):
    api, prefix = api_without_worker, api_without_worker.settings.key_prefix
    first = api.submit(headers={"Idempotency-Key": "order-1234"})
    retry = api.submit(headers={"Idempotency-Key": "order-1234"})

    assert (first.status_code, retry.status_code) == (202, 202)
    assert retry.json()["id"] == first.json()["id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert retry.headers["Location"] == first.headers["Location"]
    assert queued(redis, prefix) == 1


def test_the_same_key_with_a_different_request_is_422_naming_the_header(api_without_worker):
    api = api_without_worker
    api.submit(headers={"Idempotency-Key": "order-1234"}, alpha="0.5")

    response = api.submit(headers={"Idempotency-Key": "order-1234"}, alpha="0.6")

    assert response.status_code == 422
    assert response.json()["error"] == {
        **response.json()["error"],
        "code": "idempotency_key_reused",
        "field": "Idempotency-Key",
    }


def test_without_a_key_every_post_is_a_new_job(api_without_worker):
    ids = {api_without_worker.submit().json()["id"] for _ in range(2)}

    assert len(ids) == 2


def test_keys_belong_to_the_api_key_that_sent_them(make_api, prefix):
    api = make_api(key_prefix=prefix, api_keys="alice-key,bob-key")

    alice = api.submit(headers={**ALICE, "Idempotency-Key": "k"}).json()
    bob = api.submit(headers={**BOB, "Idempotency-Key": "k"}).json()

    assert alice["id"] != bob["id"]


@pytest.mark.parametrize(
    "key", ["", "a b", "é".encode(), "x" * 256], ids=["empty", "space", "utf8", "long"]
)
def test_a_malformed_key_is_422_naming_the_header(api_without_worker, key):
    response = api_without_worker.submit(headers={"Idempotency-Key": key})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "Idempotency-Key"


def test_a_style_upload_with_the_same_key_is_replayed_and_another_image_refused(
    api_without_worker,
):
    client = api_without_worker.client
    upload = unique_style_upload()
    headers = {"Idempotency-Key": "style-1"}

    first = client.post("/styles", files={"style": upload}, headers=headers)
    retry = client.post("/styles", files={"style": upload}, headers=headers)
    other = client.post("/styles", files={"style": unique_style_upload()}, headers=headers)

    assert first.status_code == 201
    assert (retry.status_code, retry.json()["id"]) == (200, first.json()["id"])
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_twenty_concurrent_retries_make_one_job(prefix, redis, tmp_path):
    """Two API processes, twenty clients sending the same key at once: one job."""
    apis = [ApiServer(prefix, tmp_path) for _ in range(2)]
    files = {
        "content": content_upload(),
        "style": style_upload(),
    }
    try:

        def post(i: int) -> httpx.Response:
            return httpx.post(
                apis[i % 2].url + "stylize",
                files=files,
                data={"size": "128"},
                headers={"Idempotency-Key": "same-for-all"},
                timeout=60,
            )

        with ThreadPoolExecutor(20) as pool:
            responses = list(pool.map(post, range(20)))
    finally:
        for api in apis:
            api.stop()

    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert queued(redis, prefix) == 1
