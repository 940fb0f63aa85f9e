"""Job records, inputs and results in Redis: the one implementation both sides use.

Status changes go through ``transition``, a Lua script that changes the status only if it
is one of the expected ones, so a cancel from the API and a worker starting or finishing
the same job cannot overwrite each other. The same script keeps what follows from the
status: the record's ``expires_at`` when it sets a TTL, and the owner's set of active
(queued or running) jobs, which fair share counts. Progress updates never re-create a
record that has expired (``update`` writes only to an existing hash).

Videos are big (up to ``STYLIZE_MAX_VIDEO_BYTES``, 100 MiB by default), so their bytes
move in ``CHUNK``-sized commands (``SETRANGE``, ``GETRANGE``): a worker copies a video
to a file and its result back, and the API serves a result, without ever having it
whole in memory. A string is given its full size
first and then filled in place: appending would copy it again at every step.
"""

import functools
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from redis import Redis
from redis.client import Pipeline

from contract.jobs import MAX_DELIVERIES_SHOWN, DeliveryAttempt, JobRecord, JobStatus, encode_fields
from contract.keys import Keys

CHUNK = 4 * 2**20
"""Bytes of a video moved per Redis command."""

LONGEST_RUN = 2 * 3600
"""Seconds a job may run, at most (the slow timeout's order): how long past their TTL the
owner's job lists are kept, so they never drop a job whose record still exists."""

_TRANSITION = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, ''} end
if not string.find(',' .. ARGV[2] .. ',', ',' .. current .. ',', 1, true) then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
local ttl = tonumber(ARGV[3])
local active = ARGV[4] .. (redis.call('HGET', KEYS[1], 'owner') or '')
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  local expires = tonumber(redis.call('TIME')[1]) + ttl
  redis.call('HSET', KEYS[1], 'expires_at', expires)
  redis.call('ZADD', active, 'XX', expires, ARGV[6])
end
if ARGV[5] == '1' then redis.call('ZREM', active, ARGV[6]) end
return {1, current}
"""

_FINISH = """
local current = redis.call('HGET', KEYS[1], 'status')
if current ~= 'running' and current ~= 'queued' then return {0, current or ''} end
if redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[1] then return {0, current} end
local ttl = tonumber(ARGV[2])
if ARGV[4] == '1' then redis.call('SET', KEYS[2], ARGV[5], 'EX', ttl) end
if ARGV[4] == '2' then
  redis.call('RENAME', KEYS[3], KEYS[2])
  redis.call('EXPIRE', KEYS[2], ttl)
end
redis.call('HSET', KEYS[1], 'status', ARGV[3])
if #ARGV > 7 then redis.call('HSET', KEYS[1], unpack(ARGV, 8)) end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('HSET', KEYS[1], 'expires_at', tonumber(redis.call('TIME')[1]) + ttl)
redis.call('ZREM', ARGV[6] .. (redis.call('HGET', KEYS[1], 'owner') or ''), ARGV[7])
return {1, current}
"""

# Appends one delivery attempt to the record's webhook JSON, keeping the last ARGV[2].
_RECORD_DELIVERY = """
local raw = redis.call('HGET', KEYS[1], 'webhook')
if not raw then return 0 end
local webhook = cjson.decode(raw)
local deliveries = webhook['deliveries'] or {}
table.insert(deliveries, cjson.decode(ARGV[1]))
local keep = tonumber(ARGV[2])
while #deliveries > keep do table.remove(deliveries, 1) end
webhook['deliveries'] = deliveries
redis.call('HSET', KEYS[1], 'webhook', cjson.encode(webhook))
return 1
"""

_UPDATE_IF_EXISTS = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""


@dataclass(frozen=True)
class Transition:
    applied: bool
    previous: JobStatus | None  # None: the record does not exist (never, or expired)


class JobStore:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._transition = redis.register_script(_TRANSITION)
        self._finish = redis.register_script(_FINISH)
        self._update = redis.register_script(_UPDATE_IF_EXISTS)
        self._record_delivery = redis.register_script(_RECORD_DELIVERY)

    # -- images --------------------------------------------------------------------------
    def put_image(self, sha256: str, data: bytes, ttl: int, pipe: Pipeline) -> None:
        """Store content-addressed bytes for at least ``ttl`` seconds (never shortening)."""
        key = self.keys.image(sha256)
        pipe.set(key, data, nx=True, ex=ttl)
        pipe.expire(key, ttl, gt=True)

    def get_image(self, sha256: str) -> bytes | None:
        return self.redis.get(self.keys.image(sha256))

    def put_style(
        self, owner: str, sha256: str, data: bytes, meta: dict[str, Any], ttl: int
    ) -> None:
        with self.redis.pipeline() as pipe:
            self.put_image(sha256, data, ttl, pipe)
            pipe.set(self.keys.style(owner, sha256), json.dumps(meta), ex=ttl)
            pipe.execute()

    def get_style(self, owner: str, sha256: str) -> dict[str, Any] | None:
        """The style's metadata if ``owner`` uploaded it and its bytes are still stored."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.style(owner, sha256))
            pipe.exists(self.keys.image(sha256))
            pipe.ttl(self.keys.style(owner, sha256))
            meta, exists, ttl = pipe.execute()
        if meta is None or not exists:
            return None
        return {**json.loads(meta), "expires_in": max(ttl, 0)}

    def keep_style(self, owner: str, sha256: str, ttl: int, pipe: Pipeline) -> None:
        """A job uses the style: keep it (and its bytes) at least as long as the job."""
        pipe.expire(self.keys.style(owner, sha256), ttl, gt=True)
        pipe.expire(self.keys.image(sha256), ttl, gt=True)

    # -- records -------------------------------------------------------------------------
    def create(self, record: JobRecord, pipe: Pipeline) -> None:
        """The record, in the owner's list of jobs and, while unfinished, of active jobs."""
        key = self.keys.job(record.id)
        expires_at = record.expires_at or record.created_at + record.spec.ttl
        pipe.hset(key, mapping={**record.to_redis(), "expires_at": str(expires_at)})
        pipe.expire(key, record.spec.ttl)
        jobs = self.keys.owner_jobs(record.owner)
        pipe.zadd(jobs, {record.id: record.created_at})
        # The list outlives every job in it: a job can wait, run and then be kept a TTL.
        pipe.expire(jobs, 2 * record.spec.ttl + LONGEST_RUN)
        if not record.status.finished:
            pipe.zadd(self.keys.active_jobs(record.owner), {record.id: expires_at})
            pipe.expire(self.keys.active_jobs(record.owner), 2 * record.spec.ttl + LONGEST_RUN)

    def get(self, job_id: str) -> JobRecord | None:
        fields = self.redis.hgetall(self.keys.job(job_id))
        return JobRecord.from_redis(fields) if fields else None

    def transition(
        self,
        job_id: str,
        to: JobStatus,
        allowed_from: Iterable[JobStatus],
        fields: dict[str, Any] | None = None,
        ttl: int = 0,
    ) -> Transition:
        """Set ``status`` to ``to`` (plus ``fields``) only if it is one of ``allowed_from``.

        ``ttl`` > 0 also resets the record's expiry, e.g. to keep a finished job as long as
        its result.
        """
        args: list[Any] = [
            to.value,
            ",".join(s.value for s in allowed_from),
            ttl,
            self.keys.active_jobs_prefix(),
            "1" if to.finished else "0",
            job_id,
        ]
        for name, value in encode_fields(fields or {}).items():
            args += [name, value]
        applied, previous = self._transition(keys=[self.keys.job(job_id)], args=args)
        return Transition(bool(applied), JobStatus(previous.decode()) if previous else None)

    def finish(
        self,
        job_id: str,
        attempt: int,
        to: JobStatus,
        fields: dict[str, Any],
        result: bytes | None,
        ttl: int,
        *,
        staged: bool = False,
    ) -> Transition:
        """End run number ``attempt`` of a job: store its result (if any) and set the
        final status and ``fields``, in one step, only if the job is still unfinished and
        ``attempt`` is still its latest run. A run that was given up for lost (its worker
        paused past its lease) and re-run elsewhere thus never overwrites the newer run's
        result or status. Record and result are then kept ``ttl`` seconds (``expires_at``
        says until when), and the job leaves its owner's active set.

        ``staged``: the result is the one ``stage_result`` wrote for this run (a video);
        it becomes the job's result in the same step. If the step is not applied, the
        caller deletes it (``drop_staged``)."""
        store = "2" if staged else str(int(result is not None))
        args: list[Any] = [attempt, ttl, to.value, store, result or b""]
        args += [self.keys.active_jobs_prefix(), job_id]
        for name, value in encode_fields(fields).items():
            args += [name, value]
        keys = [
            self.keys.job(job_id),
            self.keys.result(job_id),
            self.keys.staged_result(job_id, attempt),
        ]
        applied, previous = self._finish(keys=keys, args=args)
        return Transition(bool(applied), JobStatus(previous.decode()) if previous else None)

    def update(self, job_id: str, fields: dict[str, Any]) -> bool:
        """Set fields of an existing record; False (and no write) if it has expired."""
        args: list[Any] = []
        for name, value in encode_fields(fields).items():
            args += [name, value]
        return bool(args) and bool(self._update(keys=[self.keys.job(job_id)], args=args))

    def record_delivery(self, job_id: str, attempt: DeliveryAttempt) -> bool:
        """Add a webhook delivery attempt to the record (False if it has expired)."""
        return bool(
            self._record_delivery(
                keys=[self.keys.job(job_id)],
                args=[attempt.model_dump_json(), MAX_DELIVERIES_SHOWN],
            )
        )

    # -- cancellation --------------------------------------------------------------------
    def request_cancel(self, job_id: str, ttl: int) -> None:
        self.redis.set(self.keys.cancel(job_id), 1, ex=ttl)

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.redis.exists(self.keys.cancel(job_id)))

    # -- videos --------------------------------------------------------------------------
    def put_video(self, job_id: str, data: bytes | Path, ttl: int) -> None:
        """The content video of job ``job_id`` (its bytes, or the file that holds them),
        written a chunk at a time before the job is admitted (``delete_video`` if it is
        not)."""
        if isinstance(data, bytes):
            chunks = (data[start : start + CHUNK] for start in range(0, len(data), CHUNK))
            self._write(self.keys.video(job_id), len(data), chunks, ttl)
            return
        with data.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            self._write(self.keys.video(job_id), size, iter(lambda: file.read(CHUNK), b""), ttl)

    def copy_video(self, job_id: str, file: IO[bytes]) -> bool:
        """Write job ``job_id``'s content video into ``file``; False if it has expired."""
        key = self.keys.video(job_id)
        size = self.redis.strlen(key)
        for offset in range(0, size, CHUNK):
            chunk = self.redis.getrange(key, offset, offset + CHUNK - 1)
            if not chunk:
                return False  # expired meanwhile
            file.write(chunk)
        return size > 0

    def delete_video(self, job_id: str) -> None:
        self.redis.delete(self.keys.video(job_id))

    # -- results -------------------------------------------------------------------------
    def get_result(self, job_id: str) -> tuple[bytes, int] | None:
        """The result bytes and the seconds they will still be kept."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.result(job_id))
            pipe.ttl(self.keys.result(job_id))
            data, ttl = pipe.execute()
        return None if data is None else (data, max(ttl, 0))

    def result_size(self, job_id: str) -> tuple[int, int] | None:
        """The result's length in bytes and the seconds it will still be kept."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.strlen(self.keys.result(job_id))
            pipe.ttl(self.keys.result(job_id))
            size, ttl = pipe.execute()
        return None if ttl == -2 else (size, max(ttl, 0))

    def read_result(self, job_id: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` … ``end`` (inclusive) of the result, a chunk at a time."""
        key = self.keys.result(job_id)
        for offset in range(start, end + 1, CHUNK):
            chunk = self.redis.getrange(key, offset, min(offset + CHUNK, end + 1) - 1)
            if not chunk:
                return  # expired meanwhile
            yield chunk

    def stage_result(self, job_id: str, attempt: int, file: IO[bytes], ttl: int) -> int:
        """Copy run ``attempt``'s result video from ``file`` into Redis, a chunk at a
        time; ``finish(..., staged=True)`` makes it the job's result. Returns its size."""
        size = os.fstat(file.fileno()).st_size
        chunks = iter(functools.partial(file.read, CHUNK), b"")
        self._write(self.keys.staged_result(job_id, attempt), size, chunks, ttl)
        return size

    def _write(self, key: str, size: int, chunks: Iterable[bytes], ttl: int) -> None:
        with self.redis.pipeline() as pipe:  # the full size at once, and never without a TTL
            pipe.delete(key)
            pipe.setrange(key, max(size - 1, 0), b"\0")
            pipe.expire(key, ttl)
            pipe.execute()
        offset = 0
        for chunk in chunks:
            self.redis.setrange(key, offset, chunk)
            offset += len(chunk)

    def drop_staged(self, job_id: str, attempt: int) -> None:
        self.redis.delete(self.keys.staged_result(job_id, attempt))

    def put_preview(self, job_id: str, data: bytes, ttl: int) -> None:
        self.redis.set(self.keys.preview(job_id), data, ex=ttl)

    def get_preview(self, job_id: str) -> bytes | None:
        return self.redis.get(self.keys.preview(job_id))
