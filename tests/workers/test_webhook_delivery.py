"""Webhook deliveries from real worker processes to real HTTP receivers on loopback:
signed, retried with the same id until they get through, and still delivered after the
API and the worker are restarted. Also the guard against private targets at delivery
time, in-process (``workers.webhooks.Deliverer``)."""

import time

import httpx
import pytest
from redis import Redis

from contract.keys import Keys
from contract.settings import Settings
from contract.store import JobStore
from contract.webhooks import verify_webhook
from tests.support.images import content_upload, style_upload
from tests.support.keyspace import REDIS_URL
from tests.support.processes import ApiServer, free_port
from tests.support.webhooks import API_WEBHOOK_SETTINGS, SECRET, WEBHOOK_SETTINGS, Receiver
from workers.webhooks import Deliverer


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**options) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def deliveries_of(api, job_id: str, count: int, headers=None) -> list[dict]:
    """The job's recorded delivery attempts, once there are ``count`` of them."""
    job = api.wait(
        job_id,
        until=lambda j: j["webhook"] and len(j["webhook"]["deliveries"]) >= count,
        timeout=60,
        headers=headers,
    )
    return job["webhook"]["deliveries"]


def test_a_finished_job_is_delivered_signed_with_the_jobs_json(make_api, ready_worker, receivers):
    receiver = receivers()
    api = make_api(**API_WEBHOOK_SETTINGS)

    submitted = api.submit(method="adain", webhook=receiver.url).json()
    [delivery] = receiver.wait_for(1)

    job = verify_webhook(SECRET, delivery.headers, delivery.body)
    polled = api.job(submitted["id"])
    assert job["status"] == "succeeded"
    assert {**job, "webhook": None} == {**polled, "webhook": None}  # what a poll shows
    assert job["links"]["result_url"].startswith("http://testserver/results/")
    assert delivery.headers["webhook-id"].startswith("msg_")
    assert delivery.headers["content-type"] == "application/json"
    [attempt] = deliveries_of(api, submitted["id"], 1)
    assert attempt == {
        **attempt,
        "event": "completed",
        "attempt": 1,
        "status_code": 200,
        "error": None,
        "delivered": True,
    }


def test_start_and_completed_events_each_come_once(make_api, ready_worker, receivers):
    receiver = receivers()
    api = make_api(**API_WEBHOOK_SETTINGS)

    api.submit(webhook=receiver.url, webhook_events="start,completed")
    deliveries = receiver.wait_for(2)
    time.sleep(1)  # nothing more comes

    jobs = [verify_webhook(SECRET, d.headers, d.body) for d in deliveries]
    assert sorted(job["status"] for job in jobs) == ["running", "succeeded"]
    assert len({d.headers["webhook-id"] for d in deliveries}) == 2
    assert len(receiver.deliveries) == 2


def test_a_receiver_down_for_two_attempts_gets_the_third_with_the_same_id(
    make_api, ready_worker, receivers
):
    receiver = receivers(answers=[503, 503])
    api = make_api(**API_WEBHOOK_SETTINGS)

    job_id = api.submit(webhook=receiver.url).json()["id"]
    deliveries = receiver.wait_for(3)

    assert [d.status for d in deliveries] == [503, 503, 200]
    assert len({d.headers["webhook-id"] for d in deliveries}) == 1
    assert len({d.body for d in deliveries}) == 1  # the job as it was when it finished
    for delivery in deliveries:
        verify_webhook(SECRET, delivery.headers, delivery.body)
    # Retried after the backoff (0.5 s, then 1.5 s), not at once.
    assert deliveries[2].at - deliveries[0].at >= 1.9
    attempts = deliveries_of(api, job_id, 3)
    assert [(a["attempt"], a["status_code"], a["delivered"]) for a in attempts] == [
        (1, 503, False),
        (2, 503, False),
        (3, 200, True),
    ]
    time.sleep(1)
    assert len(receiver.deliveries) == 3  # delivered once: no more after the 200


def test_a_pending_delivery_survives_a_restart_of_the_api_and_the_worker(
    fresh_prefix, start_worker, receivers, tmp_path
):
    prefix = fresh_prefix("restart")
    down = receivers(port=free_port(), start=False)  # nothing listens yet: refused
    options = {"queues": "fast", "STYLIZE_WORKER_WARM_UP": "false", "STYLIZE_WEBHOOK_BACKOFF": "3"}
    worker = start_worker(prefix, f"{prefix}-a", **options).wait_ready()
    api = ApiServer(prefix, tmp_path, **WEBHOOK_SETTINGS)
    try:
        job = httpx.post(
            api.url + "stylize",
            files={"content": content_upload(), "style": style_upload()},
            data={"size": "128", "webhook": down.url},
            headers={"Prefer": "wait=60"},
            timeout=90,
        ).json()
        assert job["status"] == "succeeded", job
        first = _wait_for_attempts(prefix, job["id"], 1)
        assert first[0].delivered is False
    finally:
        api.stop()
    worker.kill()  # mid-backoff: the delivery is only in Redis now

    down.start()
    start_worker(prefix, f"{prefix}-b", **options)
    api = ApiServer(prefix, tmp_path, **WEBHOOK_SETTINGS)
    try:
        [delivery] = down.wait_for(1, timeout=120)
        verify_webhook(SECRET, delivery.headers, delivery.body)
        attempts = _wait_for_attempts(prefix, job["id"], 2)
        shown = httpx.get(api.url + f"jobs/{job['id']}").json()["webhook"]["deliveries"]
    finally:
        api.stop()
    assert [a.delivered for a in attempts] == [False, True]
    assert "ConnectError" in attempts[0].error
    assert [a["delivered"] for a in shown] == [False, True]


def test_a_delivery_to_a_private_address_is_refused_at_delivery_time_too(
    make_api, prefix, redis, receivers
):
    """The API checked the name when the job came; it may resolve elsewhere by now."""
    receiver = receivers()
    api = make_api(key_prefix=prefix, **API_WEBHOOK_SETTINGS)
    job_id = api.submit(webhook=receiver.url).json()["id"]
    api.client.delete(f"/jobs/{job_id}")  # a canceled job: its `completed` is queued
    strict = Settings(redis_url=REDIS_URL, key_prefix=prefix, webhook_secret=SECRET,
                      webhook_allow_http=True)  # fmt: skip
    deliverer = Deliverer(strict, redis)

    assert deliverer.deliver_next()

    [attempt] = JobStore(redis, Keys(prefix)).get(job_id).webhook.deliveries
    assert attempt.delivered is False
    assert "public addresses only" in attempt.error
    assert receiver.deliveries == []
    assert not deliverer.deliver_next()  # given up: a refusal is not retried


def test_a_canceled_queued_job_tells_its_webhook(make_api, prefix, redis, receivers):
    receiver = receivers()
    api = make_api(key_prefix=prefix, **API_WEBHOOK_SETTINGS)
    job_id = api.submit(webhook=receiver.url).json()["id"]
    api.client.delete(f"/jobs/{job_id}")
    settings = Settings(redis_url=REDIS_URL, key_prefix=prefix, **API_WEBHOOK_SETTINGS)

    assert Deliverer(settings, redis).deliver_next()

    [delivery] = receiver.wait_for(1)
    assert verify_webhook(SECRET, delivery.headers, delivery.body)["status"] == "canceled"


def _wait_for_attempts(prefix: str, job_id: str, count: int, timeout: float = 120):
    store = JobStore(Redis.from_url(REDIS_URL), Keys(prefix))
    deadline = time.monotonic() + timeout
    while True:
        record = store.get(job_id)
        if record and record.webhook and len(record.webhook.deliveries) >= count:
            return record.webhook.deliveries
        assert time.monotonic() < deadline, f"fewer than {count} attempts: {record}"
        time.sleep(0.2)
