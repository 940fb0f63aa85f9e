"""Inputs, jobs and results live in Redis for a TTL, then are gone."""

import time
from datetime import datetime


def test_a_job_outlives_its_ttl_while_running_then_expires_ttl_after_finishing(
    make_api, ready_worker
):
    api = make_api(job_ttl=2)
    # A Gatys run held to a 3 s budget: longer than the TTL whatever the machine's speed.
    submitted = api.submit(
        method="gatys",
        **{"gatys.iterations": "2000", "gatys.max_seconds": "3", "gatys.tolerance": "0"},
    ).json()

    job = api.wait(submitted["id"], timeout=120)
    finished = time.monotonic()

    assert job["status"] == "succeeded", job
    ran = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])
    assert ran.total_seconds() > 2
    assert api.client.get(job["links"]["result"]).status_code == 200
    while api.client.get(f"/jobs/{job['id']}").status_code == 200:
        assert time.monotonic() - finished < 10, "the job outlived its TTL"
        time.sleep(0.25)
    assert api.client.get(job["links"]["result"]).status_code == 404


def test_inputs_are_stored_with_the_job_ttl(api_without_worker, redis):
    api_without_worker.submit()
    prefix = api_without_worker.settings.key_prefix

    keys = list(redis.scan_iter(match=f"{prefix}:*"))
    # The owner's lists of jobs (GET /jobs, fair share) outlive the jobs they list.
    lists = {f"{prefix}:jobs:anonymous".encode(), f"{prefix}:active:anonymous".encode()}

    assert lists <= set(keys)
    for key in keys:
        ttl = redis.ttl(key)
        assert ttl > 0, key
        if key not in lists:
            assert ttl <= api_without_worker.settings.job_ttl, key
