"""Webhooks the Standard Webhooks way: signing, verifying, where they may go, and queueing
a delivery. Torch-free and free of the rest of the service, so an integrator's server can
import ``verify_webhook`` as well as the API and the workers.

A delivery is a POST of the job's JSON (exactly what ``GET /jobs/{id}`` shows) with three
headers::

    webhook-id: msg_<32 hex>            the same on every retry of one event: deduplicate on it
    webhook-timestamp: <unix seconds>   when this attempt was sent
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

keyed by ``STYLIZE_WEBHOOK_SECRET`` (``whsec_<base64 key>``, or any other string for its
UTF-8 bytes). A receiver checks it with ``verify_webhook(secret, headers, body)``.

Deliveries wait in Redis (``Keys.webhooks_due``, a sorted set by due time, and one hash
per delivery with its body), so a restart of the API or of any worker loses none; the
workers' delivery threads (``workers/webhooks.py``) send them.
"""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import socket
import time
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit

from redis import Redis

from contract.jobs import JobRecord, WebhookEvent
from contract.keys import Keys

DEFAULT_TOLERANCE = 300  # seconds a receiver accepts between a delivery's timestamp and now
MAX_URL_LENGTH = 2048


class WebhookVerificationError(ValueError):
    """A delivery whose headers, timestamp or signature do not check out."""


class WebhookTargetError(ValueError):
    """A webhook URL the service will not call (scheme, address, syntax)."""


# --- signing and verifying ------------------------------------------------------------------


def secret_key(secret: str | bytes) -> bytes:
    """``whsec_<base64>`` is the base64-decoded key; any other string, its UTF-8 bytes."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise WebhookVerificationError("the secret's whsec_ part is not base64") from None
    return secret.encode()


def signature(secret: str | bytes, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secret: str | bytes, message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }


def verify_webhook(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> dict[str, Any]:
    """The delivered job JSON if the delivery is genuine and fresh; else
    ``WebhookVerificationError``. ``body`` is the raw request body, byte for byte (the
    signature covers those bytes); header names are matched case-insensitively."""
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        timestamp = lowered["webhook-timestamp"]
        signatures = lowered["webhook-signature"]
    except KeyError as missing:
        raise WebhookVerificationError(f"the {missing.args[0]} header is missing") from None
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(
            f"webhook-timestamp is not a number: {timestamp!r}"
        ) from None
    age = (time.time() if now is None else now) - sent_at
    if abs(age) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {abs(age):.0f} s off; at most {tolerance:g} s is accepted"
        )
    payload = body.encode() if isinstance(body, str) else bytes(body)
    expected = signature(secret, message_id, sent_at, payload).encode()
    # Several space-separated signatures while a secret is rotated; any one may match.
    if not any(hmac.compare_digest(given.encode(), expected) for given in signatures.split()):
        raise WebhookVerificationError("no webhook-signature matches the secret")
    try:
        return json.loads(payload)
    except ValueError as error:
        raise WebhookVerificationError(f"signed, but not JSON: {error}") from None


# --- where a webhook may go -------------------------------------------------------------------


def check_url(url: str, *, allow_http: bool) -> SplitResult:
    """The parsed URL if its form is acceptable: https (http only if allowed), a host, no
    credentials. Says nothing yet about the address it resolves to (``resolve``)."""
    if len(url) > MAX_URL_LENGTH:
        raise WebhookTargetError(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        raise WebhookTargetError(f"not a URL: {error}") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise WebhookTargetError(
            "must be an https:// URL" + ("" if allow_http else " (this server refuses http://)")
        )
    if not parts.hostname:
        raise WebhookTargetError("the URL has no host")
    if parts.username or parts.password:
        raise WebhookTargetError("credentials in the URL are not accepted; sign, don't embed")
    return parts


def resolve(parts: SplitResult, *, allow_private: bool) -> list[str]:
    """The addresses the URL's host resolves to, every one of them public unless
    ``allow_private``: loopback, private, link-local (cloud metadata), multicast, reserved
    and unspecified addresses are refused, so a webhook cannot reach inside the network."""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise WebhookTargetError(f"cannot resolve {parts.hostname!r}: {error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise WebhookTargetError(
                    f"{parts.hostname!r} resolves to {address}, a loopback, private or "
                    "link-local address; webhooks go to public addresses only"
                )
    return addresses


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


# --- queueing deliveries ----------------------------------------------------------------------


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def schedule(
    redis: Redis, keys: Keys, record: JobRecord, event: WebhookEvent, body: bytes, ttl: int
) -> str | None:
    """Queue one delivery of ``event`` with ``body`` (the job JSON at the time of the event,
    the same on every retry) if the job's webhook wants that event; its id, or None."""
    webhook = record.webhook
    if webhook is None or event not in webhook.events:
        return None
    message_id = new_message_id()
    with redis.pipeline() as pipe:
        pipe.hset(
            keys.webhook(message_id),
            mapping={
                "job_id": record.id,
                "event": event,
                "url": webhook.url,
                "body": body,
                "attempts": 0,
                "created_at": time.time(),
            },
        )
        pipe.expire(keys.webhook(message_id), ttl)
        pipe.zadd(keys.webhooks_due(), {message_id: time.time()})
        pipe.execute()
    return message_id


def retry_delay(attempt: int, backoff: float) -> float:
    """Seconds after failed attempt ``attempt`` (1, 2, …) before the next: ``backoff``, then
    three times longer each time (20 s, 1 min, 3 min, 9 min: five attempts in ~13 min)."""
    return backoff * 3 ** (attempt - 1)


def delivery_lifetime(attempts: int, backoff: float, timeout: float) -> int:
    """Seconds a delivery must be kept to make all its attempts, with room to spare."""
    waits = sum(retry_delay(n, backoff) for n in range(1, attempts))
    return int(waits + attempts * timeout) + 3600
