"""DELETE /jobs/{id}: at once while queued, at the next level while running."""

from redis import Redis


def test_canceling_a_queued_job_cancels_it_at_once(api_without_worker, redis: Redis):
    job = api_without_worker.submit().json()

    response = api_without_worker.client.delete(f"/jobs/{job['id']}")

    assert response.status_code == 200
    assert response.json()["status"] == "canceled"
    assert response.json()["links"]["cancel"] is None
    assert redis.llen(f"rq:queue:{api_without_worker.settings.key_prefix}:fast") == 0
    result = api_without_worker.client.get(f"/jobs/{job['id']}/result")
    assert result.status_code == 409
    assert result.json()["error"]["code"] == "job_canceled"


def test_canceling_twice_is_harmless(api_without_worker):
    job = api_without_worker.submit().json()
    api_without_worker.client.delete(f"/jobs/{job['id']}")

    again = api_without_worker.client.delete(f"/jobs/{job['id']}")

    assert again.status_code == 200
    assert again.json()["status"] == "canceled"


def test_canceling_a_running_job_stops_it_between_cascade_levels(api):
    # 2048 px WCT takes 1-4 s on 2 cores (about 1 s with bfloat16 networks): time to see
    # it running (polled every 0.1 s) and stop it at the check before level 2 or 1.
    job = api.submit(method="wct", size="2048").json()
    api.wait(job["id"], until=lambda j: j["status"] == "running")

    response = api.client.delete(f"/jobs/{job['id']}")

    assert response.status_code == 202
    assert response.json()["cancel_requested"] is True
    canceled = api.wait(job["id"], timeout=60)
    assert canceled["status"] == "canceled"
    assert canceled["progress"]["fraction"] < 1
    assert canceled["result"] is None


def test_a_finished_job_cannot_be_canceled(api):
    job = api.submit(headers={"Prefer": "wait=60"}).json()
    assert job["status"] == "succeeded"

    response = api.client.delete(f"/jobs/{job['id']}")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_finished"


def test_canceling_a_running_gatys_job_keeps_its_best_image_so_far(api):
    job = api.submit(
        method="gatys", **{"gatys.iterations": "500", "gatys.preview_every": "1"}
    ).json()
    running = api.wait(job["id"], until=lambda j: (j["progress"]["iteration"] or 0) >= 1)
    assert running["links"]["preview"] == f"/jobs/{job['id']}/preview"
    preview = api.client.get(running["links"]["preview"])
    assert (preview.status_code, preview.headers["content-type"]) == (200, "image/jpeg")

    assert api.client.delete(f"/jobs/{job['id']}").status_code == 202
    canceled = api.wait(job["id"], timeout=60)

    assert canceled["status"] == "canceled"
    assert canceled["progress"]["iteration"] < 500
    assert canceled["result"]["partial"] is True
    image = api.client.get(canceled["links"]["result"])
    assert (image.status_code, image.headers["content-type"]) == (200, "image/png")
