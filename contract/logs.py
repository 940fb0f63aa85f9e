"""Logs in one of two shapes, with the job id on every line about a job.

- ``json``: one JSON object per line, for log collectors (containers, files, pipes);
- ``human``: a short coloured line (time, level, source, message), for a person at a
  terminal, rendered by rich.

``auto`` (the default) picks ``human`` when stderr is a terminal, else ``json``;
``STYLIZE_LOG_FORMAT`` or a command's ``--log-format`` says otherwise (``text`` is the
old name of ``human``). Shared by the API and the workers so both sides log the same
shape. The job id comes from ``extra={"job_id": ...}`` when a call site gives it, else
from the RQ job the worker is running (so RQ's own lines carry it too).
"""

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Literal, TextIO

LogFormat = Literal["human", "json"]
LOG_FORMAT_CHOICES = ("auto", "human", "json")

LOGGING_CONFIG = Path(__file__).with_name("logging.json")
"""uvicorn's ``--log-config`` for the API: the same JSON lines, its access log included."""

HUMAN_LOGGING_CONFIG = Path(__file__).with_name("logging.human.json")
"""The same for a terminal: human lines."""

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def _current_rq_job_id() -> str | None:
    try:
        from rq import get_current_job  # only workers have a current job
    except ImportError:  # pragma: no cover - rq is a dependency
        return None
    try:
        job = get_current_job()
    except Exception:  # no job context (API process, idle worker)
        return None
    return job.id if job is not None else None


class JobIdFilter(logging.Filter):
    """Sets ``record.job_id`` from the running RQ job when the call site did not."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            record.job_id = _current_rq_job_id()
        return True


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "message", "job_id"?, "exc"?, ...extra}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                entry[key] = value if isinstance(value, int | float | bool | str) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """``worker: job 3f2a9c1e succeeded in 0.4 s``: the source (the logger, without the
    ``stylize.`` every own logger has), the message, and the job when the message does not
    name it. Time and level are the handler's columns."""

    def format(self, record: logging.LogRecord) -> str:
        source = record.name.removeprefix("stylize.")
        line = f"{source}: {record.getMessage()}"
        job_id = getattr(record, "job_id", None)
        if job_id and job_id not in line:
            line += f" [job {job_id}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class QuietRq(logging.Filter):
    """Human lines only: RQ's routine INFO lines (registries cleaned, channels subscribed,
    every job's start and result TTL) are left out; the worker's own line per job says
    what a person needs. Its warnings and errors stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith("rq.")


def human_handler() -> logging.Handler:
    """A rich handler on stderr: coloured level, a time column, no source-file column."""
    from rich.console import Console
    from rich.logging import RichHandler

    return RichHandler(
        console=Console(stderr=True),
        show_path=False,
        omit_repeated_times=False,
        log_time_format="%H:%M:%S",
        markup=False,
    )


def resolve_log_format(requested: str | None = None, stream: TextIO | None = None) -> LogFormat:
    """``human`` or ``json``: ``requested`` (a ``--log-format``), else
    ``STYLIZE_LOG_FORMAT``, else ``auto``, which is ``human`` on a terminal."""
    choice = (requested or os.environ.get("STYLIZE_LOG_FORMAT") or "auto").strip().lower()
    if choice == "text":
        choice = "human"
    if choice == "auto":
        stream = stream or sys.stderr
        return "human" if stream.isatty() else "json"
    if choice not in ("human", "json"):
        raise ValueError(
            f"the log format (--log-format or STYLIZE_LOG_FORMAT) is one of "
            f"{', '.join(LOG_FORMAT_CHOICES)}; got {choice!r}"
        )
    return choice  # type: ignore[return-value]


def uvicorn_log_config(fmt: LogFormat) -> Path:
    """uvicorn's ``--log-config`` file for ``fmt``."""
    return HUMAN_LOGGING_CONFIG if fmt == "human" else LOGGING_CONFIG


def configure_logging(level: str = "info", fmt: str | None = None) -> None:
    """Route every logger through one stderr handler, in ``fmt`` (see ``resolve_log_format``)."""
    if resolve_log_format(fmt) == "human":
        handler = human_handler()
        handler.setFormatter(HumanFormatter())
        handler.addFilter(QuietRq())
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    handler.addFilter(JobIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
