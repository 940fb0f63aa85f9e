"""How soon clients hear that a job has finished: webhook deliveries and live events.

Starts a worker (``python -m cli worker``) and the API (uvicorn) on a key prefix of its
own against REDIS_URL, and a webhook receiver on 127.0.0.1. Then, one after another, it
submits small AdaIN jobs with a webhook and follows each job's event stream
(``GET /jobs/{id}/events``). Delays are measured from the job's ``finished_at`` (written
by the worker just before its status changes; same machine, same clock) to the arrival
of the webhook and of the stream's ``done`` event.

    python bench/notifications.py --jobs 30
"""

import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CONTENT = SHARED / "testdata" / "content" / "chicago.jpg"
STYLE = SHARED / "testdata" / "style" / "sketch.png"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()

    arrivals: dict[str, float] = {}
    receiver = _receiver(arrivals)
    prefix = f"stylize-bench-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": REDIS_URL,
        "STYLIZE_KEY_PREFIX": prefix,
        "STYLIZE_WEIGHTS_DIR": os.environ.get("STYLIZE_WEIGHTS_DIR", str(SHARED / "weights")),
        "STYLIZE_WEBHOOK_SECRET": "bench-secret",
        "STYLIZE_WEBHOOK_ALLOW_HTTP": "true",
        "STYLIZE_WEBHOOK_ALLOW_PRIVATE": "true",
        "STYLIZE_WORKER_WARM_UP": "false",
    }
    python = sys.executable
    worker = subprocess.Popen(
        [python, "-m", "cli", "worker", "--queues", "fast", "--name", f"{prefix}-w"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    api = subprocess.Popen(
        [python, "-m", "uvicorn", "service.app:create_app", "--factory", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base)
        webhook, done = [], []
        for _ in range(args.jobs):
            job = _submit(base, receiver, args.size)
            events = _follow(base, job["id"])
            deadline = time.monotonic() + 30
            while job["id"] not in arrivals and time.monotonic() < deadline:
                time.sleep(0.01)
            final = events["done"][1]
            finished = _seconds(final["finished_at"])
            webhook.append(arrivals[job["id"]] - finished)
            done.append(events["done"][0] - finished)
        print(f"{args.jobs} adain jobs at {args.size} px, one at a time")
        _report("webhook delivered after the job finished", webhook)
        _report("SSE `done` after the job finished", done)
    finally:
        for process in (api, worker):
            process.terminate()
            process.wait(timeout=30)
        receiver.shutdown()
        _purge(prefix)


def _submit(base: str, receiver: http.server.HTTPServer, size: int) -> dict:
    url = f"http://127.0.0.1:{receiver.server_port}/hook"
    files = {
        "content": ("c.jpg", CONTENT.read_bytes(), "image/jpeg"),
        "style": ("s.png", STYLE.read_bytes(), "image/png"),
    }
    data = {"method": "adain", "size": str(size), "style_size": str(size), "webhook": url}
    response = httpx.post(f"{base}/stylize", files=files, data=data, timeout=30)
    response.raise_for_status()
    return response.json()


def _follow(base: str, job_id: str) -> dict[str, tuple[float, dict]]:
    """Arrival time and data of the `done` event."""
    seen: dict[str, tuple[float, dict]] = {}
    name = None
    with httpx.stream("GET", f"{base}/jobs/{job_id}/events", timeout=60) as stream:
        for line in stream.iter_lines():
            now = time.time()
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data = json.loads(line.removeprefix("data: "))
                if name == "done":
                    seen["done"] = (now, data)
    return seen


def _receiver(arrivals: dict[str, float]) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            arrivals.setdefault(json.loads(body)["id"], time.time())
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server


def _wait_ready(base: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError("the API and worker did not get ready")


def _report(what: str, delays: list[float]) -> None:
    if not delays:
        print(f"  {what}: none")
        return
    ms = sorted(1000 * d for d in delays)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"  {what}: median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms, max {ms[-1]:.0f} ms")


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _purge(prefix: str) -> None:
    redis = Redis.from_url(REDIS_URL)
    doomed = list(redis.scan_iter(match=f"{prefix}:*")) + [
        key for key in redis.scan_iter(match="rq:*") if prefix.encode() in key
    ]
    if doomed:
        redis.delete(*doomed)


if __name__ == "__main__":
    main()
