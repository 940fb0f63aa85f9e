"""Console scripts: ``stylize`` (the engine's commands plus ``worker`` and ``up``) and
``stylize-worker``.

    stylize up [--port P] [--workers N] [--host H]   the API and N workers, until Ctrl-C
    stylize worker [--queues fast,slow] [--name N] [--burst] [--redis-url URL]
    stylize-worker ...                               the same as ``stylize worker``

``stylize weights ...`` (and the engine's other commands) come from
``models.cli.build_parser``; this module only adds its own subcommands to that parser.
"""

import argparse
import logging
import os
import socket
import sys
import time

from redis.exceptions import RedisError
from rq.exceptions import StopRequested

from contract.jobs import QUEUE_FOR_METHOD
from contract.keys import QueueKind
from contract.logs import configure_logging
from models import cli as engine_cli
from service.config import Settings, connect_redis

log = logging.getLogger("stylize.worker")

QUEUE_KINDS: tuple[QueueKind, ...] = ("fast", "slow")
RESTART_DELAY = 2.0  # seconds before a worker loop that lost Redis starts again


def build_parser() -> argparse.ArgumentParser:
    return engine_cli.build_parser(extra=_add_commands)


def _add_commands(commands: argparse._SubParsersAction) -> None:
    _add_worker_command(commands)
    _add_up_command(commands)


def main(argv: list[str] | None = None) -> int:
    return engine_cli.main(argv, parser=build_parser())


def worker_main(argv: list[str] | None = None) -> int:
    """``stylize-worker``: the ``stylize worker`` subcommand as its own command."""
    parser = argparse.ArgumentParser(prog="stylize-worker", description=_WORKER_HELP)
    _add_worker_options(parser)
    return _worker(parser.parse_args(argv))


# --- stylize worker ---------------------------------------------------------------------

_WORKER_HELP = (
    "Run a worker: load the engine once, then take jobs from the queues until stopped "
    "(SIGTERM or Ctrl-C finishes the current job first; a second one stops at once). "
    "Settings (REDIS_URL, STYLIZE_*) come from the environment."
)


def _add_worker_command(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser("worker", help="run a worker", description=_WORKER_HELP)
    _add_worker_options(worker)
    worker.set_defaults(handler=_worker)


def _add_worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queues",
        default="fast,slow",
        type=_queue_kinds,
        help="comma-separated, in priority order: fast (adain, wct), slow (gatys); "
        "default fast,slow. A single queue is the most robust: RQ then moves each job "
        "atomically from the queue into its in-progress list",
    )
    parser.add_argument("--name", help="worker name (default: host.pid); must be unique")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--redis-url", help="overrides REDIS_URL")
    parser.add_argument("--log-level", default="INFO", help="default INFO")


def worker_command(queues: str, name: str) -> list[str]:
    """The command line that starts one worker process (``stylize up`` and the tests)."""
    return [sys.executable, "-m", "workers.cli", "worker", "--queues", queues, "--name", name]


def _queue_kinds(text: str) -> list[QueueKind]:
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [k for k in kinds if k not in QUEUE_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"queues are {', '.join(QUEUE_KINDS)}; got {text!r}")
    return kinds  # type: ignore[return-value]


def _worker(args: argparse.Namespace) -> int:
    configure_logging(args.log_level)
    settings = Settings(redis_url=args.redis_url) if args.redis_url else Settings()
    name = args.name or f"{socket.gethostname()}.{os.getpid()}"
    try:
        return run_worker(settings, args.queues, name, burst=args.burst, log_level=args.log_level)
    except (KeyboardInterrupt, StopRequested):
        return 0


def run_worker(
    settings: Settings, kinds: list[QueueKind], name: str, *, burst: bool, log_level: str
) -> int:
    """Load the engine, then work; if the loop ends because Redis went away, start it
    again (same engine, same name) until Redis is back or the process is stopped."""
    from workers.engine import load_engine  # torch: only the worker process loads it
    from workers.worker import StylizeWorker

    served = [method for method, kind in QUEUE_FOR_METHOD.items() if kind in kinds]
    load_engine(settings, warm_up=served if settings.worker_warm_up else ())
    connection = connect_redis(settings)
    queues = [settings.keys.queue(kind) for kind in kinds]
    while True:
        worker = None
        try:
            worker = StylizeWorker(queues, settings=settings, connection=connection, name=name)
            worker.work(burst=burst, logging_level=log_level.upper())
        except (RedisError, ValueError) as error:  # ValueError: RQ says the name is taken
            log.warning("worker loop stopped: %s", error)
        if burst or (worker is not None and worker.stop_requested):
            return 0
        log.warning("worker loop ended unexpectedly; restarting in %.0f s", RESTART_DELAY)
        time.sleep(RESTART_DELAY)


# --- stylize up ---------------------------------------------------------------------------


def _add_up_command(commands: argparse._SubParsersAction) -> None:
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
    from workers.up import run_up

    if args.workers < 1:
        raise SystemExit("stylize up: --workers must be at least 1")
    return run_up(args.host, args.port, args.workers, args.grace)


if __name__ == "__main__":  # python -m workers.cli ...
    sys.exit(main())
