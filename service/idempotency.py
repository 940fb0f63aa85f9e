"""``Idempotency-Key`` on ``POST /stylize`` and ``POST /styles``: a retried request (a
phone that lost the answer) gets the original job or style back instead of a second one.

The key is scoped to the API key that sent it and kept for the job TTL (style TTL for
styles). What it created is remembered with a fingerprint of the request (its parameters
and the sha256 of every upload): the same key with a different request is refused (422
``idempotency_key_reused``), so a client bug cannot silently get someone else's answer.
For jobs the claim is part of the one atomic admission step (``queueing.enqueue_job``).
"""

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Header
from redis.client import Pipeline

from contract.keys import Keys
from service.errors import IdempotencyKeyReused

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="1–255 visible ASCII characters, e.g. a UUID. A retry with the same key "
        "(from the same API key, within the job TTL) returns the original answer, with "
        "`Idempotent-Replayed: true`, and queues nothing.",
    ),
]

REPLAYED = {"Idempotent-Replayed": "true"}


@dataclass(frozen=True)
class Claim:
    key: str  # the Redis key of this Idempotency-Key
    kind: Literal["job", "style"]
    fingerprint: str


def claim_for(
    keys: Keys, owner: str, header: str | None, kind: Literal["job", "style"], request: Any
) -> Claim | None:
    """The claim a request makes with its ``Idempotency-Key`` (None without one);
    ``request`` is a JSON-able summary of everything that makes the request what it is."""
    if header is None:
        return None
    summary = json.dumps({"kind": kind, "request": request}, sort_keys=True, default=str)
    return Claim(
        key=keys.idempotency(owner, hashlib.sha256(header.encode()).hexdigest()),
        kind=kind,
        fingerprint=hashlib.sha256(summary.encode()).hexdigest(),
    )


def remembered(raw: bytes | None, claim: Claim) -> str | None:
    """The id the key created before, if any; 422 if it came with another request."""
    if raw is None:
        return None
    earlier = json.loads(raw)
    if earlier["kind"] != claim.kind or earlier["fingerprint"] != claim.fingerprint:
        raise IdempotencyKeyReused(
            "this Idempotency-Key came with a different request before; use a new key for "
            "a new request"
        )
    return earlier["id"]


def remember(pipe: Pipeline, claim: Claim, created_id: str, ttl: int, nx: bool = False) -> None:
    value = json.dumps({"kind": claim.kind, "fingerprint": claim.fingerprint, "id": created_id})
    pipe.set(claim.key, value, ex=ttl, nx=nx)
