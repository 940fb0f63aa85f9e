"""Prometheus metrics of the API process and, read from Redis at scrape time, the workers'.

HTTP request counts and latencies are measured here, in the API process (run one API
process per port, or scrape each). Queue depths, live workers, job outcomes, durations,
failure reasons and style-cache hits come from Redis (``contract.metrics``), where every
worker adds its observations, so one scrape of any API process sees the whole fleet.
"""

import logging
from collections.abc import Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError

from contract.keys import Keys
from contract.metrics import read_job_metrics
from service.queueing import count_live_workers, queue_depths

log = logging.getLogger("stylize.service")

disable_created_metrics()  # process-wide: no `_created` series next to every counter

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """One registry per app, so several apps (tests) can live in one process."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "stylize_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stylize_http_request_duration_seconds",
            "Time to answer an HTTP request (including any Prefer: wait).",
            ["method", "route"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_FleetCollector(redis, keys))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _FleetCollector(Collector):
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("stylize_redis_up", "1 if Redis answered this scrape.")
        try:
            families = list(self._from_redis())
        except RedisError as error:
            log.warning("metrics: Redis unavailable: %s", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _from_redis(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            "stylize_queue_depth", "Jobs waiting in each queue.", labels=["queue"]
        )
        for kind, count in queue_depths(self.redis, self.keys).items():
            depth.add_metric([kind], count)
        yield depth

        workers = GaugeMetricFamily("stylize_workers", "Workers alive (heartbeat within lease).")
        workers.add_metric([], count_live_workers(self.redis, self.keys))
        yield workers

        jobs = read_job_metrics(self.redis, self.keys)
        finished = CounterMetricFamily(
            "stylize_jobs_finished",
            "Jobs finished, by method, status and media (image or video).",
            labels=["method", "status", "media"],
        )
        for (method, status, media), count in sorted(jobs.finished.items()):
            finished.add_metric([method, status, media], count)
        yield finished

        failures = CounterMetricFamily(
            "stylize_job_failures", "Failed jobs, by reason (error code).", labels=["reason"]
        )
        for reason, count in sorted(jobs.failures.items()):
            failures.add_metric([reason], count)
        yield failures

        durations = HistogramMetricFamily(
            "stylize_job_duration_seconds",
            "Wall time of finished jobs in the worker, by method and media (image or video).",
            labels=["method", "media"],
        )
        for (method, media), histogram in sorted(jobs.durations.items()):
            durations.add_metric([method, media], histogram.cumulative, histogram.sum)
        yield durations

        cache = CounterMetricFamily(
            "stylize_style_cache_lookups",
            "Style-feature cache lookups in the workers, by result.",
            labels=["result"],
        )
        for result in ("hit", "miss"):
            cache.add_metric([result], jobs.style_cache.get(result, 0))
        yield cache
