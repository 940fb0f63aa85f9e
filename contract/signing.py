"""Signed result URLs: ``/results/{id}?expires=<unix>&signature=<hex>`` serves a job's image
without the bearer key, so it can be an ``<img src>`` or go through a CDN.

The signature is an HMAC-SHA256 of ``"{id}.{expires}"``: changing the id or pushing the
expiry back breaks it. The key is ``STYLIZE_URL_SECRET``; without one, a random key is
made once and kept in Redis (``Keys.url_secret``), so every API process and worker of a
deployment signs alike with nothing to configure. The API checks; the workers sign too
(the links inside webhook deliveries).
"""

import hashlib
import hmac
import secrets
from enum import StrEnum
from urllib.parse import urlencode

from redis import Redis

from contract.keys import Keys


class Check(StrEnum):
    valid = "valid"
    invalid = "invalid"  # tampered with, or not ours
    expired = "expired"


class UrlSigner:
    """Signs and checks result URLs of one deployment (its key is read once, lazily)."""

    def __init__(self, redis: Redis, keys: Keys, secret: str | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self._key: bytes | None = secret.encode() if secret else None

    def key(self) -> bytes:
        if self._key is None:
            self.redis.set(self.keys.url_secret(), secrets.token_hex(32), nx=True)
            self._key = self.redis.get(self.keys.url_secret())
        return self._key

    def signature(self, job_id: str, expires: int) -> str:
        message = f"{job_id}.{expires}".encode()
        return hmac.new(self.key(), message, hashlib.sha256).hexdigest()

    def result_url(self, base_url: str, job_id: str, expires: int) -> str:
        """The absolute signed URL of a job's result, valid until ``expires`` (unix)."""
        query = urlencode({"expires": expires, "signature": self.signature(job_id, expires)})
        return f"{base_url.rstrip('/')}/results/{job_id}?{query}"

    def check(self, job_id: str, expires: int, signature: str, now: float) -> Check:
        """Signature first: a changed expiry is a bad signature, not an expired link."""
        if not hmac.compare_digest(signature.encode(), self.signature(job_id, expires).encode()):
            return Check.invalid
        return Check.expired if expires < now else Check.valid
