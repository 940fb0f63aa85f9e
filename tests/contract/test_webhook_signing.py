"""Webhook signatures (Standard Webhooks) and the guard on where a webhook may go."""

import base64
import hashlib
import hmac
import json
from urllib.parse import urlsplit

import pytest

from contract.webhooks import (
    WebhookTargetError,
    WebhookVerificationError,
    check_url,
    resolve,
    retry_delay,
    signed_headers,
    verify_webhook,
)

SECRET = "whsec_" + base64.b64encode(b"a key of thirty-two bytes, exact").decode()
BODY = json.dumps({"id": "abc", "status": "succeeded"}).encode()


def test_a_signed_delivery_verifies_and_gives_the_job_back():
    headers = signed_headers(SECRET, "msg_1", BODY)

    assert verify_webhook(SECRET, headers, BODY) == {"id": "abc", "status": "succeeded"}


def test_the_signature_is_standard_webhooks_hmac_of_id_timestamp_and_body():
    headers = signed_headers(SECRET, "msg_1", BODY, timestamp=1_700_000_000)

    expected = hmac.new(
        b"a key of thirty-two bytes, exact", b"msg_1.1700000000." + BODY, hashlib.sha256
    ).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-id"] == "msg_1"


def test_a_secret_without_the_whsec_prefix_is_used_as_its_utf8_bytes():
    headers = signed_headers("plain secret", "msg_1", BODY)

    assert verify_webhook("plain secret", headers, BODY)
    assert verify_webhook(b"plain secret", headers, BODY)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "webhook-id": "msg_2"}, b),
        lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
        lambda h, b: ({k: v for k, v in h.items() if k != "webhook-signature"}, b),
    ],
    ids=["body", "id", "timestamp", "no_signature"],
)
def test_a_tampered_delivery_is_refused(tamper):
    headers, body = tamper(signed_headers(SECRET, "msg_1", BODY), BODY)

    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, headers, body)


def test_another_secret_is_refused_and_any_of_several_signatures_may_match():
    headers = signed_headers(SECRET, "msg_1", BODY)
    with pytest.raises(WebhookVerificationError, match="no webhook-signature matches"):
        verify_webhook("whsec_" + base64.b64encode(b"other").decode(), headers, BODY)

    rotated = {**headers, "webhook-signature": "v1,bm90IGl0 " + headers["webhook-signature"]}
    assert verify_webhook(SECRET, rotated, BODY)


def test_an_old_delivery_is_refused_so_it_cannot_be_replayed():
    headers = signed_headers(SECRET, "msg_1", BODY, timestamp=1_700_000_000)

    with pytest.raises(WebhookVerificationError, match="3600 s off"):
        verify_webhook(SECRET, headers, BODY, now=1_700_003_600)
    assert verify_webhook(SECRET, headers, BODY, now=1_700_000_200)


def test_header_names_are_matched_whatever_their_case():
    headers = {k.title(): v for k, v in signed_headers(SECRET, "msg_1", BODY).items()}

    assert verify_webhook(SECRET, headers, BODY.decode())


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "https"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https:///nohost", "no host"),
        ("https://hooks.example.com:99999/x", "not a URL"),
    ],
)
def test_a_webhook_url_of_the_wrong_form_is_refused(url, words):
    with pytest.raises(WebhookTargetError, match=words):
        check_url(url, allow_http=False)


def test_http_is_accepted_only_when_the_operator_allows_it():
    assert check_url("http://hooks.example.com/x", allow_http=True).scheme == "http"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",  # loopback
        "https://localhost:8443/x",  # a name that resolves to loopback
        "https://10.1.2.3/x",  # private
        "https://192.168.0.10/x",
        "https://169.254.169.254/latest/meta-data",  # link-local: cloud metadata
        "https://[::1]/x",
        "https://[fd00::1]/x",  # unique local
        "https://[::ffff:10.0.0.1]/x",  # private, IPv4-mapped
        "https://0.0.0.0/x",
        "https://224.0.0.1/x",  # multicast
    ],
)
def test_loopback_private_and_link_local_targets_are_refused_by_default(url):
    parts = check_url(url, allow_http=False)

    with pytest.raises(WebhookTargetError, match="public addresses only"):
        resolve(parts, allow_private=False)
    assert resolve(parts, allow_private=True)


def test_a_public_address_is_accepted():
    assert resolve(urlsplit("https://93.184.216.34/x"), allow_private=False) == ["93.184.216.34"]


def test_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(WebhookTargetError, match="cannot resolve"):
        resolve(urlsplit("https://nowhere.invalid/x"), allow_private=False)


def test_retries_back_off_three_times_longer_each_time():
    delays = [retry_delay(n, 20) for n in range(1, 5)]

    assert delays == [20, 60, 180, 540]
    assert 12 * 60 < sum(delays) < 15 * 60  # five attempts in about a quarter of an hour
