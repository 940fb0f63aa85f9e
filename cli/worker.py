"""``stylize worker`` and ``stylize-worker``: one queue worker in this process.

stylize worker [--queues fast,slow] [--name N] [--burst] [--redis-url URL]
"""

import argparse
import os
import socket
import sys

from rq.exceptions import StopRequested

from contract.keys import QUEUE_KINDS, QueueKind
from contract.logs import configure_logging
from contract.settings import Settings

HELP = (
    "Run a worker: load the engine once, then take jobs from the queues until stopped "
    "(SIGTERM or Ctrl-C finishes the current job first; a second one stops at once). "
    "Settings (REDIS_URL, STYLIZE_*) come from the environment."
)


def add_command(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("worker", help="run a worker", description=HELP)
    _add_options(parser)
    parser.set_defaults(handler=_worker)


def main(argv: list[str] | None = None) -> int:
    """``stylize-worker``: the ``stylize worker`` subcommand as its own command."""
    parser = argparse.ArgumentParser(prog="stylize-worker", description=HELP)
    _add_options(parser)
    return _worker(parser.parse_args(argv))


def worker_command(queues: str, name: str) -> list[str]:
    """The command line that starts one worker process (``stylize up`` and the tests)."""
    return [sys.executable, "-m", "cli", "worker", "--queues", queues, "--name", name]


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queues",
        default="fast,slow",
        type=_queue_kinds,
        help="comma-separated, in priority order: fast (adain, wct), slow (gatys); "
        "default fast,slow",
    )
    parser.add_argument("--name", help="worker name (default: host.pid); must be unique")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--redis-url", help="overrides REDIS_URL")
    parser.add_argument("--log-level", default="INFO", help="default INFO")


def _queue_kinds(text: str) -> list[QueueKind]:
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [k for k in kinds if k not in QUEUE_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"queues are {', '.join(QUEUE_KINDS)}; got {text!r}")
    return kinds  # type: ignore[return-value]


def _worker(args: argparse.Namespace) -> int:
    from workers.worker import run_worker  # torch: only the worker process loads it

    configure_logging(args.log_level)
    settings = Settings(redis_url=args.redis_url) if args.redis_url else Settings()
    name = args.name or f"{socket.gethostname()}.{os.getpid()}"
    try:
        return run_worker(settings, args.queues, name, burst=args.burst, log_level=args.log_level)
    except (KeyboardInterrupt, StopRequested):
        return 0
