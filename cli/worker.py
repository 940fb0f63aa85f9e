"""``stylize worker`` and ``stylize-worker``: one queue worker in this process.

stylize worker [--queues fast,slow,video] [--name N] [--burst] [--redis-url URL] [--log-format F]
"""

import argparse
import logging
import os
import socket
import sys

from rq.exceptions import StopRequested

from contract.keys import QUEUE_KINDS, QueueKind
from contract.logs import LOG_FORMAT_CHOICES, configure_logging
from contract.settings import Settings
from models import weights
from models.errors import StylizeError

log = logging.getLogger("stylize.worker")

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
    args = parser.parse_args(argv)
    try:
        return _worker(args)
    except StylizeError as error:  # e.g. a weight file missing and not downloadable
        print(f"stylize-worker: error: {error}", file=sys.stderr)
        return 1


def worker_command(queues: str, name: str) -> list[str]:
    """The command line that starts one worker process (``stylize up`` and the tests)."""
    return [sys.executable, "-m", "cli", "worker", "--queues", queues, "--name", name]


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queues",
        default="fast,slow,video",
        type=_queue_kinds,
        help="comma-separated, in priority order: fast (adain, wct images), slow (gatys), "
        "video (videos); default fast,slow,video",
    )
    parser.add_argument("--name", help="worker name (default: host.pid); must be unique")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--redis-url", help="overrides REDIS_URL")
    parser.add_argument("--log-level", default="INFO", help="default INFO")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMAT_CHOICES,
        help="auto (default; STYLIZE_LOG_FORMAT): human lines on a terminal, JSON lines otherwise",
    )


def _queue_kinds(text: str) -> list[QueueKind]:
    kinds = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [k for k in kinds if k not in QUEUE_KINDS]
    if not kinds or unknown:
        raise argparse.ArgumentTypeError(f"queues are {', '.join(QUEUE_KINDS)}; got {text!r}")
    return kinds  # type: ignore[return-value]


def _worker(args: argparse.Namespace) -> int:
    from workers.worker import run_worker  # torch: only the worker process loads it

    try:
        configure_logging(args.log_level, args.log_format)
        settings = Settings(redis_url=args.redis_url) if args.redis_url else Settings()
    except ValueError as error:  # a bad setting; pydantic's ValidationError is one too
        raise SystemExit(f"stylize worker: {error}") from None
    name = args.name or f"{socket.gethostname()}.{os.getpid()}"
    try:
        with weights.download_missing(progress=_log_download):
            return run_worker(
                settings, args.queues, name, burst=args.burst, log_level=args.log_level
            )
    except (KeyboardInterrupt, StopRequested):
        return 0


def _log_download(name: str, done: int, total: int) -> None:
    """A missing weight file being downloaded on first use: a line when it starts and
    one when it is in (a worker's log is no place for a progress bar)."""
    if done == 0:
        log.info("downloading weight file %s (%.1f MiB)", name, total / 2**20)
    elif done >= total:
        log.info("weight file %s downloaded", name)
