"""The console commands: ``stylize`` (engine commands plus ``worker`` and ``up``) and
``stylize-worker``; ``stylize up`` really serves over HTTP and stops cleanly on Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from cli.up import worker_queues
from contract.keys import Keys
from contract.presence import live_workers
from tests.support.keyspace import REDIS_URL
from tests.support.paths import CONTENT, ROOT, STYLE, WEIGHTS
from tests.support.processes import free_port, processes_mentioning


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], cwd=ROOT, capture_output=True, text=True
    )


def test_stylize_has_the_engine_commands_and_worker_and_up():
    result = run("--help")

    assert result.returncode == 0
    for command in ("run", "weights", "worker", "up"):
        assert command in result.stdout


def test_a_worker_refuses_unknown_queues():
    result = run("worker", "--queues", "medium")

    assert result.returncode == 2
    assert "queues are fast, slow, video" in result.stderr


@pytest.fixture
def stylize_up(prefix, tmp_path):
    """``stylize up`` on a free port, one worker, this test's key prefix."""
    port = free_port()
    env = {
        **os.environ,
        "REDIS_URL": REDIS_URL,  # the test Redis, where this test's prefix lives
        "STYLIZE_KEY_PREFIX": prefix,
        "STYLIZE_WORKER_HEARTBEAT": "1",
        "STYLIZE_WORKER_LEASE": "3",
        "STYLIZE_WORKER_WARM_UP": "false",  # the first job warms up; saves a start-up
    }
    env.setdefault("STYLIZE_WEIGHTS_DIR", str(WEIGHTS))
    with open(tmp_path / "up.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--port", str(port), "--workers", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    yield process, f"http://127.0.0.1:{port}"
    if process.poll() is None:  # the test failed half-way: leave nothing behind
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    for pid in processes_mentioning(str(port)) + processes_mentioning(f".up{process.pid}."):
        os.kill(pid, signal.SIGKILL)


def test_stylize_up_serves_a_job_over_http_and_stops_cleanly_on_ctrl_c(stylize_up, redis, prefix):
    process, url = stylize_up
    with httpx.Client(base_url=url, timeout=90) as client:
        deadline = time.monotonic() + 120
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "stylize up exited"
            assert time.monotonic() < deadline, "stylize up never became ready"
            time.sleep(0.3)

        job = client.post(
            "/stylize",
            files=[
                ("content", ("chicago.jpg", CONTENT.read_bytes(), "image/jpeg")),
                ("style", ("sketch.png", STYLE.read_bytes(), "image/png")),
            ],
            data={"size": "128", "style_size": "128"},
            headers={"Prefer": "wait=60"},
        ).json()
        assert job["status"] == "succeeded", job
        assert client.get(job["links"]["result"]).headers["content-type"] == "image/png"

    process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal does

    assert process.wait(timeout=45) == 0
    assert not processes_mentioning(f".up{process.pid}.")  # its worker is gone
    assert live_workers(redis, Keys(prefix)) == []  # it said goodbye
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/healthz", timeout=2)


def test_up_keeps_image_jobs_apart_from_long_ones_once_it_has_two_workers():
    assert worker_queues(1) == ["fast,slow,video"]
    assert worker_queues(2) == ["fast", "slow,video"]
    assert worker_queues(4) == ["fast", "fast", "slow", "video"]
