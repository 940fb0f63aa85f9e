"""Fixtures shared by the tests: the real Redis at REDIS_URL under a key prefix unique to
this test session, real worker processes, and the API in-process (``Api``) or as a real
uvicorn process on a free port (``ApiProcess``, for HTTP clients and browsers).

Nothing here is faked: workers are ``python -m workers.cli worker`` subprocesses with the
real weights (STYLIZE_WEIGHTS_DIR, default ../shared/weights). Worker heartbeats are
shortened (1 s, lease 3 s) so the lost-worker tests take seconds, not minutes. At the
end every key the session made is deleted and every worker it started is stopped.
"""

import io
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from redis import Redis
from starlette.exceptions import StarletteDeprecationWarning

from contract.keys import Keys
from contract.presence import live_workers
from service.app import create_app
from service.config import Settings
from workers.cli import worker_command

with warnings.catch_warnings():
    # "install httpx2 instead": not available here; the httpx client works as documented.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
FAST_WORKER_SETTINGS = {
    "STYLIZE_WORKER_HEARTBEAT": "1",
    "STYLIZE_WORKER_LEASE": "3",
    "STYLIZE_WORKER_MAINTENANCE": "1",
}
WORKER_START_TIMEOUT = 120.0  # seconds: importing torch on a loaded 2-core machine is slow
API_START_TIMEOUT = 60.0  # seconds; importing FastAPI on a loaded 2-core machine
CONTENT = SHARED / "testdata" / "content" / "chicago.jpg"
STYLE = SHARED / "testdata" / "style" / "sketch.png"
SMALL = {"size": "128", "style_size": "128"}  # keeps a real job around a second


def new_prefix(label: str = "test") -> str:
    return f"stylize-{label}-{uuid.uuid4().hex[:8]}"


def worker_env(prefix: str, redis_url: str = REDIS_URL, **overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("STYLIZE_WEIGHTS_DIR", str(SHARED / "weights"))
    env.update(FAST_WORKER_SETTINGS)
    env.update({"REDIS_URL": redis_url, "STYLIZE_KEY_PREFIX": prefix, **overrides})
    return env


class WorkerProcess:
    """A ``stylize worker`` subprocess, its log in a file for when a test fails."""

    def __init__(
        self,
        prefix: str,
        name: str,
        log_dir: Path,
        *,
        queues: str = "fast,slow",
        redis_url: str = REDIS_URL,
        **env: str,
    ) -> None:
        self.prefix, self.name, self.redis_url = prefix, name, redis_url
        self.log_path = log_dir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                worker_command(queues, name),
                cwd=ROOT,
                env=worker_env(prefix, redis_url, **env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = WORKER_START_TIMEOUT) -> "WorkerProcess":
        """Until the worker heartbeats: engine loaded, taking jobs."""
        redis = Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while self.name not in live_workers(redis, Keys(self.prefix)):
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {self.name} not ready after {timeout} s:\n{self.log()}")
            time.sleep(0.2)
        return self

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """``kill -9``: no cleanup, no goodbye, exactly like a crashed machine."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def purge(redis: Redis, prefix: str) -> None:
    """Delete every key of ``prefix``: ours, and RQ's for our queues, jobs and workers."""
    job_ids = {
        key.decode().rsplit(":", 1)[1]
        for key in redis.scan_iter(match=f"{prefix}:job:*", count=1000)
        if key.decode().count(":") == 2
    }
    doomed = list(redis.scan_iter(match=f"{prefix}:*", count=1000))
    for key in redis.scan_iter(match="rq:*", count=1000):
        text = key.decode()
        if prefix in text or any(job_id in text for job_id in job_ids):
            doomed.append(key)
    for start in range(0, len(doomed), 500):
        redis.delete(*doomed[start : start + 500])
    for members_key in (b"rq:queues", b"rq:workers"):
        stale = [m for m in redis.smembers(members_key) if prefix.encode() in m]
        if stale:
            redis.srem(members_key, *stale)


@pytest.fixture(scope="session")
def redis() -> Iterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as error:
        pytest.fail(f"these tests need the Redis at REDIS_URL={REDIS_URL}: {error}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def fresh_prefix(redis: Redis) -> Iterator[Callable[[str], str]]:
    """``fresh_prefix(label)``: a new key prefix, its keys deleted at the end of the session."""
    made: list[str] = []

    def make(label: str = "test") -> str:
        made.append(new_prefix(label))
        return made[-1]

    yield make
    for prefix in made:
        purge(redis, prefix)


@pytest.fixture(scope="session")
def launch_worker(
    tmp_path_factory: pytest.TempPathFactory, fresh_prefix: Callable[[str], str]
) -> Iterator[Callable[..., WorkerProcess]]:
    """``launch_worker(prefix, name, **options)``: a worker stopped at the end of the
    session at the latest (for module- and session-scoped fixtures). Workers stop before
    ``fresh_prefix`` deletes their keys."""
    started: list[WorkerProcess] = []
    log_dir = tmp_path_factory.mktemp("workers")

    def launch(prefix: str, name: str, **options: str) -> WorkerProcess:
        started.append(WorkerProcess(prefix, name, log_dir, **options))
        return started[-1]

    yield launch
    for worker in started:
        worker.stop()


@pytest.fixture(scope="session")
def session_prefix(fresh_prefix: Callable[[str], str]) -> str:
    """The key prefix of this session's shared worker and API."""
    return fresh_prefix("session")


@pytest.fixture(scope="session")
def session_worker(
    session_prefix: str, launch_worker: Callable[..., WorkerProcess]
) -> WorkerProcess:
    """One worker on both queues, started once for the session (the first test that
    needs it waits for it; later ones find it ready)."""
    return launch_worker(session_prefix, f"{session_prefix}-w")


@pytest.fixture
def ready_worker(session_worker: WorkerProcess) -> WorkerProcess:
    if not session_worker.alive:
        pytest.fail(f"the session worker died:\n{session_worker.log()}")
    return session_worker.wait_ready()


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """``start_worker(prefix, name, **options)``: a worker stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(prefix: str, name: str, **options: str) -> WorkerProcess:
        started.append(WorkerProcess(prefix, name, tmp_path, **options))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def prefix(fresh_prefix: Callable[[str], str]) -> str:
    """A key prefix for one test (no worker listens to it unless the test starts one)."""
    return fresh_prefix("test")


# --- the API ------------------------------------------------------------------------------


class Api:
    """The app in-process behind FastAPI's TestClient, with the calls tests repeat."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def submit(
        self,
        *,
        content: tuple[str, bytes, str] | None = None,
        styles: list[tuple[str, bytes, str]] | None = None,
        mask: tuple[str, bytes, str] | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        """``POST /stylize``; by default chicago.jpg in the style of sketch.png, at 128 px."""
        files = [("content", content or ("chicago.jpg", CONTENT.read_bytes(), "image/jpeg"))]
        if styles is None and "style_id" not in fields:
            styles = [("sketch.png", STYLE.read_bytes(), "image/png")]
        files += [("style", style) for style in styles or []]
        if mask is not None:
            files.append(("mask", mask))
        return self.client.post("/stylize", files=files, data={**SMALL, **fields}, headers=headers)

    def job(self, job_id: str, headers: dict[str, str] | None = None) -> dict:
        response = self.client.get(f"/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(
        self,
        job_id: str,
        until: Callable[[dict], bool] | None = None,
        timeout: float = 120,
        headers: dict[str, str] | None = None,
    ) -> dict:
        """Poll until ``until(job)``, by default until it is finished."""
        until = until or (lambda job: job["status"] in ("succeeded", "failed", "canceled"))
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id, headers)
            if until(job):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} never got there; last seen: {job}")
            time.sleep(0.1)


@pytest.fixture
def make_api(session_prefix: str) -> Iterator[Callable[..., Api]]:
    """``make_api(**settings)``: an app on the session prefix (where the session worker
    listens) unless ``key_prefix`` says otherwise."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> Api:
        overrides.setdefault("redis_url", REDIS_URL)
        overrides.setdefault("key_prefix", session_prefix)
        settings = Settings(**overrides)
        client = TestClient(create_app(settings), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return Api(client, settings)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api], ready_worker: WorkerProcess) -> Api:
    """The app with the session worker ready behind it."""
    return make_api()


@pytest.fixture
def api_without_worker(make_api: Callable[..., Api], prefix: str) -> Api:
    """The app on a prefix no worker listens to: jobs stay queued."""
    return make_api(key_prefix=prefix)


# --- the API as a process ------------------------------------------------------------------


class ApiProcess:
    """``uvicorn service.app:create_app --factory`` on a free port, its log in a file."""

    def __init__(self, prefix: str, log_dir: Path, **env: str) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log_path = log_dir / f"api-{prefix}.log"
        environment = {**os.environ, "REDIS_URL": REDIS_URL, "STYLIZE_KEY_PREFIX": prefix, **env}
        command = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + API_START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API exited:\n{self.log()}")
            try:
                if httpx.get(self.url + "healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the API did not answer in {API_START_TIMEOUT} s:\n{self.log()}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="session")
def launch_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., ApiProcess]]:
    """``launch_api(prefix, **env)``: an API process stopped at the end of the session at
    the latest (for module- and session-scoped fixtures)."""
    started: list[ApiProcess] = []
    log_dir = tmp_path_factory.mktemp("api")

    def launch(prefix: str, **env: str) -> ApiProcess:
        started.append(ApiProcess(prefix, log_dir, **env))
        return started[-1]

    yield launch
    for api in started:
        api.stop()


@pytest.fixture
def start_api(tmp_path: Path) -> Iterator[Callable[..., ApiProcess]]:
    """``start_api(prefix, **env)``: an API of the test's own (e.g. with API keys), stopped
    at the end of the test. No worker listens on ``prefix`` unless the test starts one."""
    started: list[ApiProcess] = []

    def start(prefix: str, **env: str) -> ApiProcess:
        started.append(ApiProcess(prefix, tmp_path, **env))
        return started[-1]

    yield start
    for api in started:
        api.stop()


# --- images -------------------------------------------------------------------------------


def png_bytes(width: int, height: int, color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def content_file() -> tuple[str, bytes, str]:
    """chicago.jpg (712x474, 220 kB), as an upload."""
    return ("chicago.jpg", CONTENT.read_bytes(), "image/jpeg")


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    """``make_png(width, height)``: a solid PNG (tiny on disk, whatever its size)."""
    return png_bytes


@pytest.fixture
def unique_style() -> tuple[str, bytes, str]:
    """sketch.png with its first pixel changed: a style no worker has cached yet."""
    image = Image.open(STYLE).convert("RGB")
    image.putpixel((0, 0), tuple(random.randrange(256) for _ in range(3)))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return ("unique.png", buffer.getvalue(), "image/png")
