"""Batch throughput of `stylize run` here and through `stylize up`, and the Python
client's overhead per job over raw HTTP.

1. Throughput: the development batch (every content × style of ../shared/testdata, 5 × 7
   = 35 images, wct at 512 px) with `stylize run DIR DIR -o OUT` in this process (with
   torch's threads, one per core, and with OMP_NUM_THREADS=1: see --local-threads), and
   with `--server URL --concurrency 4` against `stylize up --workers N` (each N given by
   --workers; `up` gives each worker cores / N threads, at least 1). The runs alternate
   (local, server, local, server, …) so that load from other work on a shared machine
   falls on all of them. images/s is the batch's own summary
   (its clock starts once the engine is loaded, or once the styles are uploaded); the
   command's whole wall time is reported beside it.
2. Client overhead: on the last server, --jobs small jobs (adain, 64 px) each way,
   alternating: raw httpx (POST /stylize with `Prefer: wait=60`, GET the result) vs
   stylize_client (`stylize(..., wait=60)`, `result`), and the client as the CLI uses it
   (`stylize`, `wait` on the live events, `result`). Medians of submit → bytes.

Every `stylize up` runs on REDIS_URL (default 127.0.0.1:6379) under a key prefix of its
own, deleted afterwards.

    python bench/batch.py --rounds 2 --workers 2 3 --local-threads 0 1 --jobs 20
"""

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
TESTDATA = SHARED / "testdata"
CONTENT = TESTDATA / "content" / "chicago.jpg"
STYLE = TESTDATA / "style" / "sketch.png"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SUMMARY = re.compile(r"(\d+) done, \d+ skipped .*?, (\d+) failed, in ([\d.]+) s, ([\d.]+) images/s")
ENV = {
    **os.environ,
    "PYTHONPATH": str(ROOT),
    "STYLIZE_WEIGHTS_DIR": os.environ.get("STYLIZE_WEIGHTS_DIR", str(SHARED / "weights")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="batches of each kind")
    parser.add_argument("--workers", type=int, nargs="+", default=[2], help="stylize up --workers")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=20, help="small jobs per way, for overhead")
    parser.add_argument(
        "--local-threads", type=int, nargs="+", default=[0, 1],
        help="OMP_NUM_THREADS of the local runs; 0 = torch's default (one per core)",
    )  # fmt: skip
    args = parser.parse_args()

    rows: dict[str, list[tuple[float, float]]] = {}
    for n in args.workers:  # one server at a time: each worker holds about 1 GB
        server = Up(n)
        try:
            server.wait_ready()
            for _ in range(args.rounds):
                for threads in args.local_threads:
                    where = f"local, {threads or os.cpu_count()} thread(s)"
                    rows.setdefault(where, []).append(batch([], threads))
                options = ["--server", server.url, "--concurrency", str(args.concurrency)]
                rows.setdefault(f"stylize up --workers {n}", []).append(batch(options))
            if n == args.workers[-1]:
                times = overhead(server.url, args.jobs)
        finally:
            server.stop()
    print(f"\n35 images (5 contents x 7 styles), wct, 512 px, --concurrency {args.concurrency}")
    print(f"{'where':<28}{'images/s (each run)':<28}{'median':>8}{'wall s (median)':>18}")
    for where, runs in rows.items():
        rates = [rate for rate, _ in runs]
        each = " ".join(f"{rate:.2f}" for rate in rates)
        wall = statistics.median(w for _, w in runs)
        print(f"{where:<28}{each:<28}{statistics.median(rates):>8.2f}{wall:>18.1f}")
    base = statistics.median(times["raw httpx, Prefer: wait"])
    print(f"\n{args.jobs} adain jobs at 64 px each way, alternating; submit -> result bytes")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<34} median {median * 1000:6.1f} ms  ({(median - base) * 1000:+.1f} ms)")


def batch(options: list[str], threads: int = 0) -> tuple[float, float]:
    """(images/s from the batch's summary, the command's wall seconds)."""
    env = {**ENV, "OMP_NUM_THREADS": str(threads)} if threads else ENV
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "cli", "run", str(TESTDATA / "content"),
                   str(TESTDATA / "style"), "-o", out, "--size", "512", *options]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
    found = SUMMARY.search(done.stdout)
    if done.returncode != 0 or found is None or found.group(1) != "35":
        raise SystemExit(
            f"batch failed ({' '.join(options)}):\n{done.stdout}\n{done.stderr[-3000:]}"
        )
    where = " ".join(options) or f"local, OMP_NUM_THREADS={threads or 'unset'}"
    print(f"  {where}: {found.group(0)} (wall {wall:.1f} s)", flush=True)
    return float(found.group(4)), wall


def overhead(url: str, jobs: int) -> dict[str, list[float]]:
    """Seconds from submit to the result's bytes, per job, for each way."""
    sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))
    from stylize_client import Client

    content, style = CONTENT.read_bytes(), STYLE.read_bytes()
    form = {"method": "adain", "size": "64", "style_size": "64"}
    files = {"content": ("c.jpg", content, "image/jpeg"), "style": ("s.png", style, "image/png")}

    with httpx.Client(base_url=url, timeout=90) as http, Client(url) as client:

        def raw() -> bytes:
            job = http.post("/stylize", data=form, files=files, headers={"Prefer": "wait=60"})
            assert job.json()["status"] == "succeeded", job.text
            return http.get(f"/jobs/{job.json()['id']}/result").content

        small = {"method": "adain", "size": 64, "style_size": 64}

        def held() -> bytes:
            return client.result(client.stylize(content, style, wait=60, **small))

        def events() -> bytes:
            return client.result(client.wait(client.stylize(content, style, **small)))

        ways: dict[str, Callable[[], bytes]] = {
            "raw httpx, Prefer: wait": raw,
            "client, stylize(wait=60)": held,
            "client, stylize + wait (events)": events,
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for way in ways.values():  # one untimed job each: connections, style cache
            way()
        for _ in range(jobs):
            for name, way in ways.items():
                started = time.perf_counter()
                assert way()[:8] == b"\x89PNG\r\n\x1a\n"
                times[name].append(time.perf_counter() - started)
    return times


class Up:
    """`stylize up --workers N` on a port and key prefix of its own."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.prefix = f"stylize-bench-{uuid.uuid4().hex[:8]}"
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**ENV, "REDIS_URL": REDIS_URL, "STYLIZE_KEY_PREFIX": self.prefix}
        self.log = Path(tempfile.gettempdir()) / f"{self.prefix}-up.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cli", "up", "--workers", str(workers), "--port", str(port),
                 "--log-format", "json"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_ready(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"stylize up exited; see {self.log}")
            try:
                ready = httpx.get(f"{self.url}/readyz", timeout=2)
                if ready.status_code == 200 and ready.json()["workers"] == self.workers:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"stylize up --workers {self.workers} not ready; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)
        redis = Redis.from_url(REDIS_URL)
        doomed = list(redis.scan_iter(match=f"{self.prefix}:*")) + [
            key for key in redis.scan_iter(match="rq:*") if self.prefix.encode() in key
        ]
        if doomed:
            redis.delete(*doomed)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
