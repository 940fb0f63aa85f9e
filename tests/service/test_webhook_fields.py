"""The `webhook` and `webhook_events` fields are checked before a job is queued: the URL's
form, its scheme and, unless the operator allows it, that it resolves to public
addresses only (no loopback, private or link-local targets: SSRF)."""

import pytest

from tests.support.webhooks import SECRET


def error_of(response) -> dict:
    assert response.status_code == 422, response.text
    return response.json()["error"]


@pytest.fixture
def api(make_api, prefix):
    """Webhooks on, with the defaults: https only, public addresses only."""
    return make_api(key_prefix=prefix, webhook_secret=SECRET)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:8443/hook",
        "https://localhost/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/hook",
    ],
)
def test_a_webhook_to_a_private_address_is_refused_by_default(api, url, redis):
    error = error_of(api.submit(webhook=url))

    assert error["field"] == "webhook"
    assert "public addresses only" in error["message"]
    assert redis.llen(f"rq:queue:{api.settings.key_prefix}:fast") == 0


def test_the_operator_may_allow_private_addresses_and_http(make_api, prefix):
    api = make_api(
        key_prefix=prefix,
        webhook_secret=SECRET,
        webhook_allow_private=True,
        webhook_allow_http=True,
    )

    response = api.submit(webhook="http://127.0.0.1:9/hook", webhook_events="start,completed")

    assert response.status_code == 202
    webhook = response.json()["webhook"]
    assert webhook == {
        "url": "http://127.0.0.1:9/hook",
        "events": ["start", "completed"],
        "deliveries": [],
    }


def test_http_is_refused_unless_allowed(api):
    error = error_of(api.submit(webhook="http://hooks.example.com/x"))

    assert (error["field"], "https" in error["message"]) == ("webhook", True)


def test_without_a_webhook_secret_the_server_refuses_webhooks(api_without_worker):
    error = error_of(api_without_worker.submit(webhook="https://hooks.example.com/x"))

    assert error["field"] == "webhook"
    assert "STYLIZE_WEBHOOK_SECRET" in error["message"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"webhook": "https://127.0.0.1/x", "webhook_events": "finished"}, "webhook_events"),
        ({"webhook_events": "completed"}, "webhook_events"),
        ({"webhook": "not a url"}, "webhook"),
    ],
)
def test_bad_webhook_fields_are_422_naming_the_field(api, fields, field):
    assert error_of(api.submit(**fields))["field"] == field


def test_a_job_without_a_webhook_shows_none(api_without_worker):
    job = api_without_worker.submit().json()

    assert job["webhook"] is None
    assert job["links"]["events"] == f"/jobs/{job['id']}/events"
    assert job["expires_at"] > job["created_at"]
