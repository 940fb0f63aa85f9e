"""``stylize up``: the API and its workers as child processes of one supervisor, on the
Redis at ``REDIS_URL`` or on an embedded one.

Which Redis: ``--embedded-redis`` starts a private server (``cli/embedded_redis.py``);
without the flag, a configured ``REDIS_URL`` must answer (else one line says so and
``up`` exits 1), and with ``REDIS_URL`` unset the default address is used if a Redis
answers there, the embedded server otherwise. The embedded server starts first and stops
last, after the workers have finished their jobs on it.

The API runs in its own process (uvicorn) so it never imports torch; each worker is
``python -m cli worker``. Children get their own process group, so a Ctrl-C in
the terminal reaches only the supervisor, which then stops each child exactly once with
SIGTERM (a worker finishes its current job; uvicorn drains its requests), waits up to
``grace`` seconds and kills whatever is left. If any child dies on its own, the others
are stopped too and ``up`` exits with status 1: a half-running service is not quietly
kept up.

Logs: human lines on a terminal, JSON lines otherwise (``--log-format``); the choice is
made here, from the supervisor's stderr, and passed to every child.
"""

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from cli.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from cli.worker import worker_command
from contract.logs import (
    LOG_FORMAT_CHOICES,
    LogFormat,
    configure_logging,
    resolve_log_format,
    uvicorn_log_config,
)
from contract.settings import Settings

log = logging.getLogger("stylize.up")

PROBE_TIMEOUT = 2.0  # seconds to wait for a Redis to answer before deciding it is absent


def add_command(commands: argparse._SubParsersAction) -> None:
    up = commands.add_parser(
        "up",
        help="run the API and N workers (on REDIS_URL, or an embedded Redis) until Ctrl-C",
        description="Start the HTTP API (uvicorn) and N worker processes; Ctrl-C or SIGTERM "
        "stops them all (workers finish their current job first, for up to --grace "
        "seconds). With one worker it takes every queue; with two, one takes the fast "
        "queue (adain, wct images) and one the slow (gatys) and video queues; with more, "
        "one each takes the slow and the video queue and the others the fast one. Redis: REDIS_URL when set; when it is "
        "not, the default address if a Redis answers there, else an embedded one that "
        "keeps its data in STYLIZE_DATA_DIR (default ~/.local/share/stylize).",
    )
    up.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    up.add_argument("--port", type=int, default=8000, help="default 8000")
    up.add_argument("--workers", type=int, default=1, help="worker processes; default 1")
    up.add_argument(
        "--grace", type=float, default=30.0, help="seconds to wait for a clean stop; default 30"
    )
    up.add_argument(
        "--embedded-redis",
        action="store_true",
        help="start a private Redis for this run (on a unix socket, data in "
        "STYLIZE_DATA_DIR/redis), whatever REDIS_URL says",
    )
    up.add_argument(
        "--log-format",
        choices=LOG_FORMAT_CHOICES,
        help="auto (default; STYLIZE_LOG_FORMAT): human lines on a terminal, JSON lines otherwise",
    )
    up.set_defaults(handler=_up)


def _up(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise SystemExit("stylize up: --workers must be at least 1")
    try:
        log_format = resolve_log_format(args.log_format)
        settings = Settings()
    except ValueError as error:  # pydantic's ValidationError is one too
        raise SystemExit(f"stylize up: {error}") from None
    configure_logging("info", log_format)
    redis_url = None if args.embedded_redis else choose_redis(settings)
    embedded = None
    if redis_url is None:
        try:
            embedded = EmbeddedRedis(settings.data_dir / "redis").start()
        except EmbeddedRedisError as error:
            raise SystemExit(f"stylize up: {error}") from None
        redis_url = embedded.url
        log.info(
            "embedded Redis (Valkey %s) started in %.2f s at %s; data in %s",
            embedded.version, embedded.startup_seconds, embedded.url, embedded.directory,
        )  # fmt: skip
    try:
        return run_up(args.host, args.port, args.workers, args.grace, redis_url, log_format,
                      embedded)  # fmt: skip
    finally:
        if embedded is not None:
            embedded.stop()


def choose_redis(settings: Settings) -> str | None:
    """The Redis to use: ``REDIS_URL`` when set (it must answer), else the default
    address when a Redis answers there; None for the embedded one."""
    configured = "redis_url" in settings.model_fields_set
    problem = redis_problem(settings.redis_url)
    if problem is None:
        return settings.redis_url
    if configured:
        raise SystemExit(
            f"stylize up: no Redis answers at REDIS_URL={redact(settings.redis_url)} "
            f"({problem}); start Redis there, or unset REDIS_URL to use an embedded one."
        )
    return None


def redis_problem(url: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when a Redis answers PING at ``url`` (one try), else what went wrong."""
    try:
        client = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout,
                                retry=Retry(NoBackoff(), 0))  # fmt: skip
    except ValueError as error:  # not a Redis URL
        return str(error)
    try:
        client.ping()
    except (RedisError, OSError) as error:
        return str(error).rstrip(".") or type(error).__name__
    finally:
        client.close()
    return None


def redact(url: str) -> str:
    """``url`` without its password, to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass
class Child:
    name: str
    process: subprocess.Popen


def worker_queues(count: int) -> list[str]:
    """One worker takes every queue (fast first). Two: one for the fast queue, one for
    the long jobs (Gatys, then videos), so those never hold up an image. Three or more:
    one each for the slow and the video queue, the others on the fast one."""
    if count == 1:
        return ["fast,slow,video"]
    if count == 2:
        return ["fast", "slow,video"]
    return ["fast"] * (count - 2) + ["slow", "video"]


def run_up(
    host: str,
    port: int,
    workers: int,
    grace: float,
    redis_url: str,
    log_format: LogFormat,
    embedded: EmbeddedRedis | None = None,
) -> int:
    env = dict(os.environ)
    env.setdefault("STYLIZE_TORCH_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
    env["REDIS_URL"] = redis_url
    env["STYLIZE_LOG_FORMAT"] = log_format
    host_name = socket.gethostname()
    children = [
        _spawn(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "service.app:create_app",
                "--factory",
                "--host",
                host,
                "--port",
                str(port),
                "--http",  # uvicorn's h11 protocol with a deadline for the headers
                "service.http11:H11WithTimeouts",
                "--log-config",  # our log lines, uvicorn's access and error lines included
                str(uvicorn_log_config(log_format)),
            ],  # fmt: skip
            env,
        )
    ]
    for i, queues in enumerate(worker_queues(workers)):
        name = f"{host_name}.up{os.getpid()}.{i}"
        children.append(_spawn(f"worker {i} ({queues})", worker_command(queues, name), env))
    where = "embedded" if embedded is not None else redact(redis_url)
    log.info(
        "API on http://%s:%d (docs at /docs), %d worker(s), Redis: %s; Ctrl-C stops",
        host, port, workers, where,
    )  # fmt: skip

    stopping = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stopping
        if stopping:  # a second Ctrl-C: no more waiting
            _kill_all(children)
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    status = 0
    while not stopping:
        dead = next((c for c in children if c.process.poll() is not None), None)
        if dead is not None:
            log.error(
                "%s exited with status %d; stopping the others", dead.name, dead.process.returncode
            )
            status = 1
            break
        if embedded is not None and embedded.process and embedded.process.poll() is not None:
            log.error(
                "the embedded Redis exited with status %d; stopping the others. Its log "
                "(%s) ends:\n%s",
                embedded.process.returncode, embedded.log_path, embedded.log_tail(),
            )  # fmt: skip
            status = 1
            break
        time.sleep(0.2)
    _stop_all(children, grace)
    return status


def _spawn(name: str, command: list[str], env: dict[str, str]) -> Child:
    return Child(name, subprocess.Popen(command, env=env, process_group=0))


def _stop_all(children: list[Child], grace: float) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", child.name)
            child.process.kill()
            child.process.wait()


def _kill_all(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
