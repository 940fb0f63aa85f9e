"""kill -9 a worker in the middle of a job: the job is re-queued and another worker
finishes it, up to the retry limit; then it fails with a clear error.

Three workers on a prefix of their own, each on the fast queue only. Each test kills
the worker that took its job; the survivors notice its expired lease within seconds
(heartbeat 1 s, lease 3 s, maintenance every second: see tests/support/processes.py).
"""

import pytest

from contract.keys import Keys
from contract.store import JobStore
from tests.support.processes import WorkerProcess

SLOW_JOB = {"method": "wct", "size": "2048"}  # about 4 s on 2 cores: time to kill it mid-way


@pytest.fixture(scope="module")
def fleet(fresh_prefix, tmp_path_factory):
    prefix = fresh_prefix("fleet")
    log_dir = tmp_path_factory.mktemp("fleet")
    workers = [
        WorkerProcess(
            prefix,
            f"{prefix}-{i}",
            log_dir,
            queues="fast",
            STYLIZE_TORCH_THREADS="1",
            STYLIZE_WORKER_WARM_UP="false",  # faster start; these jobs need no warm-up
        )
        for i in range(3)
    ]
    for worker in workers:
        worker.wait_ready()
    yield prefix, {worker.name: worker for worker in workers}
    for worker in workers:
        worker.stop()


def kill_the_worker_running(api, redis, job_id: str, workers: dict) -> str:
    """Wait until the job runs, then SIGKILL the worker running it; its name."""
    api.wait(job_id, until=lambda job: job["status"] == "running", timeout=60)
    record = JobStore(redis, Keys(api.settings.key_prefix)).get(job_id)
    victim = workers[record.worker]
    victim.kill()
    assert victim.process.returncode == -9
    return victim.name


def test_a_job_whose_worker_was_killed_is_finished_by_another_worker(fleet, make_api, redis):
    prefix, workers = fleet
    api = make_api(key_prefix=prefix, retry_limit=2)
    job_id = api.submit(**SLOW_JOB).json()["id"]

    killed = kill_the_worker_running(api, redis, job_id, workers)
    job = api.wait(job_id, timeout=180)

    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2
    record = JobStore(redis, Keys(prefix)).get(job_id)
    assert record.worker != killed
    assert workers[record.worker].alive
    assert api.client.get(job["links"]["result"]).status_code == 200


def test_a_job_that_loses_its_worker_beyond_the_retry_limit_fails_clearly(fleet, make_api, redis):
    prefix, workers = fleet
    api = make_api(key_prefix=prefix, retry_limit=0)
    job_id = api.submit(**SLOW_JOB).json()["id"]

    kill_the_worker_running(api, redis, job_id, workers)
    job = api.wait(job_id, timeout=60)

    assert job["status"] == "failed", job
    assert job["error"]["code"] == "worker_lost"
    assert "no retries left" in job["error"]["message"]
