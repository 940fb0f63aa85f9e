"""Scratch folders on disk for video jobs, and the removal of those a killed worker left.

A video job streams its upload and its result through files (a minute of video does not
fit in memory), in a temporary folder that is removed when the job ends. A worker killed
with SIGKILL (the OOM killer, a lost node) cannot remove it, and its frames would fill
the disk one crash at a time. So the folder's name carries the worker's pid, and every
worker, starting, removes the folders of processes that no longer exist.
"""

import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "stylize-video-"
_NAME = re.compile(rf"^{re.escape(PREFIX)}(\d+)-")


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    """A temporary folder for one job, removed on exit (or by a later worker's sweep)."""
    return tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-")


def sweep_orphans(root: Path | None = None) -> int:
    """Remove the scratch folders of workers that are gone; return how many."""
    root = Path(root or tempfile.gettempdir())
    removed = 0
    for folder in root.glob(f"{PREFIX}*"):
        match = _NAME.match(folder.name)
        if not match or not folder.is_dir() or process_exists(int(match.group(1))):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += not folder.exists()
    if removed:
        log.info("removed %d scratch folder(s) left by killed workers", removed)
    return removed


def process_exists(pid: int) -> bool:
    """Whether a process of this pid runs on this host (ours or another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
