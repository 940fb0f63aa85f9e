"""``stylize up`` and its Redis: the README's run command on an embedded Redis, queued
jobs that outlive a restart, and one clear line when a configured Redis is not there.

Real processes throughout: ``stylize up`` (the API, a worker, and the embedded Valkey
server) on free ports, with a data directory of the test's own.
"""

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from cli.up import choose_redis
from contract.settings import Settings
from tests.support.images import content_upload, style_upload
from tests.support.keyspace import REDIS_URL
from tests.support.paths import ROOT
from tests.support.processes import FAST_WORKER_SETTINGS, free_port, processes_mentioning
from tests.support.readme import quick_start

START_TIMEOUT = 180.0  # seconds: a worker imports torch and loads the engine


class Up:
    """A ``stylize up`` process started from a shell command line, its output in a file
    (bash runs a lone command in its own process: ``process`` is ``stylize up``)."""

    def __init__(self, command: str, data_dir: Path, log_path: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = data_dir
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}  # a newcomer's shell
        env.update(FAST_WORKER_SETTINGS)
        env.update(
            STYLIZE_DATA_DIR=str(data_dir),
            STYLIZE_WORKER_WARM_UP="false",  # the first job warms up; saves a start-up
            PATH=f"{_stylize_command(log_path.parent)}{os.pathsep}{env.get('PATH', '')}",
        )
        env.pop("STYLIZE_LOG_FORMAT", None)
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(
                ["bash", "-c", command], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def children(self) -> list[int]:
        return processes_mentioning(f".up{self.process.pid}.")

    def wait_until(self, ready: bool = True, timeout: float = START_TIMEOUT) -> None:
        """Until /healthz answers (or, with ``ready``, /readyz: a worker is taking jobs)."""
        path = "/readyz" if ready else "/healthz"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + path, timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, f"stylize up exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"stylize up not answering {path}:\n{self.log()}"
            time.sleep(0.3)

    def stop(self, timeout: float = 60) -> int:
        """Ctrl-C, as in the terminal; the exit status."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def cleanup(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.children() + processes_mentioning(str(self.data_dir)):
            os.kill(pid, signal.SIGKILL)


def _stylize_command(scratch: Path) -> Path:
    """A directory whose ``stylize`` runs this checkout's command line: the console script
    of the venv the tests run in (the one the README's setup made), unless that was
    installed from another checkout; then a two-line stand-in that does what it does."""
    script = Path(sys.executable).with_name("stylize")
    if script.exists() and "from cli.main import main" in script.read_text():
        return script.parent
    stand_in = scratch / "bin" / "stylize"
    stand_in.parent.mkdir(exist_ok=True)
    stand_in.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cli "$@"\n')
    stand_in.chmod(0o755)
    return stand_in.parent


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator:
    """``start_up(command, port)``: ``stylize up`` on the test's data directory."""
    started: list[Up] = []

    def start(command: str, port: int) -> Up:
        started.append(Up(command, tmp_path / "data", tmp_path / "up.log", port))
        return started[-1]

    yield start
    for up in started:
        up.cleanup()


def submit(url: str, wait: int = 0) -> dict:
    headers = {"Prefer": f"wait={wait}"} if wait else {}
    files = [("content", content_upload()), ("style", style_upload())]
    data = {"size": "128", "style_size": "128"}
    response = httpx.post(f"{url}/stylize", files=files, data=data, headers=headers, timeout=90)
    assert response.status_code in (200, 202), response.text
    return response.json()


def result_image(url: str, job: dict) -> Image.Image:
    response = httpx.get(url + job["links"]["result"], timeout=30)
    assert response.status_code == 200, response.text
    image = Image.open(io.BytesIO(response.content))
    image.load()
    return image


def test_the_readme_run_command_serves_a_job_on_an_embedded_redis(start_up):
    run = quick_start().run
    assert re.fullmatch(r"(\w+=\S+ )*stylize up", run), run  # what a newcomer types
    up = start_up(f"{run} --embedded-redis --port {(port := free_port())}", port)
    up.wait_until(ready=True)

    job = submit(up.url, wait=60)

    assert job["status"] == "succeeded", job
    assert result_image(up.url, job).size == (128, 85)
    assert up.stop() == 0
    assert not up.children()
    assert not processes_mentioning(str(up.data_dir))  # the embedded Redis stopped too
    assert not (up.data_dir / "redis" / "redis.sock").exists()
    # not a terminal: every line is JSON, the supervisor's, uvicorn's and the worker's
    lines = [json.loads(line) for line in up.log_path.read_text().splitlines() if line.strip()]
    messages = " ".join(line["message"] for line in lines)
    assert "embedded Redis (Valkey" in messages and "engine loaded" in messages
    assert any(line["logger"] == "uvicorn.access" for line in lines)


def test_a_job_queued_when_stylize_up_stops_runs_when_it_starts_again(start_up):
    command = "stylize up --embedded-redis --grace 5 --log-format human --port {port}"
    first = start_up(command.format(port=(port := free_port())), port)
    worker = _first_child(first)
    os.kill(worker, signal.SIGSTOP)  # a worker that takes nothing: the job stays queued
    first.wait_until(ready=False)

    job = submit(first.url)
    assert job["status"] == "queued"
    assert httpx.get(first.url + "/readyz").json()["workers"] == 0
    assert first.stop() == 0
    assert not first.children() and not processes_mentioning(str(first.data_dir))
    log = first.log()
    assert "up: API on http://127.0.0.1:" in log and '{"ts"' not in log  # human lines

    again = start_up(command.format(port=(port := free_port())), port)
    again.wait_until(ready=True)
    finished = httpx.get(
        f"{again.url}/jobs/{job['id']}", headers={"Prefer": "wait=60"}, timeout=90
    ).json()

    assert finished["status"] == "succeeded", finished
    assert result_image(again.url, finished).size == (128, 85)
    assert again.stop() == 0


def test_an_unreachable_redis_url_is_one_line_and_exit_1(tmp_path):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    env = {**os.environ, "REDIS_URL": closed, "STYLIZE_DATA_DIR": str(tmp_path / "data")}

    result = subprocess.run(
        [sys.executable, "-m", "cli", "up", "--port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=10,
    )  # fmt: skip

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f"no Redis answers at REDIS_URL={closed}" in result.stderr
    assert "start Redis there, or unset REDIS_URL" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was started


def test_without_redis_url_the_default_address_is_used_when_a_redis_answers_there(
    monkeypatch, redis
):
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("STYLIZE_REDIS_URL", raising=False)
    default = Settings()
    if default.redis_url != REDIS_URL:
        pytest.skip(f"the test Redis is not at the default address ({REDIS_URL})")

    assert choose_redis(default) == default.redis_url


def test_without_redis_url_and_nothing_at_the_default_address_the_embedded_one_is_chosen():
    closed = f"redis://127.0.0.1:{free_port()}/0"
    unset = Settings.model_construct(_fields_set=set(), redis_url=closed)  # as if not in env

    assert choose_redis(unset) is None


def _first_child(up: Up, timeout: float = 30) -> int:
    """The worker's pid, as soon as ``stylize up`` has spawned it."""
    deadline = time.monotonic() + timeout
    while not (children := up.children()):
        assert up.process.poll() is None, f"stylize up exited:\n{up.log()}"
        assert time.monotonic() < deadline, f"no worker started:\n{up.log()}"
        time.sleep(0.01)
    return children[0]
