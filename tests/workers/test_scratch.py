"""Video scratch folders: a killed worker's are removed by the next worker, a live one's kept."""

import os
import subprocess
import sys

from workers.scratch import PREFIX, process_exists, scratch_folder, sweep_orphans


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_sweep_removes_the_folders_of_dead_workers_only(tmp_path):
    gone = tmp_path / f"{PREFIX}{dead_pid()}-abc"
    (gone / "frames").mkdir(parents=True)
    (gone / "frames" / "content").write_bytes(b"x" * 1000)
    alive = tmp_path / f"{PREFIX}{os.getpid()}-def"
    alive.mkdir()
    other = tmp_path / f"{PREFIX}not-a-pid"
    other.mkdir()

    assert sweep_orphans(tmp_path) == 1

    assert not gone.exists()
    assert alive.exists() and other.exists()


def test_a_jobs_folder_carries_the_pid_and_goes_with_the_job():
    with scratch_folder() as folder:
        assert os.path.basename(folder).startswith(f"{PREFIX}{os.getpid()}-")
        assert os.path.isdir(folder)
    assert not os.path.exists(folder)


def test_process_exists_tells_a_live_process_from_a_gone_one():
    assert process_exists(os.getpid())
    assert not process_exists(dead_pid())
    assert not process_exists(0)


def test_a_starting_worker_removes_what_a_killed_one_left(start_worker, prefix, tmp_path):
    scratch = tmp_path / "scratch"
    left = scratch / f"{PREFIX}{dead_pid()}-abc"
    left.mkdir(parents=True)
    (left / "content").write_bytes(b"\x00" * 4096)

    start_worker(prefix, "sweeper", queues="video", TMPDIR=str(scratch)).wait_ready()

    assert not left.exists()
