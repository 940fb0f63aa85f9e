"""Resident memory of this process, now and at its peak, as the benchmarks report it.

Why not ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` for the peak: on Linux a child
that ``subprocess`` starts inherits its parent's high-water mark across fork and exec
(the forked copy of the parent's pages is counted before exec replaces them). A
benchmark child forked from a parent that holds 800 MB reports at least 800 MB,
whatever it does itself; ``bench/video.py --rss`` once reported its parent's RSS that
way. ``VmHWM`` in ``/proc/self/status`` is the peak of the present address space,
which starts afresh at exec.
"""

import resource
from pathlib import Path


def _status_mb(field: str) -> float | None:
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024  # kB
    return None


def rss_mb() -> float:
    """This process's resident memory now (``VmRSS``); NaN where /proc is not there."""
    now = _status_mb("VmRSS")
    return float("nan") if now is None else now


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started its program (``VmHWM``);
    without /proc, ``ru_maxrss`` (kB on Linux, bytes on macOS: read as kB)."""
    peak = _status_mb("VmHWM")
    if peak is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return peak
