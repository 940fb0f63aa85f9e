"""Structured logs: one JSON object per line, with the job id on every line about a job.

Shared by the API and the workers so both sides log the same shape. The job id comes from
``extra={"job_id": ...}`` when a call site gives it, else from the RQ job the worker is
running (so RQ's own lines carry it too). ``STYLIZE_LOG_FORMAT=text`` gives plain lines
for a person at a terminal.
"""

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

LOGGING_CONFIG = Path(__file__).with_name("logging.json")
"""uvicorn's ``--log-config`` for the API: the same JSON lines, its access log included."""

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


def configure_logging(level: str = "info", fmt: str | None = None) -> None:
    """Route every logger through one stderr handler, JSON unless STYLIZE_LOG_FORMAT=text."""
    fmt = fmt or os.environ.get("STYLIZE_LOG_FORMAT", "json")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(JobIdFilter())
    if fmt == "text":
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
