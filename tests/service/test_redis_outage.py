"""Redis stops, then comes back: the API answers 503 (never 500) meanwhile and works
again afterwards; a worker rides the outage out. Against a redis-server of its own."""

import shutil
import time

import pytest

from tests.support.processes import RedisServer

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server")


@pytest.fixture(scope="module")
def spare_redis():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def test_redis_down_gives_503_with_retry_after_then_the_api_recovers(make_api, spare_redis, prefix):
    api = make_api(redis_url=spare_redis.url, key_prefix=prefix)
    job = api.submit().json()

    spare_redis.stop()
    try:
        for method, path in [("GET", f"/jobs/{job['id']}"), ("POST", "/stylize")]:
            response = api.submit() if method == "POST" else api.client.request(method, path)
            assert response.status_code == 503, (method, path, response.text)
            assert int(response.headers["Retry-After"]) > 0
            assert response.json()["error"]["code"] == "unavailable"
        ready = api.client.get("/readyz")
        assert (ready.status_code, ready.json()["redis"]) == (503, False)
        assert api.client.get("/healthz").status_code == 200
        assert "stylize_redis_up 0.0" in api.client.get("/metrics").text
    finally:
        spare_redis.start()

    again = api.submit()
    assert again.status_code == 202
    assert api.job(again.json()["id"])["status"] == "queued"


def test_a_worker_rides_out_a_redis_restart(make_api, spare_redis, start_worker, prefix):
    worker = start_worker(
        prefix,
        f"{prefix}-outage",
        redis_url=spare_redis.url,
        queues="fast",
        STYLIZE_WORKER_WARM_UP="false",
    ).wait_ready()
    spare_redis.stop()
    time.sleep(3)  # longer than the worker's heartbeat and lease: it notices
    spare_redis.start()

    worker.wait_ready(timeout=30)  # heartbeating into the new, empty Redis
    api = make_api(redis_url=spare_redis.url, key_prefix=prefix)
    job = api.submit(headers={"Prefer": "wait=60"}).json()

    assert worker.alive
    assert job["status"] == "succeeded", job
