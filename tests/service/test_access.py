"""API keys: required when configured, and each key sees only its own jobs and styles.
CORS: a configured browser origin may call the API."""

import pytest

from tests.support.images import unique_style_upload

ALICE = {"Authorization": "Bearer alice-key"}
BOB = {"Authorization": "Bearer bob-key"}


@pytest.fixture
def keyed_api(make_api, prefix):
    return make_api(key_prefix=prefix, api_keys="alice-key, bob-key")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer mallory-key"}, {"Authorization": "Basic YWxpY2U6a2V5"}],
    ids=["missing", "unknown_key", "not_bearer"],
)
def test_without_a_valid_key_every_route_is_401(keyed_api, headers):
    for method, path in [("POST", "/stylize"), ("GET", f"/jobs/{'0' * 32}"), ("POST", "/styles")]:
        response = keyed_api.client.request(method, path, headers=headers)

        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "unauthorized"


def test_health_checks_need_no_key(keyed_api):
    assert keyed_api.client.get("/healthz").status_code == 200
    assert keyed_api.client.get("/readyz").status_code in (200, 503)  # no worker: 503


def test_with_api_keys_metrics_need_a_key(keyed_api):
    assert keyed_api.client.get("/metrics").status_code == 401
    assert keyed_api.client.get("/metrics", headers=ALICE).status_code == 200


def test_a_metrics_token_is_the_one_key_to_the_metrics(make_api, prefix):
    api = make_api(key_prefix=prefix, api_keys="alice-key", metrics_token="scraper-token")

    scraped = api.client.get("/metrics", headers={"Authorization": "Bearer scraper-token"})

    assert scraped.status_code == 200
    assert "stylize_redis_up" in scraped.text
    for headers in ({}, ALICE):
        refused = api.client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
    assert api.client.get("/jobs/" + "0" * 32, headers=ALICE).status_code == 404  # keys still work


def test_a_job_is_visible_only_to_the_key_that_created_it(keyed_api):
    job = keyed_api.submit(headers=ALICE).json()
    client = keyed_api.client

    assert client.get(f"/jobs/{job['id']}", headers=ALICE).status_code == 200
    for method, path in [
        ("GET", f"/jobs/{job['id']}"),
        ("GET", f"/jobs/{job['id']}/result"),
        ("DELETE", f"/jobs/{job['id']}"),
    ]:
        response = client.request(method, path, headers=BOB)
        # The same answer as for a job that does not exist: nothing leaks.
        assert response.status_code == 404, (method, path)
        assert response.json() == client.get(f"/jobs/{'0' * 32}", headers=BOB).json()
    assert client.get(f"/jobs/{job['id']}", headers=ALICE).json()["status"] == "queued"


def test_a_style_is_visible_and_usable_only_by_the_key_that_uploaded_it(keyed_api):
    style = keyed_api.client.post(
        "/styles", files={"style": unique_style_upload()}, headers=ALICE
    ).json()

    assert keyed_api.client.get(f"/styles/{style['id']}", headers=ALICE).status_code == 200
    assert keyed_api.client.get(f"/styles/{style['id']}", headers=BOB).status_code == 404
    refused = keyed_api.submit(style_id=style["id"], headers=BOB)
    assert refused.status_code == 422
    assert refused.json()["error"]["field"] == "style_id"
    assert keyed_api.submit(style_id=style["id"], headers=ALICE).status_code == 202


def test_a_configured_browser_origin_may_call_the_api(make_api, prefix):
    api = make_api(key_prefix=prefix, cors_origins="https://app.example")

    preflight = api.client.options(
        "/stylize",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, prefer",
        },
    )
    other = api.client.get("/healthz", headers={"Origin": "https://evil.example"})

    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in other.headers
