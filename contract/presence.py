"""Which workers are alive: one sorted set, worker name → when its lease runs out.

Each worker heartbeat pushes its own score forward; a worker that stops (or is killed)
simply stops doing so. Counting live workers is one ``ZCOUNT``, however big the Redis.
"""

import time

from redis import Redis
from redis.client import Pipeline

from contract.keys import Keys


def beat(pipe: Pipeline | Redis, keys: Keys, name: str, lease: int) -> None:
    now = time.time()
    pipe.zadd(keys.workers(), {name: now + lease})
    pipe.zremrangebyscore(keys.workers(), "-inf", now)
    pipe.expire(keys.workers(), lease)  # the set itself goes when the last worker does


def leave(redis: Redis, keys: Keys, name: str) -> None:
    redis.zrem(keys.workers(), name)


def live_workers(redis: Redis, keys: Keys) -> list[str]:
    return [name.decode() for name in redis.zrangebyscore(keys.workers(), time.time(), "+inf")]
