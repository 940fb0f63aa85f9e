"""A chaos soak: real workers, a real API and a Redis of its own, all on loopback, under
load, while a controller breaks them; then the verdict (``soak_check.check``).

    python -m loadtest.soak --users 4 --duration 600 --workers 2 --json soak.json

For ``--duration`` seconds, ``--users`` virtual users (``soak_client``) submit jobs and
follow them, while the controller

- SIGKILLs a random worker about every ``--kill-every`` seconds and starts it again
  (same name: it must take its stale registration over);
- restarts Redis about every ``--redis-every`` seconds, by SIGTERM and SIGKILL in turn
  (its own append-only instance, ``appendfsync always``: an acknowledged job must
  survive a crash);
- once, SIGSTOPs a busy worker for longer than its lease, then SIGCONTs it (its job is
  re-run elsewhere; the late run must not overwrite the new one).

Then the users stop submitting and follow their jobs for up to ``--drain`` seconds; the
job records and results are read from Redis directly and checked against what the users
saw. Exit status 1 if any check failed. Nothing but 127.0.0.1 is contacted; every
process it started is stopped at the end.
"""

import argparse
import asyncio
import hashlib
import json
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from contract.jobs import JobRecord
from contract.keys import Keys
from loadtest.run import DEFAULT_TESTDATA, parse_mix
from loadtest.soak_check import StoredJob, check, format_report
from loadtest.soak_client import run_users
from tests.support.processes import ApiServer, RedisServer, WorkerProcess

WORKER_SETTINGS = {
    "STYLIZE_WORKER_HEARTBEAT": "2",
    "STYLIZE_WORKER_LEASE": "10",
    "STYLIZE_WORKER_MAINTENANCE": "2",
    "STYLIZE_WORKER_WARM_UP": "false",
    "STYLIZE_TORCH_THREADS": "1",
}
REDIS_DOWN = 3.0  # seconds Redis stays down at each restart


@dataclass(frozen=True)
class Plan:
    users: int
    duration: float
    drain: float
    workers: int
    kill_every: float
    redis_every: float
    pause: bool
    mix: dict[str, float]
    size: int
    seed: int


class Chaos:
    """The controller: a thread that kills, restarts and pauses, and remembers when."""

    def __init__(self, plan: Plan, redis: RedisServer, workers: list[WorkerProcess], prefix: str, log_dir: Path) -> None:  # fmt: skip
        self.plan, self.redis, self.workers = plan, redis, workers
        self.prefix, self.log_dir = prefix, log_dir
        self.rng = random.Random(plan.seed)
        self.outages: list[tuple[float, float]] = []
        self.events: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)
        self._generation = 0
        self._paused: WorkerProcess | None = None
        self._resume_at = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        start = time.monotonic()
        next_kill = start + self._jitter(self.plan.kill_every)
        next_redis = start + self._jitter(self.plan.redis_every)
        pause_at = start + self.plan.duration * 0.3 if self.plan.pause else float("inf")
        by_sigkill = False
        while not self._stop.wait(0.2):
            now = time.monotonic()
            if self._paused is not None and (now >= self._resume_at or self._stop.is_set()):
                self._resume()
            if now - start > self.plan.duration:
                break
            if now >= next_kill:
                self._kill_a_worker()
                next_kill = now + self._jitter(self.plan.kill_every)
            if now >= next_redis:
                self._restart_redis(signal.SIGKILL if by_sigkill else signal.SIGTERM)
                by_sigkill = not by_sigkill
                next_redis = time.monotonic() + self._jitter(self.plan.redis_every)
            if now >= pause_at:
                self._pause_a_worker()
                pause_at = float("inf")
        if self._paused is not None:
            self._resume()

    def _jitter(self, seconds: float) -> float:
        return seconds * self.rng.uniform(0.8, 1.2)

    def _kill_a_worker(self) -> None:
        index = self.rng.choice([i for i, w in enumerate(self.workers) if w is not self._paused])
        victim = self.workers[index]
        victim.kill()
        self._generation += 1
        log_dir = self.log_dir / f"gen{self._generation}"
        log_dir.mkdir()
        self.workers[index] = WorkerProcess(
            self.prefix, victim.name, log_dir, redis_url=self.redis.url, **WORKER_SETTINGS
        )
        self.events.append(f"SIGKILL {victim.name}")

    def _restart_redis(self, sig: signal.Signals) -> None:
        down = time.time()
        self.redis.stop(sig)
        time.sleep(REDIS_DOWN)
        self.redis.start()
        self.outages.append((down, time.time()))
        self.events.append(f"Redis {sig.name}")

    def _pause_a_worker(self) -> None:
        """SIGSTOP the worker running a job (any, if none is) until past its lease."""
        busy = set(_running_workers(self.redis.url, self.prefix))
        candidates = [w for w in self.workers if w.name in busy and w.alive]
        worker = self.rng.choice(candidates or [w for w in self.workers if w.alive])
        worker.process.send_signal(signal.SIGSTOP)
        self._paused = worker
        self._resume_at = time.monotonic() + int(WORKER_SETTINGS["STYLIZE_WORKER_LEASE"]) + 5
        self.events.append("SIGSTOP/SIGCONT " + worker.name + (" (busy)" if candidates else ""))

    def _resume(self) -> None:
        self._paused.process.send_signal(signal.SIGCONT)
        self._paused = None


def _running_workers(url: str, prefix: str) -> list[str]:
    redis = Redis.from_url(url)
    try:
        names = []
        for key in redis.scan_iter(match=f"{prefix}:job:*", count=1000):
            if key.count(b":") == 2 and redis.hget(key, "status") == b"running":
                names.append((redis.hget(key, "worker") or b"").decode())
        return names
    except Exception:
        return []
    finally:
        redis.close()


def read_jobs(url: str, prefix: str, job_ids: list[str]) -> dict[str, StoredJob]:
    """Each job's record and result, straight from Redis."""
    redis, keys = Redis.from_url(url), Keys(prefix)
    stored = {}
    try:
        for job_id in job_ids:
            fields = redis.hgetall(keys.job(job_id))
            if not fields:
                continue
            record = JobRecord.from_redis(fields)
            result = redis.get(keys.result(job_id))
            stored[job_id] = StoredJob(
                status=record.status.value,
                error_code=record.error.code if record.error else None,
                etag=record.result.etag if record.result else None,
                attempts=record.attempts,
                result_sha256=hashlib.sha256(result).hexdigest() if result is not None else None,
            )
    finally:
        redis.close()
    return stored


def run_soak(plan: Plan, log_dir: Path, testdata: Path = DEFAULT_TESTDATA) -> dict:
    prefix = f"soak-{uuid.uuid4().hex[:8]}"
    (log_dir / "redis").mkdir(parents=True, exist_ok=True)
    redis = RedisServer(
        "--appendonly", "yes", "--appendfsync", "always", "--save", "",
        "--dir", str(log_dir / "redis"),
    )  # fmt: skip
    workers: list[WorkerProcess] = []
    api = None
    chaos = None
    started = time.monotonic()
    try:
        redis.start()
        api = ApiServer(prefix, log_dir, redis_url=redis.url)
        workers += [
            WorkerProcess(prefix, f"{prefix}-w{i}", log_dir, redis_url=redis.url, **WORKER_SETTINGS)
            for i in range(plan.workers)
        ]
        for worker in workers:
            worker.wait_ready()
        chaos = Chaos(plan, redis, workers, prefix, log_dir)
        chaos.start()
        seen = asyncio.run(
            run_users(
                api.url.rstrip("/"),
                users=plan.users,
                submit_for=plan.duration,
                follow_for=plan.duration + plan.drain,
                mix=plan.mix,
                size=plan.size,
                testdata=testdata,
                seed=plan.seed,
            )
        )
        chaos.stop()
        if not redis.running:
            redis.start()
        report = check(seen, read_jobs(redis.url, prefix, list(seen.accepted)), chaos.outages)
        report["chaos"] = dict(_count(chaos.events))
        report["elapsed_s"] = round(time.monotonic() - started, 1)
        return report
    finally:
        if chaos is not None:
            chaos.stop()
        for worker in workers:
            if worker.alive:
                worker.process.send_signal(signal.SIGCONT)
            worker.stop()
        if api is not None:
            api.stop()
        redis.stop()


def _count(events: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in events:
        kind = event.split(" ")[0] if not event.startswith("Redis") else event
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of chaos")
    parser.add_argument("--drain", type=float, default=240.0, help="seconds to finish after")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=30.0)
    parser.add_argument("--redis-every", type=float, default=120.0)
    parser.add_argument("--no-pause", action="store_true", help="skip the SIGSTOP")
    parser.add_argument("--mix", type=parse_mix, default=parse_mix("adain=0.5,wct=0.4,gatys=0.1"))
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--logs", type=Path, help="keep the processes' logs here")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plan = Plan(
        users=args.users, duration=args.duration, drain=args.drain, workers=args.workers,
        kill_every=args.kill_every, redis_every=args.redis_every, pause=not args.no_pause,
        mix=args.mix, size=args.size, seed=args.seed,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        report = run_soak(plan, args.logs or Path(scratch))
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
