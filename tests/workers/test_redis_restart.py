"""A worker outlives Redis: it takes jobs again within seconds of Redis coming back, even
when Redis went away while it was finishing a job, and it waits for an unreachable Redis
with a capped backoff, one line per attempt.

The name a worker registers under survives in Redis's append-only file when the worker
could not deregister; a stale registration of its own name must not keep it out.
"""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from rq.utils import now, utcformat

from contract.settings import Settings, connect_redis
from tests.support.keyspace import REDIS_URL
from tests.support.paths import ROOT
from tests.support.processes import RedisServer, free_port, worker_env
from workers.worker import NameTaken, StylizeWorker


def new_worker(prefix: str, name: str, **settings: object) -> StylizeWorker:
    config = Settings(redis_url=REDIS_URL, key_prefix=prefix, **settings)
    return StylizeWorker(
        [config.keys.queue("fast")], settings=config, connection=connect_redis(config), name=name
    )


def gone_pid() -> int:
    """The pid of a process that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_registration_left_by_this_process_is_taken_over(prefix):
    new_worker(prefix, f"{prefix}-w").register_birth()  # a loop that never deregistered

    again = new_worker(prefix, f"{prefix}-w")
    again.register_birth()

    assert again.birth_date is not None


def test_a_registration_left_by_a_gone_process_of_this_host_is_taken_over(prefix, redis):
    old = new_worker(prefix, f"{prefix}-w")
    old.register_birth()
    redis.hset(old.key, "pid", gone_pid())

    new_worker(prefix, f"{prefix}-w").register_birth()

    assert int(redis.hget(old.key, "pid")) == os.getpid()
    assert not redis.hexists(old.key, "death")


def test_a_live_worker_of_the_same_name_elsewhere_keeps_its_name_until_its_lease_ends(
    prefix, redis
):
    other = new_worker(prefix, f"{prefix}-w")
    other.register_birth()
    redis.hset(other.key, mapping={"hostname": "elsewhere", "last_heartbeat": utcformat(now())})

    with pytest.raises(NameTaken, match="elsewhere"):
        new_worker(prefix, f"{prefix}-w", worker_lease=30).register_birth()

    long_ago = utcformat(now().replace(year=2000))
    redis.hset(other.key, "last_heartbeat", long_ago)
    new_worker(prefix, f"{prefix}-w", worker_lease=30).register_birth()


@pytest.fixture
def durable_redis(tmp_path):
    """A redis-server of its own that keeps everything in an append-only file."""
    server = RedisServer(
        "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--dir", str(tmp_path)
    )
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_a_worker_whose_redis_restarts_while_it_finishes_a_job_takes_jobs_within_seconds(
    make_api, start_worker, prefix, durable_redis
):
    # A lease far longer than the wait below: before the fix, the worker's registration
    # (kept alive for one lease by its heartbeats) locked it out for that long.
    worker = start_worker(
        prefix,
        f"{prefix}-restart",
        redis_url=durable_redis.url,
        queues="fast",
        STYLIZE_WORKER_WARM_UP="false",
        STYLIZE_WORKER_LEASE="40",
    ).wait_ready()
    api = make_api(redis_url=durable_redis.url, key_prefix=prefix)
    first = api.submit(method="wct", size="2048").json()["id"]  # about 4 s of work
    api.wait(first, until=lambda job: job["status"] == "running", timeout=60)

    durable_redis.stop(signal.SIGKILL)
    deadline = time.monotonic() + 120
    while "quitting" not in worker.log_path.read_text():  # RQ: the job ended, Redis did not answer
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.5)
    durable_redis.start()

    second = api.wait(api.submit().json()["id"], timeout=25)
    assert second["status"] == "succeeded", worker.log()
    assert api.wait(first, timeout=150)["status"] == "succeeded"  # re-run after its lease
    assert worker.alive


@pytest.mark.slow
def test_a_worker_waits_for_an_unreachable_redis_with_a_capped_backoff_one_line_each(tmp_path):
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    env = worker_env("stylize-unreachable", url, STYLIZE_WORKER_WARM_UP="false")
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "worker", "--queues", "fast"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while len(re.findall(r"next attempt in (\d+) s", log_path.read_text())) < 4:
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
    finally:
        process.kill()
        process.wait()

    text = log_path.read_text()
    attempts = [line for line in text.splitlines() if "next attempt in" in line]
    assert [int(re.search(r"in (\d+) s", line)[1]) for line in attempts[:4]] == [1, 2, 4, 5]
    assert all(url.replace(":secret@", "") in line for line in attempts)  # address, no password
    assert "Connection refused" in attempts[0]
    assert "secret" not in text
    assert "Traceback" not in text
