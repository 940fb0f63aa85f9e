"""When to try a request again, and how long to wait first.

Retried: connection failures (refused, reset, timed out, dropped mid-answer) and the
answers that mean "not now": 429 and 503. A ``Retry-After`` the server sends is honoured
exactly; one longer than ``max_retry_after`` is not waited out: the error is raised at
once, with its ``retry_after``, for the caller to decide. Without one, the wait grows
exponentially from ``backoff`` up to ``max_backoff``, with jitter so many clients that
failed together do not all come back together.

Retrying ``POST /stylize`` is safe because every call sends an ``Idempotency-Key`` and
keeps it across its retries: a server that saw the first attempt returns the same job.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import httpx

RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.NetworkError,  # connect, read, write, close
    httpx.TimeoutException,  # connect, read, write, pool
    httpx.RemoteProtocolError,  # the server closed the connection without answering
)


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts every try, the first included (1 = never retry)."""

    max_attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = frozenset({429, 503})

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts counts the first try: at least 1")
        if self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError("backoff, max_backoff and max_retry_after cannot be negative")

    @classmethod
    def never(cls) -> RetryPolicy:
        return cls(max_attempts=1)

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before try ``attempt + 1``, after try ``attempt`` (1-based)
        failed; ``None``: give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def retries_status(self, status: int) -> bool:
        return status in self.statuses
