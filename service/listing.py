"""``GET /jobs``: the caller's jobs, newest first, a page at a time.

Each owner has a sorted set of its job ids by creation time (``Keys.owner_jobs``, written
with the record in ``JobStore.create``), so a key only ever sees its own jobs. The cursor
is the last job shown (its creation time and id, which breaks ties), so pages stay right
while new jobs arrive. Ids whose record has expired are dropped from the set as they are
met.
"""

import base64
import binascii
import json
import math

from contract.jobs import JobRecord, JobStatus
from contract.store import JobStore
from models.errors import InvalidParameter

MAX_LIMIT = 100
BATCH = 100  # ids read at a time while looking for `limit` jobs of the wanted status


def find_jobs(
    store: JobStore, owner: str, status: JobStatus | None, limit: int, cursor: str | None
) -> tuple[list[JobRecord], str | None]:
    """Up to ``limit`` of ``owner``'s jobs after ``cursor`` (and of ``status``, if given),
    and the cursor of the next page (None when there is none)."""
    after = _decode(cursor) if cursor else None
    key = store.keys.owner_jobs(owner)
    top = "+inf" if after is None else repr(after[0])
    found: list[tuple[JobRecord, float]] = []
    offset = 0
    while len(found) <= limit:  # one more than a page says whether there is a next one
        batch = store.redis.zrevrangebyscore(
            key, top, "-inf", start=offset, num=BATCH, withscores=True
        )
        if not batch:
            break
        offset += len(batch)
        # Members of one score come in reverse id order: those up to the cursor were shown.
        ids = [
            (member.decode(), score)
            for member, score in batch
            if after is None or score != after[0] or member.decode() < after[1]
        ]
        with store.redis.pipeline(transaction=False) as pipe:
            for job_id, _ in ids:
                pipe.hgetall(store.keys.job(job_id))
            records = pipe.execute()
        gone = []
        for (job_id, score), fields in zip(ids, records, strict=True):
            if not fields:
                gone.append(job_id)
                continue
            record = JobRecord.from_redis(fields)
            if status is None or record.status is status:
                found.append((record, score))
        if gone:
            store.redis.zrem(key, *gone)
    page = found[:limit]
    more = len(found) > limit
    return [record for record, _ in page], _encode(page[-1]) if more else None


def _encode(last: tuple[JobRecord, float]) -> str:
    record, score = last
    return base64.urlsafe_b64encode(json.dumps([score, record.id]).encode()).decode()


def _decode(cursor: str) -> tuple[float, str]:
    try:
        score, job_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not math.isfinite(float(score)):
            raise ValueError(score)
        return float(score), str(job_id)
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise InvalidParameter(
            "not a cursor from this API: pass `next_cursor` as it came", field="cursor"
        ) from None
