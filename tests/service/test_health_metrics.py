"""/healthz, /readyz, /metrics; and job timeouts, which show up in the metrics."""

from tests.support.prometheus import metric


def test_healthz_answers_while_the_process_is_up(api_without_worker):
    assert api_without_worker.client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_live_workers_and_queue_depths(api):
    response = api.client.get("/readyz")

    assert response.status_code == 200
    ready = response.json()
    assert ready["status"] == "ready"
    assert ready["redis"] is True
    assert ready["workers"] >= 1
    assert set(ready["queues"]) == {"fast", "slow", "video"}


def test_readyz_is_503_without_a_live_worker(api_without_worker):
    api_without_worker.submit()

    response = api_without_worker.client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "redis": True,
        "workers": 0,
        "queues": {"fast": 1, "slow": 0, "video": 0},
    }


def test_metrics_count_requests_queue_depth_and_job_durations(api):
    job = api.submit(headers={"Prefer": "wait=60"}).json()
    assert job["status"] == "succeeded"

    text = api.client.get("/metrics").text

    assert metric(text, "stylize_http_requests_total", route="/stylize", status="200") >= 1
    assert metric(text, "stylize_http_request_duration_seconds_count", route="/stylize") >= 1
    assert 'stylize_queue_depth{queue="fast"}' in text
    assert metric(text, "stylize_workers") >= 1
    method = job["method"]  # the default method
    image = {"method": method, "media": "image"}
    assert metric(text, "stylize_job_duration_seconds_count", **image) >= 1
    assert metric(text, "stylize_jobs_finished_total", status="succeeded", **image) >= 1


def test_a_job_over_its_timeout_fails_and_is_counted_by_reason(make_api, ready_worker):
    api = make_api(fast_timeout=1)
    before = metric(api.client.get("/metrics").text, "stylize_job_failures_total", reason="timeout")

    # About 4 s at 2048 px on 2 CPU cores: well over the 1 s limit (1024 px can finish in 0.9 s).
    job = api.wait(api.submit(method="wct", size="2048").json()["id"], timeout=60)

    assert job["status"] == "failed"
    assert job["error"]["code"] == "timeout"
    assert "1 seconds" in job["error"]["message"]
    after = metric(api.client.get("/metrics").text, "stylize_job_failures_total", reason="timeout")
    assert after == before + 1
