"""Job metrics that workers count in Redis and the API exports at ``/metrics``.

Workers are separate processes (often on other machines), so each one adds its
observations to shared Redis hashes and the API turns them into Prometheus families at
scrape time. The counts are cumulative since the keys were created, as Prometheus
counters expect; they have no TTL.

Jobs are counted by ``media`` too (``image`` or ``video``): a video job runs minutes where
an image job runs about a second, so one histogram for both would say nothing about
either. Counts written before the label existed read as ``image`` (the only media then).
"""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal, get_args

from redis import Redis
from redis.client import Pipeline

from contract.keys import Keys
from models.params import Method

METHODS: tuple[str, ...] = get_args(Method)
Media = Literal["image", "video"]
MEDIA: tuple[Media, ...] = get_args(Media)
DURATION_BUCKETS: tuple[float, ...] = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, math.inf)
"""Upper bounds (seconds) of the job-duration histogram: a feed-forward job at 512 px
takes about a second on a CPU, a Gatys optimisation minutes."""


def record_job(
    pipe: Pipeline,
    keys: Keys,
    method: str,
    media: Media,
    status: str,
    seconds: float,
    reason: str | None,
) -> None:
    """Count one finished job: its status, its duration and, if it failed, why."""
    pipe.hincrby(keys.metrics_jobs(), _job_field(method, status, media), 1)
    bucket = next(b for b in DURATION_BUCKETS if seconds <= b)
    histogram = keys.metrics_seconds(method, media)
    pipe.hincrby(histogram, _bucket_field(bucket), 1)
    pipe.hincrbyfloat(histogram, "sum", seconds)
    if reason:
        pipe.hincrby(keys.metrics_failures(), reason, 1)


def record_style_cache(pipe: Pipeline, keys: Keys, hits: int, misses: int) -> None:
    if hits:
        pipe.hincrby(keys.metrics_style_cache(), "hit", hits)
    if misses:
        pipe.hincrby(keys.metrics_style_cache(), "miss", misses)


@dataclass
class Histogram:
    cumulative: list[tuple[str, int]]  # (upper bound as Prometheus writes it, count <= bound)
    sum: float


@dataclass
class JobMetrics:
    # (method, status, media) -> count
    finished: dict[tuple[str, str, str], int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # reason -> count
    # (method, media) -> histogram
    durations: dict[tuple[str, str], Histogram] = field(default_factory=dict)
    style_cache: dict[str, int] = field(default_factory=dict)  # "hit" / "miss" -> count


def read_job_metrics(redis: Redis, keys: Keys) -> JobMetrics:
    with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.metrics_jobs())
        pipe.hgetall(keys.metrics_failures())
        pipe.hgetall(keys.metrics_style_cache())
        series = [(method, media) for method in METHODS for media in MEDIA]
        for method, media in series:
            pipe.hgetall(keys.metrics_seconds(method, media))
        jobs, failures, style_cache, *histograms = pipe.execute()
    metrics = JobMetrics(
        failures={k.decode(): int(v) for k, v in failures.items()},
        style_cache={k.decode(): int(v) for k, v in style_cache.items()},
    )
    for name, count in jobs.items():
        method, status, media = (*name.decode().split("|", 2), "image")[:3]
        key = (method, status, media)
        metrics.finished[key] = metrics.finished.get(key, 0) + int(count)
    for key, raw in zip(series, histograms, strict=True):
        if raw:
            metrics.durations[key] = _cumulate({k.decode(): v for k, v in raw.items()})
    return metrics


def _job_field(method: str, status: str, media: Media) -> str:
    # An image job keeps the field it had before videos were counted apart.
    return f"{method}|{status}" if media == "image" else f"{method}|{status}|{media}"


def _bucket_field(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else f"{bound:g}"


def _cumulate(raw: dict[str, bytes]) -> Histogram:
    counts: dict[str, int] = defaultdict(int, {k: int(v) for k, v in raw.items() if k != "sum"})
    total, cumulative = 0, []
    for bound in DURATION_BUCKETS:
        total += counts[_bucket_field(bound)]
        cumulative.append((_bucket_field(bound), total))
    return Histogram(cumulative, float(raw.get("sum", b"0")))
