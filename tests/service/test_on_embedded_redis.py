"""The API's and the store's Redis paths on the embedded server (Valkey, what ``stylize up``
starts when no Redis is configured): a command that exists on the production Redis but not
there fails here. The worker's side runs on it in ``tests/cli/test_up_redis.py``."""

from collections.abc import Iterator

import pytest
from redis import Redis

from cli.embedded_redis import EmbeddedRedis
from contract import presence
from contract.jobs import JobStatus
from contract.settings import Settings
from contract.store import JobStore
from tests.support.api import Api
from tests.support.images import unique_style_upload


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("embedded") / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def api(embedded: EmbeddedRedis) -> Iterator[Api]:
    app = Api(Settings(redis_url=embedded.url))
    yield app
    app.close()


def test_submit_poll_reuse_a_style_and_cancel_on_the_embedded_redis(api: Api) -> None:
    style = api.client.post("/styles", files={"style": unique_style_upload()})
    assert style.status_code == 201, style.text
    style_id = style.json()["id"]
    assert api.client.get(f"/styles/{style_id}").status_code == 200

    first = api.submit().json()
    second = api.submit(style_id=style_id, method="wct").json()

    assert (first["status"], second["status"]) == ("queued", "queued")
    assert api.job(first["id"])["queue_position"] == 0
    assert api.job(second["id"])["queue_position"] == 1  # adain and wct share the fast queue
    assert api.client.get(f"/jobs/{first['id']}/result").status_code == 409
    canceled = api.client.delete(f"/jobs/{first['id']}")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert api.client.delete(f"/jobs/{first['id']}").json()["status"] == "canceled"
    ready = api.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["queues"]["fast"] == 1  # no worker here
    assert api.client.get("/metrics").status_code == 200


def test_the_worker_side_of_the_store_on_the_embedded_redis(api: Api) -> None:
    job = api.submit().json()
    redis = Redis.from_url(api.settings.redis_url)
    store, keys = JobStore(redis, api.settings.keys), api.settings.keys

    presence.beat(redis, keys, "w1", lease=5)
    started = store.transition(job["id"], JobStatus.running, [JobStatus.queued], {"stage": "x"})
    updated = store.update(job["id"], {"fraction": 0.5})
    store.put_preview(job["id"], b"jpeg", ttl=60)
    store.request_cancel(job["id"], ttl=60)
    done = store.finish(job["id"], 0, JobStatus.succeeded, {"stage": "done"}, b"png", ttl=120)

    assert started.applied and started.previous is JobStatus.queued and updated
    assert done.applied and store.cancel_requested(job["id"])
    assert store.get_preview(job["id"]) == b"jpeg"
    assert store.get_result(job["id"])[0] == b"png"
    assert 60 < redis.ttl(keys.job(job["id"])) <= 120
    assert presence.live_workers(redis, keys) == ["w1"]
    presence.leave(redis, keys, "w1")
    assert presence.live_workers(redis, keys) == []
    redis.close()
