"""Key prefixes: every test session (or test) works under prefixes of its own in the one
real Redis, and deletes everything under them when it ends."""

import os
import uuid

from redis import Redis

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def new_prefix(label: str = "test") -> str:
    return f"stylize-{label}-{uuid.uuid4().hex[:8]}"


def purge(redis: Redis, prefix: str) -> None:
    """Delete every key of ``prefix``: ours, and RQ's for our queues, jobs and workers."""
    job_ids = {
        key.decode().rsplit(":", 1)[1]
        for key in redis.scan_iter(match=f"{prefix}:job:*", count=1000)
        if key.decode().count(":") == 2
    }
    doomed = list(redis.scan_iter(match=f"{prefix}:*", count=1000))
    for key in redis.scan_iter(match="rq:*", count=1000):
        text = key.decode()
        if prefix in text or any(job_id in text for job_id in job_ids):
            doomed.append(key)
    for start in range(0, len(doomed), 500):
        redis.delete(*doomed[start : start + 500])
    for members_key in (b"rq:queues", b"rq:workers"):
        stale = [m for m in redis.smembers(members_key) if prefix.encode() in m]
        if stale:
            redis.srem(members_key, *stale)
