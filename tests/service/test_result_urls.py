"""links.result_url: the result without the API key, until the job expires; a changed or
expired URL is 403."""

import time
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from contract.keys import Keys
from contract.signing import UrlSigner
from tests.support.images import content_upload, style_upload


def path_and_query(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


@pytest.fixture
def keyed_api(make_api, ready_worker):
    return make_api(api_keys="alice-key", public_url="https://img.example.com/api")


def test_a_finished_job_has_a_signed_url_that_serves_the_image_without_a_key(keyed_api):
    client = keyed_api.client
    headers = {"Authorization": "Bearer alice-key"}
    job = client.post(
        "/stylize",
        files={"content": content_upload(), "style": style_upload()},
        data={"size": "128"},
        headers={**headers, "Prefer": "wait=60"},
    ).json()
    assert job["status"] == "succeeded", job

    url = job["links"]["result_url"]
    assert url.startswith("https://img.example.com/api/results/")
    path, query = path_and_query(url)
    assert int(query["expires"]) == int(datetime.fromisoformat(job["expires_at"]).timestamp())
    image = client.get(path.removeprefix("/api"), params=query)  # no Authorization
    keyed = client.get(job["links"]["result"], headers=headers)
    assert image.status_code == 200
    assert image.content == keyed.content
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"].startswith("public")
    assert image.headers["etag"] == keyed.headers["etag"]
    cached = client.get(
        path.removeprefix("/api"), params=query, headers={"If-None-Match": image.headers["etag"]}
    )
    assert cached.status_code == 304


def test_a_queued_job_has_no_result_url(api_without_worker):
    job = api_without_worker.submit().json()

    assert job["links"]["result_url"] is None
    assert job["expires_at"]


@pytest.mark.parametrize(
    "change",
    [
        lambda q: {**q, "expires": str(int(q["expires"]) + 3600)},
        lambda q: {**q, "signature": q["signature"][::-1]},
        lambda q: {k: v for k, v in q.items() if k != "signature"},
        lambda q: {**q, "expires": "soon"},
    ],
    ids=["later_expiry", "signature", "no_signature", "not_a_number"],
)
def test_a_changed_url_is_403_invalid_signature(api_without_worker, change):
    api = api_without_worker
    job_id = api.submit().json()["id"]
    signer = api.client.app.state.signer
    _, query = path_and_query(signer.result_url("http://x", job_id, int(time.time()) + 60))

    response = api.client.get(f"/results/{job_id}", params=change(query))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_signature"


def test_another_jobs_signature_is_refused(api_without_worker):
    api = api_without_worker
    first, second = (api.submit().json()["id"] for _ in range(2))
    _, query = path_and_query(api.client.app.state.signer.result_url("http://x", first, 2**31))

    response = api.client.get(f"/results/{second}", params=query)

    assert response.json()["error"]["code"] == "invalid_signature"


def test_an_expired_url_is_403_url_expired(api_without_worker, redis):
    api = api_without_worker
    job_id = api.submit().json()["id"]
    signer = UrlSigner(redis, Keys(api.settings.key_prefix))  # the deployment's own key
    _, query = path_and_query(signer.result_url("http://x", job_id, int(time.time()) - 1))

    response = api.client.get(f"/results/{job_id}", params=query)

    assert response.status_code == 403
    assert response.json()["error"] == {
        **response.json()["error"],
        "code": "url_expired",
        "field": "expires",
    }
