"""Webhook delivery: a few threads in every worker process send the deliveries that are due.

Why threads in the workers: deliveries must go out while a worker spends minutes on a
Gatys job (the engine releases the GIL while it computes, so a thread's HTTP call is not
held up), and they must survive restarts. Every delivery waits in Redis
(``contract.webhooks.schedule``); a thread claims the earliest due one with a Lua script
that also pushes its due time forward by a lease. If the process dies mid-attempt, the
lease runs out and any other worker's thread (or this worker, restarted) takes the
delivery again, with the same ``webhook-id``: at-least-once. After a failed attempt the
delivery is due again after 20 s, 1 min, 3 min, 9 min (``STYLIZE_WEBHOOK_BACKOFF``, ×3 each
time), up to ``STYLIZE_WEBHOOK_ATTEMPTS``; every attempt is added to the job's record.

Each attempt resolves the host again and connects to an address it has just checked
(never to a loopback, private or link-local one unless ``STYLIZE_WEBHOOK_ALLOW_PRIVATE``),
with TLS checked against the URL's host name, no redirects, and a short timeout.
"""

import logging
import threading
import time
from urllib.parse import SplitResult, urlunsplit

import httpx
from redis import Redis
from redis.exceptions import RedisError

from contract.jobs import DeliveryAttempt
from contract.settings import Settings
from contract.store import JobStore
from contract.webhooks import (
    WebhookTargetError,
    check_url,
    resolve,
    retry_delay,
    signed_headers,
)

log = logging.getLogger("stylize.webhooks")

THREADS = 2  # per worker process: one slow receiver does not hold up the others
IDLE_POLL = 0.2  # seconds between looks at the due set when nothing is due
MAX_ERROR_TEXT = 300

_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 1)
if #due == 0 then return false end
redis.call('ZADD', KEYS[1], ARGV[2], due[1])
return due[1]
"""


class Deliverer:
    """Claims due deliveries one at a time and makes one attempt at each."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        if not settings.webhook_secret:
            raise ValueError("webhooks are signed with STYLIZE_WEBHOOK_SECRET; it is not set")
        self.secret: str = settings.webhook_secret
        self.settings = settings
        self.redis = redis
        self.keys = settings.keys
        self.store = JobStore(redis, self.keys)
        self.lease = 2 * settings.webhook_timeout + 10
        self._claim = redis.register_script(_CLAIM)
        self.http = httpx.Client(
            timeout=settings.webhook_timeout, follow_redirects=False, trust_env=False
        )

    def deliver_next(self) -> bool:
        """One attempt at the earliest due delivery; False if none was due."""
        now = time.time()
        claimed = self._claim(keys=[self.keys.webhooks_due()], args=[now, now + self.lease])
        if claimed is None:
            return False
        self.attempt(claimed.decode())
        return True

    def attempt(self, message_id: str) -> None:
        key = self.keys.webhook(message_id)
        fields = {k.decode(): v for k, v in self.redis.hgetall(key).items()}
        if not fields:  # expired: nothing left to send
            self.redis.zrem(self.keys.webhooks_due(), message_id)
            return
        attempt = self.redis.hincrby(key, "attempts", 1)
        job_id, event, url = (fields[k].decode() for k in ("job_id", "event", "url"))
        status_code, error, final = None, None, False
        try:
            response = self._post(url, message_id, fields["body"])
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"the receiver answered {status_code}"
        except WebhookTargetError as refused:
            error, final = f"refused: {refused}", True  # retrying will not change it
        except httpx.HTTPError as failed:
            error = f"{type(failed).__name__}: {failed}"[:MAX_ERROR_TEXT] or "request failed"
        delivered = error is None
        self.store.record_delivery(
            job_id,
            DeliveryAttempt(
                event=event,
                attempt=attempt,
                at=time.time(),
                status_code=status_code,
                error=error,
                delivered=delivered,
            ),
        )
        if delivered or final or attempt >= self.settings.webhook_attempts:
            with self.redis.pipeline() as pipe:
                pipe.zrem(self.keys.webhooks_due(), message_id)
                pipe.delete(key)
                pipe.execute()
            level = logging.INFO if delivered else logging.WARNING
            log.log(
                level,
                "job %s: %s webhook %s after %d attempt(s)%s",
                job_id,
                event,
                "delivered" if delivered else "given up",
                attempt,
                "" if delivered else f" ({error})",
                extra={"job_id": job_id},
            )
            return
        due = time.time() + retry_delay(attempt, self.settings.webhook_backoff)
        self.redis.zadd(self.keys.webhooks_due(), {message_id: due})

    def _post(self, url: str, message_id: str, body: bytes) -> httpx.Response:
        parts = check_url(url, allow_http=self.settings.webhook_allow_http)
        addresses = resolve(parts, allow_private=self.settings.webhook_allow_private)
        headers = signed_headers(self.secret, message_id, body)
        headers["host"] = parts.netloc
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        return self.http.post(
            _pinned(parts, addresses[0]), content=body, headers=headers, extensions=extensions
        )

    def close(self) -> None:
        self.http.close()


def _pinned(parts: SplitResult, address: str) -> str:
    """The URL with its host replaced by the address just checked, so a second DNS answer
    (rebinding) cannot send the request somewhere else."""
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def start_delivery_threads(settings: Settings, redis: Redis) -> list[threading.Thread]:
    """``THREADS`` daemon threads delivering until the process ends; none in a worker
    without ``STYLIZE_WEBHOOK_SECRET`` (it could not sign: its deliveries wait for one
    that can)."""
    if not settings.webhook_secret:
        log.info("no STYLIZE_WEBHOOK_SECRET: this worker delivers no webhooks")
        return []
    threads = []
    for i in range(THREADS):
        thread = threading.Thread(
            target=_deliver_forever,
            args=(Deliverer(settings, redis),),
            name=f"webhooks-{i}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads


def _deliver_forever(deliverer: Deliverer) -> None:
    while True:
        try:
            if not deliverer.deliver_next():
                time.sleep(IDLE_POLL)
        except RedisError as error:
            log.warning("webhook delivery paused: Redis: %s", error)
            time.sleep(2.0)
        except Exception:  # a bug must not end deliveries for the process's lifetime
            log.exception("webhook delivery failed unexpectedly")
            time.sleep(2.0)
