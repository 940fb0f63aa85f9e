"""Real processes for the tests: workers, the API under uvicorn, spare Redis servers.

Nothing is faked: a worker is ``python -m cli worker`` with the real weights, the API is
``uvicorn service.app:create_app``, a spare Redis is ``redis-server``. Each writes its log
to a file that the error messages quote when it misbehaves. Worker heartbeats are short
(1 s, lease 3 s) so the lost-worker tests take seconds, not minutes.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from redis import Redis

from cli.worker import worker_command
from contract.keys import Keys
from contract.presence import live_workers
from service.http11 import PROTOCOL
from tests.support.keyspace import REDIS_URL
from tests.support.paths import ROOT, WEIGHTS

FAST_WORKER_SETTINGS = {
    "STYLIZE_WORKER_HEARTBEAT": "1",
    "STYLIZE_WORKER_LEASE": "3",
    "STYLIZE_WORKER_MAINTENANCE": "1",
}
WORKER_START_TIMEOUT = 120.0  # seconds: importing torch on a loaded 2-core machine is slow
API_START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker_env(prefix: str, redis_url: str = REDIS_URL, **overrides: str) -> dict[str, str]:
    from tests.support.webhooks import WEBHOOK_SETTINGS

    env = dict(os.environ)
    env.setdefault("STYLIZE_WEIGHTS_DIR", str(WEIGHTS))
    env.update(FAST_WORKER_SETTINGS)
    env.update(WEBHOOK_SETTINGS)  # deliveries to the tests' receivers on 127.0.0.1
    env.update({"REDIS_URL": redis_url, "STYLIZE_KEY_PREFIX": prefix, **overrides})
    return env


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (to find a supervisor's children)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


class LoggedProcess:
    """A subprocess whose stdout and stderr go to ``log_path``."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )

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


class WorkerProcess(LoggedProcess):
    """A ``stylize worker`` subprocess on ``prefix``."""

    def __init__(
        self,
        prefix: str,
        name: str,
        log_dir: Path,
        *,
        queues: str = "fast,slow,video",
        redis_url: str = REDIS_URL,
        **env: str,
    ) -> None:
        self.prefix, self.name, self.redis_url = prefix, name, redis_url
        command = worker_command(queues, name)
        super().__init__(command, worker_env(prefix, redis_url, **env), log_dir / f"{name}.log")

    def wait_ready(self, timeout: float = WORKER_START_TIMEOUT) -> "WorkerProcess":
        """Until the worker heartbeats: engine loaded, taking jobs."""
        redis = Redis.from_url(self.redis_url)
        deadline = time.monotonic() + timeout
        while self.name not in live_workers(redis, Keys(self.prefix)):
            if not self.alive:
                raise RuntimeError(f"worker {self.name} exited:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {self.name} not ready after {timeout} s:\n{self.log()}")
            time.sleep(0.2)
        return self


class ApiServer(LoggedProcess):
    """``uvicorn service.app:create_app --factory`` on a free port, answering /healthz,
    with the header timeout of ``service.http11``, as the API is meant to be run."""

    def __init__(self, prefix: str, log_dir: Path, redis_url: str = REDIS_URL, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        command = [sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--http", PROTOCOL]
        environment = {**os.environ, "REDIS_URL": redis_url, "STYLIZE_KEY_PREFIX": prefix, **env}
        super().__init__(command, environment, log_dir / f"api-{prefix}-{self.port}.log")
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + API_START_TIMEOUT
        while True:
            if not self.alive:
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


class RedisServer:
    """A ``redis-server`` of a test's own on a free port, to stop and start at will.

    ``args`` are redis-server options; the default keeps nothing on disk. For one that
    survives restarts: ``RedisServer("--appendonly", "yes", "--dir", str(tmp_path))``.
    """

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.args = args or ("--save", "", "--appendonly", "no")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", *self.args]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self.process is not None

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        """SIGTERM: Redis saves and exits; SIGKILL: it dies at once, as in a crash."""
        if self.process is not None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)
            self.process = None
