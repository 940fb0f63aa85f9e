"""Load test of a running stylize API: N virtual users, each in a loop of
submit → wait until the job finishes → download, through the Python client
(``stylize_client``, installed from ./clients/python), as an application would.

    python loadtest/run.py --users 8 --duration 120 --mix adain=0.7,wct=0.2,gatys=0.1

Users start one by one over ``--ramp-up`` seconds and submit jobs until ``--duration``
is over; then nobody submits, and every accepted job is followed for up to ``--drain``
more seconds. A 429 is counted and honoured by the client (it waits ``Retry-After``,
at most 30 s, and posts again). The report (a table, and JSON with ``--json PATH``)
gives jobs/s, POST latency, time to result per method, status codes per request kind
(every answer, retries included, seen under the client by ``ObservedTransport``),
errors, accepted vs finished jobs.

Exit status 1 if an accepted job never reached succeeded/failed/canceled, or if any
response was a 5xx; 0 otherwise. Only ``--url`` is ever contacted.
"""

import argparse
import asyncio
import contextlib
import json
import math
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from stylize_client import AsyncClient, Job, RateLimitError, RetryPolicy, StylizeError, WaitTimeout

METHODS = ("adain", "wct", "gatys")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
DEFAULT_TESTDATA = Path(__file__).resolve().parents[2] / "shared" / "testdata"
MAX_RETRY_AFTER = 30.0  # seconds; a longer Retry-After is capped


# --- pure helpers: parsing and statistics ---------------------------------------------------


def parse_mix(text: str) -> dict[str, float]:
    """``"adain=0.7,wct=0.2,gatys=0.1"`` → weights normalised to sum 1."""
    weights: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or name not in METHODS:
            raise ValueError(f"mix entries are method=weight, methods {METHODS}; got {part!r}")
        weight = float(value)
        if weight < 0 or not math.isfinite(weight):
            raise ValueError(f"weight of {name} must be a finite number >= 0; got {value!r}")
        weights[name] = weights.get(name, 0.0) + weight
    total = sum(weights.values())
    if total <= 0:
        raise ValueError(f"the mix has no positive weight: {text!r}")
    return {name: weight / total for name, weight in weights.items() if weight > 0}


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values: list[float]) -> dict[str, float | int | None]:
    return {
        "count": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "max": max(values) if values else None,
    }


@dataclass
class Stats:
    """Everything the users observe; filled by the users, read by ``summarize``."""

    post_latencies: list[float] = field(default_factory=list)
    time_to_result: dict[str, list[float]] = field(default_factory=dict)
    status_codes: dict[str, Counter] = field(default_factory=dict)
    outcomes: Counter = field(default_factory=Counter)  # succeeded / failed / canceled
    accepted: Counter = field(default_factory=Counter)  # per method
    finished: Counter = field(default_factory=Counter)  # per method
    throttled: int = 0  # 429s honoured
    errors: Counter = field(default_factory=Counter)  # transport errors, by type
    unfinished: list[str] = field(default_factory=list)  # accepted ids never terminal

    def count_status(self, kind: str, code: int) -> None:
        self.status_codes.setdefault(kind, Counter())[str(code)] += 1


def summarize(stats: Stats, elapsed: float) -> dict:
    """The report as plain data (what ``--json`` writes)."""
    server_errors = sum(
        n for codes in stats.status_codes.values() for code, n in codes.items() if int(code) >= 500
    )
    finished = sum(stats.finished.values())
    return {
        "elapsed_s": round(elapsed, 3),
        "jobs_per_s": round(finished / elapsed, 3) if elapsed > 0 else None,
        "accepted": sum(stats.accepted.values()),
        "finished": finished,
        "accepted_by_method": dict(stats.accepted),
        "finished_by_method": dict(stats.finished),
        "outcomes": dict(stats.outcomes),
        "throttled_429": stats.throttled,
        "server_errors_5xx": server_errors,
        "transport_errors": dict(stats.errors),
        "unfinished_jobs": list(stats.unfinished),
        "post_latency_s": latency_summary(stats.post_latencies),
        "time_to_result_s": {
            method: latency_summary(values)
            for method, values in sorted(stats.time_to_result.items())
        },
        "status_codes": {kind: dict(codes) for kind, codes in sorted(stats.status_codes.items())},
    }


def passed(report: dict) -> bool:
    """Every accepted job finished, and the server never answered 5xx."""
    return report["accepted"] == report["finished"] and report["server_errors_5xx"] == 0


def format_table(report: dict) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    lines = [
        f"elapsed {report['elapsed_s']:.1f} s   finished jobs/s {report['jobs_per_s']}   "
        f"accepted {report['accepted']}   finished {report['finished']}   "
        f"429 honoured {report['throttled_429']}   5xx {report['server_errors_5xx']}",
        f"outcomes {report['outcomes']}   transport errors {report['transport_errors'] or 0}",
        "",
        f"{'latency (ms)':<22}{'count':>7}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}",
    ]
    rows = [("POST /stylize", report["post_latency_s"])] + [
        (f"time to result {method}", summary)
        for method, summary in report["time_to_result_s"].items()
    ]
    for label, s in rows:
        lines.append(
            f"{label:<22}{s['count']:>7}{ms(s['p50']):>9}{ms(s['p95']):>9}"
            f"{ms(s['p99']):>9}{ms(s['max']):>9}"
        )
    lines.append("")
    for kind, codes in report["status_codes"].items():
        counts = "  ".join(f"{code}: {n}" for code, n in sorted(codes.items()))
        lines.append(f"{kind:<22}{counts}")
    if report["unfinished_jobs"]:
        lines.append(f"never finished: {', '.join(report['unfinished_jobs'])}")
    lines.append("PASS" if passed(report) else "FAIL")
    return "\n".join(lines)


# --- the virtual users ------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    name: str
    data: bytes


def load_images(directory: Path) -> list[Image]:
    images = [
        Image(path.name, path.read_bytes())
        for path in sorted(directory.iterdir())
        if path.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not images:
        raise SystemExit(f"no .jpg/.png images in {directory}")
    return images


def request_kind(request: httpx.Request) -> str:
    """``GET /jobs/{id}/result`` for ``GET /jobs/5f0c…/result``: one row per route."""
    path = re.sub(r"^/(jobs|styles|results)/[^/]+", r"/\1/{id}", request.url.path)
    return f"{request.method} {path}"


class ObservedTransport(httpx.AsyncBaseTransport):
    """The HTTP under the client: ``answered(kind, status, seconds)`` for every response
    (retries included; ``seconds`` until its headers) and ``broke(kind, error)`` for every
    request that got none, before the client decides what to do about it."""

    def __init__(
        self,
        answered: Callable[[str, int, float], None],
        broke: Callable[[str, Exception], None],
        limits: httpx.Limits | None = None,
    ) -> None:
        self.inner = httpx.AsyncHTTPTransport(limits=limits or httpx.Limits())
        self.answered, self.broke = answered, broke

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind, sent = request_kind(request), time.monotonic()
        try:
            response = await self.inner.handle_async_request(request)
        except Exception as error:
            self.broke(kind, error)
            raise
        self.answered(kind, response.status_code, time.monotonic() - sent)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass(frozen=True)
class Plan:
    mix: dict[str, float]
    size: int
    gatys_iterations: int
    think: float
    start: float  # monotonic
    submit_until: float  # no new jobs after this
    follow_until: float  # stop following accepted jobs after this (the drain)


async def user(
    client: AsyncClient,
    plan: Plan,
    stats: Stats,
    contents: list[Image],
    styles: list[Image],
    rng: random.Random,
) -> None:
    methods, weights = list(plan.mix), list(plan.mix.values())
    while time.monotonic() < plan.submit_until:
        method = rng.choices(methods, weights)[0]
        job = await submit(client, plan, stats, method, rng.choice(contents), rng.choice(styles))
        if job is not None:
            await follow(client, plan, stats, method, job)
        if plan.think > 0:
            await asyncio.sleep(rng.uniform(0, 2 * plan.think))


async def submit(
    client: AsyncClient,
    plan: Plan,
    stats: Stats,
    method: str,
    content: Image,
    style: Image,
) -> Job | None:
    """Submit until accepted or until submitting time is over. The client retries 429s
    (waiting their ``Retry-After``) and broken connections itself; a ``Retry-After``
    longer than ``MAX_RETRY_AFTER`` comes back here and is waited for that long."""
    params: dict = {"method": method, "size": plan.size}
    if method == "gatys":
        params["gatys"] = {"iterations": plan.gatys_iterations}
    while (left := plan.submit_until - time.monotonic()) > 0:
        try:
            job = await asyncio.wait_for(client.stylize(content.data, style.data, **params), left)
        except TimeoutError:
            return None
        except RateLimitError:
            await asyncio.sleep(
                min(MAX_RETRY_AFTER, max(0.0, plan.submit_until - time.monotonic()))
            )
            continue
        except StylizeError as error:  # counted by the transport; a 4xx is not retried
            if error.status is None:  # no answer after the client's retries
                await asyncio.sleep(1.0)
                continue
            return None
        stats.accepted[method] += 1
        return job
    return None


async def follow(client: AsyncClient, plan: Plan, stats: Stats, method: str, job: Job) -> None:
    """Wait for the job to end (then download a success), or until the drain deadline,
    when it is recorded as unfinished."""
    accepted_at = time.monotonic()
    while (left := plan.follow_until - time.monotonic()) > 0:
        try:
            job = await client.wait(job, timeout=left)
        except WaitTimeout:
            break
        except StylizeError:  # a 5xx or no answer, after the client's retries
            await asyncio.sleep(1.0)
            continue
        if job.succeeded:
            await download(client, job)
        stats.time_to_result.setdefault(method, []).append(time.monotonic() - accepted_at)
        stats.outcomes[job.status] += 1
        stats.finished[method] += 1
        return
    stats.unfinished.append(job.id)


async def download(client: AsyncClient, job: Job) -> None:
    with contextlib.suppress(StylizeError):  # counted by the transport
        await client.result(job)


async def run(args: argparse.Namespace) -> dict:
    contents = load_images(args.testdata / "content")
    styles = load_images(args.testdata / "style")
    start = time.monotonic()
    plan = Plan(
        mix=args.mix,
        size=args.size,
        gatys_iterations=args.gatys_iterations,
        think=args.think,
        start=start,
        submit_until=start + args.duration,
        follow_until=start + args.duration + args.drain,
    )
    stats = Stats()

    def answered(kind: str, status: int, seconds: float) -> None:
        stats.count_status(kind, status)
        if kind == "POST /stylize" and status == 429:
            stats.throttled += 1
        elif kind == "POST /stylize":
            stats.post_latencies.append(seconds)

    def broke(kind: str, error: Exception) -> None:
        stats.errors[f"{kind} {type(error).__name__}"] += 1

    transport = ObservedTransport(answered, broke, httpx.Limits(max_connections=args.users + 4))
    retry = RetryPolicy(max_attempts=10, max_retry_after=MAX_RETRY_AFTER)
    async with AsyncClient(
        args.url, api_key=args.api_key or "", retry=retry, transport=transport
    ) as client:

        async def delayed_user(index: int) -> None:
            await asyncio.sleep(args.ramp_up * index / args.users)
            rng = random.Random(args.seed * 1_000_003 + index)
            await user(client, plan, stats, contents, styles, rng)

        await asyncio.gather(*(delayed_user(i) for i in range(args.users)))
    return summarize(stats, time.monotonic() - start)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the API to load")
    parser.add_argument("--users", type=int, default=4, help="virtual users; default 4")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of submitting")
    parser.add_argument("--ramp-up", type=float, default=10.0, help="seconds to start all users")
    parser.add_argument(
        "--drain", type=float, default=120.0, help="seconds to follow jobs after --duration"
    )
    parser.add_argument(
        "--think", type=float, default=0.5, help="mean pause between a user's jobs, seconds"
    )
    parser.add_argument("--mix", type=parse_mix, default=parse_mix("adain=0.7,wct=0.3"))
    parser.add_argument("--size", type=int, default=256, help="output size; default 256")
    parser.add_argument("--gatys-iterations", type=int, default=20, help="per gatys job")
    parser.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA)
    parser.add_argument("--api-key", help="bearer key, if the API wants one")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the report here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.users < 1 or args.duration <= 0 or args.drain < 0 or args.ramp_up < 0:
        raise SystemExit("need --users >= 1, --duration > 0, --drain >= 0, --ramp-up >= 0")
    report = asyncio.run(run(args))
    print(format_table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if passed(report) else 1


if __name__ == "__main__":
    sys.exit(main())
