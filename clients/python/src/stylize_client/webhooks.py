"""Checking a webhook delivery, as Standard Webhooks defines it.

The server signs each delivery with ``STYLIZE_WEBHOOK_SECRET``: the header
``webhook-signature`` holds ``v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">``
(several, space-separated, while a secret is being rotated). The secret is
``whsec_<base64 key>`` (the key is the decoded bytes) or any other string (its UTF-8
bytes). A delivery whose timestamp is more than ``tolerance`` seconds away from now is
refused, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from stylize_client.errors import WebhookVerificationError
from stylize_client.models import Job


def verify_webhook(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> Job:
    """The delivered job, if the delivery is genuine; ``WebhookVerificationError`` if not.

    ``body`` must be the raw request body, byte for byte: the signature covers those
    bytes, not a re-serialised JSON. ``headers`` may be any mapping (names are matched
    case-insensitively).
    """
    message_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise WebhookVerificationError(
            f"webhook-timestamp is not a number: {timestamp!r}"
        ) from None
    age = (time.time() if now is None else now) - sent_at
    if abs(age) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp is {abs(age):.0f} s in the {'past' if age > 0 else 'future'}; "
            f"at most {tolerance:g} s is accepted"
        )
    payload = body.encode() if isinstance(body, str) else bytes(body)
    signed = f"{message_id}.{timestamp}.".encode() + payload
    expected = base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest())
    for candidate in signatures.split():
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(signature.encode(), expected):
            try:
                return Job.from_dict(json.loads(payload))
            except ValueError as error:
                raise WebhookVerificationError(f"signed, but not a job: {error}") from None
    raise WebhookVerificationError("no webhook-signature matches the secret")


def _key(secret: str | bytes) -> bytes:
    if isinstance(secret, bytes):
        return secret
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise WebhookVerificationError("the secret's whsec_ part is not base64") from None
    return secret.encode()


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"the {name} header is missing")
