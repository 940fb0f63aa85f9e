"""``stylize up``: the API and its workers as child processes of one supervisor.

The API runs in its own process (uvicorn) so it never imports torch; each worker is
``python -m cli worker``. Children get their own process group, so a Ctrl-C in
the terminal reaches only the supervisor, which then stops each child exactly once with
SIGTERM (a worker finishes its current job; uvicorn drains its requests), waits up to
``grace`` seconds and kills whatever is left. If any child dies on its own, the others
are stopped too and ``up`` exits with status 1: a half-running service is not quietly
kept up.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from cli.worker import worker_command
from contract.logs import LOGGING_CONFIG


def add_command(commands: argparse._SubParsersAction) -> None:
    up = commands.add_parser(
        "up",
        help="run the API and N workers against REDIS_URL until Ctrl-C",
        description="Start the HTTP API (uvicorn) and N worker processes against REDIS_URL; "
        "Ctrl-C or SIGTERM stops them all (workers finish their current job first, for "
        "up to --grace seconds). With one worker it takes both queues; with more, one "
        "takes the slow (gatys) queue and the others the fast one.",
    )
    up.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    up.add_argument("--port", type=int, default=8000, help="default 8000")
    up.add_argument("--workers", type=int, default=1, help="worker processes; default 1")
    up.add_argument(
        "--grace", type=float, default=30.0, help="seconds to wait for a clean stop; default 30"
    )
    up.set_defaults(handler=_up)


def _up(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise SystemExit("stylize up: --workers must be at least 1")
    return run_up(args.host, args.port, args.workers, args.grace)


@dataclass
class Child:
    name: str
    process: subprocess.Popen


def worker_queues(count: int) -> list[str]:
    """One worker takes both queues (fast first); more get one queue each, and exactly
    one of them the slow queue, so Gatys jobs can never hold up the fast ones."""
    if count == 1:
        return ["fast,slow"]
    return ["fast"] * (count - 1) + ["slow"]


def run_up(host: str, port: int, workers: int, grace: float) -> int:
    env = dict(os.environ)
    env.setdefault("STYLIZE_TORCH_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))
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
                "--log-config",  # JSON logs, uvicorn's access and error lines included
                str(LOGGING_CONFIG),
            ],  # fmt: skip
            env,
        )
    ]
    for i, queues in enumerate(worker_queues(workers)):
        name = f"{host_name}.up{os.getpid()}.{i}"
        children.append(_spawn(f"worker {i} ({queues})", worker_command(queues, name), env))
    print(
        f"stylize up: API on http://{host}:{port} (docs at /docs), {workers} worker(s), "
        f"Redis at {env.get('REDIS_URL', 'redis://127.0.0.1:6379/0')}; Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )

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
            print(
                f"stylize up: {dead.name} exited with status {dead.process.returncode}; "
                "stopping the others",
                file=sys.stderr,
                flush=True,
            )
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
            print(f"stylize up: {child.name} did not stop in time; killing it", file=sys.stderr)
            child.process.kill()
            child.process.wait()


def _kill_all(children: list[Child]) -> None:
    for child in children:
        if child.process.poll() is None:
            child.process.kill()
