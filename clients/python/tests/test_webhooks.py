"""Webhook deliveries are checked as Standard Webhooks signs them. The signatures here
are computed in the test from the specification, not with the client's code."""

import base64
import hashlib
import hmac
import json

import pytest
from support import job_json

from stylize_client import WebhookVerificationError, verify_webhook

KEY = b"\x01\x02secret key bytes\xff"
WHSEC = "whsec_" + base64.b64encode(KEY).decode()
NOW = 1_700_000_000
BODY = json.dumps(job_json("b" * 32, "succeeded")).encode()


def sign(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(signature: str, timestamp: int = NOW, message_id: str = "msg_1") -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_a_genuine_delivery_gives_the_job():
    job = verify_webhook(WHSEC, headers(sign(KEY, "msg_1", NOW, BODY)), BODY, now=NOW)

    assert (job.id, job.status) == ("b" * 32, "succeeded")


def test_a_secret_without_whsec_is_used_as_its_utf8_bytes():
    secret = "plain-secret-é"
    signature = sign(secret.encode(), "msg_1", NOW, BODY)

    assert verify_webhook(secret, headers(signature), BODY, now=NOW).succeeded


def test_header_names_are_matched_whatever_their_case():
    upper = {k.upper(): v for k, v in headers(sign(KEY, "msg_1", NOW, BODY)).items()}

    assert verify_webhook(WHSEC, upper, BODY.decode(), now=NOW).succeeded


def test_any_of_several_signatures_may_match_during_a_key_rotation():
    old = sign(b"old key", "msg_1", NOW, BODY)
    new = sign(KEY, "msg_1", NOW, BODY)

    assert verify_webhook(WHSEC, headers(f"{old} v1a,ignored {new}"), BODY, now=NOW).succeeded


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"succeeded", b"failed___")),
        lambda h, b: ({**h, "webhook-id": "msg_2"}, b),
        lambda h, b: ({**h, "webhook-signature": sign(b"other key", "msg_1", NOW, b)}, b),
        lambda h, b: ({**h, "webhook-signature": "v2," + h["webhook-signature"][3:]}, b),
    ],
    ids=["body", "id", "key", "version"],
)
def test_a_tampered_delivery_is_refused(tamper):
    tampered_headers, body = tamper(headers(sign(KEY, "msg_1", NOW, BODY)), BODY)

    with pytest.raises(WebhookVerificationError, match="no webhook-signature matches"):
        verify_webhook(WHSEC, tampered_headers, body, now=NOW)


@pytest.mark.parametrize("age", [301, -301])
def test_a_delivery_outside_the_tolerance_is_refused(age):
    signed = headers(sign(KEY, "msg_1", NOW - age, BODY), timestamp=NOW - age)

    with pytest.raises(WebhookVerificationError, match="webhook-timestamp is 301 s"):
        verify_webhook(WHSEC, signed, BODY, now=NOW)


def test_the_tolerance_can_be_widened():
    signed = headers(sign(KEY, "msg_1", NOW - 600, BODY), timestamp=NOW - 600)

    assert verify_webhook(WHSEC, signed, BODY, now=NOW, tolerance=900).succeeded


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused_by_name(missing):
    partial = headers(sign(KEY, "msg_1", NOW, BODY))
    del partial[missing]

    with pytest.raises(WebhookVerificationError, match=missing):
        verify_webhook(WHSEC, partial, BODY, now=NOW)
