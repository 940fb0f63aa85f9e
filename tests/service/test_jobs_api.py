"""Submit, poll, wait and download: full round trips through a real worker process."""

import io
import time

from PIL import Image


def test_adain_job_round_trip_through_a_worker_process(api):
    response = api.submit(method="adain", alpha="0.8")

    assert response.status_code == 202
    submitted = response.json()
    assert submitted["status"] in ("queued", "running")
    assert response.headers["Location"] == submitted["links"]["self"] == f"/jobs/{submitted['id']}"

    job = api.wait(submitted["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == {**job["progress"], "fraction": 1.0, "stage": "done"}
    assert job["attempts"] == 1
    assert job["started_at"] and job["finished_at"]

    image = api.client.get(job["links"]["result"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (128, 85)  # chicago.jpg is 712x474


def test_wct_job_round_trip_in_the_requested_format(api):
    job = api.wait(api.submit(method="wct", format="jpeg", quality="80").json()["id"])

    assert job["status"] == "succeeded", job
    assert job["result"]["content_type"] == "image/jpeg"
    image = api.client.get(job["links"]["result"])
    assert image.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(image.content)).format == "JPEG"


def test_prefer_wait_answers_200_with_the_finished_job(api):
    response = api.submit(headers={"Prefer": "wait=60"})

    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"
    assert response.headers["Preference-Applied"] == "wait=60"
    assert response.headers["Location"] == response.json()["links"]["self"]


def test_prefer_wait_answers_202_when_the_job_is_not_done_in_time(api_without_worker):
    started = time.monotonic()
    response = api_without_worker.submit(headers={"Prefer": "wait=1"})

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert time.monotonic() - started >= 1.0


def test_prefer_wait_is_capped_at_the_configured_maximum(make_api, prefix):
    api = make_api(key_prefix=prefix, max_wait=0.5)
    response = api.submit(headers={"Prefer": "respond-async, wait=3600"})

    assert response.status_code == 202
    assert response.headers["Preference-Applied"] == "wait=0.5"


def test_queued_jobs_report_their_queue_position(api_without_worker):
    first = api_without_worker.submit().json()
    second = api_without_worker.submit().json()

    assert api_without_worker.job(first["id"])["queue_position"] == 0
    job = api_without_worker.job(second["id"])
    assert job["queue_position"] == 1
    assert job["progress"]["stage"] == "queued"
    assert job["links"]["cancel"] == f"/jobs/{second['id']}"
    assert job["links"]["result"] is None


def test_result_is_409_until_the_job_has_succeeded(api_without_worker):
    job = api_without_worker.submit().json()

    response = api_without_worker.client.get(f"/jobs/{job['id']}/result")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "job_not_finished"


def test_result_has_an_etag_and_answers_304_when_unchanged(api):
    job = api.submit(headers={"Prefer": "wait=60"}).json()
    first = api.client.get(job["links"]["result"])
    assert "immutable" in first.headers["Cache-Control"]

    again = api.client.get(job["links"]["result"], headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    assert again.content == b""


def test_unknown_or_malformed_job_ids_are_404_in_the_error_shape(api_without_worker):
    for job_id in ("0" * 32, "not-a-job", "abc:result"):
        response = api_without_worker.client.get(f"/jobs/{job_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
