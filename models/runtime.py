"""Process-wide settings that make the engine fast on a CPU: threads and the C allocator.

They change the whole process, so the engine never sets them by itself: a process that
runs many jobs (a worker, ``stylize run``) calls ``configure`` once at start; a notebook
that only builds a ``Stylizer`` keeps the allocator's defaults.

The allocator: glibc's malloc serves every block above 32 MB (a 1024-px map of 16 channels is
50 MB) straight from ``mmap`` and returns it on ``free``. The next allocation of the
same size then page-faults all of it in again, and on this 2-core machine that fault
storm cost as much as the convolutions: a plain 50 MB copy took 22 ms instead of 4 ms,
and 1024 px ran 6× slower than 512 px instead of 4×. Telling malloc to keep freed
memory in its heap makes every job after the first reuse the same pages. The price:
the process keeps its peak footprint (which a worker reaches on its first large job
anyway), it does not hand memory back to the OS between jobs.

Jobs above ``LARGE_JOB_PIXELS`` are the exception, see ``large_job``: run whole, kept
memory fragments at that scale (a 4096×3072 job peaked at 7.8 GB, then 9.0 GB on the
next), so for them big blocks go back to ``mmap`` (peak 4.4 GB, about 1.7× slower).
A poster (``models/poster.py``) works in bands whose blocks repeat in size, so it keeps
the heap (with ``mmap`` its two threads queued on the kernel's page-fault lock: 25 s
instead of 14 s). Either way all free memory goes back to the OS when the job ends.
"""

import contextlib
import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Iterator

log = logging.getLogger("stylize.engine")

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4
_MMAP_MAX_DEFAULT = 65536
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit
LARGE_JOB_PIXELS = 2048 * 2048
_INT_MAX = 2**31 - 1
_done = False
_libc: ctypes.CDLL | None = None


def configure(*, threads: int = 0, keep_memory: bool = True) -> None:
    """Tune this process for running many jobs: ``threads`` torch threads (0 = torch's
    choice; one per core is fastest on 2 cores) and, if ``keep_memory``, glibc keeps freed
    memory for the next job (``keep_freed_memory``)."""
    import torch  # here: the rest of this module is plain ctypes

    if threads:
        torch.set_num_threads(threads)
    if keep_memory:
        keep_freed_memory()


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to never ``mmap`` blocks nor trim its heap. Idempotent.

    Returns whether the setting took effect (False off Linux/glibc, e.g. macOS or musl).
    """
    global _done, _libc
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    # mallopt takes a C int: a larger Python int is silently truncated (2**62 became 0,
    # i.e. "trim on every free", the opposite). INT_MAX = trim only above 2 GB free.
    ok = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _INT_MAX))
    if not ok:
        log.warning("mallopt refused: large tensors will be page-faulted in on every job")
    _done, _libc = ok, libc
    return ok


def memory_kept() -> bool:
    """Whether ``keep_freed_memory`` is in effect in this process."""
    return _done


@contextlib.contextmanager
def large_job(pixels: int, *, banded: bool = False) -> Iterator[None]:
    """Around one job of ``pixels`` pixels: above ``LARGE_JOB_PIXELS``, while memory is
    kept, trim the heap after the job and, unless it is ``banded`` (a poster), let blocks
    ≥ 32 MB use ``mmap`` during it."""
    if not _done or _libc is None or pixels <= LARGE_JOB_PIXELS:
        yield
        return
    if not banded:
        _libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        _libc.mallopt(_M_MMAP_MAX, _MMAP_MAX_DEFAULT)
    try:
        yield
    finally:
        _libc.mallopt(_M_MMAP_MAX, 0)
        _libc.malloc_trim(0)
