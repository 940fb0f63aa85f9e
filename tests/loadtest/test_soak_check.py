"""The chaos soak's verdict, on made-up observations: what passes, and each way to fail."""

from loadtest.soak_check import Observations, StoredJob, check, format_report

SHA = "ab" * 32


def seen(*job_ids: str, downloads: dict | None = None, errors: list | None = None) -> Observations:
    observations = Observations(accepted={job_id: "wct" for job_id in job_ids})
    observations.downloads = downloads if downloads is not None else {i: [SHA] for i in job_ids}
    observations.server_errors = errors or []
    return observations


def succeeded(attempts: int = 1, sha: str = SHA) -> StoredJob:
    return StoredJob("succeeded", etag=sha[:32], attempts=attempts, result_sha256=sha)


def test_jobs_that_succeeded_and_downloaded_once_pass_and_reruns_are_counted():
    report = check(seen("a", "b"), {"a": succeeded(), "b": succeeded(attempts=2)}, [])

    assert report["passed"], report["problems"]
    assert (report["accepted"], report["rerun_jobs"], report["downloads"]) == (2, 1, 2)
    assert format_report(report).endswith("PASS")


def test_a_documented_failure_passes_an_undocumented_one_does_not():
    stored = {
        "a": StoredJob("failed", error_code="worker_lost"),
        "b": StoredJob("failed", error_code="internal_error"),
    }

    report = check(seen("a", "b", downloads={}), stored, [])

    assert report["problems"] == ["b: failed with an undocumented cause 'internal_error'"]
    assert report["outcomes"] == {"failed (worker_lost)": 1, "failed (internal_error)": 1}


def test_a_job_without_a_record_is_lost_and_one_still_running_never_finished():
    report = check(seen("a", "b"), {"b": StoredJob("running")}, [])

    assert report["problems"] == [
        "a: accepted, but no record is left (lost)",
        "b: never finished (still running)",
    ]
    assert not report["passed"]


def test_a_download_that_differs_from_the_stored_result_is_two_results():
    report = check(seen("a", downloads={"a": [SHA, "cd" * 32]}), {"a": succeeded()}, [])

    assert report["problems"] == ["a: produced two different results"]


def test_a_stored_result_that_is_not_the_records_is_caught():
    job = StoredJob("succeeded", etag="ef" * 16, result_sha256=SHA)

    assert check(seen("a"), {"a": job}, [])["problems"] == [
        "a: the stored result is not the one its record describes"
    ]


def test_a_success_never_downloaded_or_without_a_result_fails():
    report = check(seen("a", "b", downloads={"b": [SHA]}), {"a": succeeded(), "b": StoredJob("succeeded")}, [])  # fmt: skip

    assert report["problems"] == [
        "a: succeeded, but its result was never downloaded",
        "b: succeeded, but its result is not stored",
    ]


def test_503s_during_an_outage_pass_other_5xx_do_not():
    errors = [
        (105.0, "GET /jobs/{id}", 503),  # during the outage
        (112.0, "POST /stylize", 503),  # within the grace after it
        (200.0, "POST /stylize", 503),  # long after
        (106.0, "GET /jobs/{id}", 500),  # never documented
    ]

    report = check(seen(errors=errors), {}, [(100.0, 108.0)], grace=5.0)

    assert report["documented_503"] == 2
    assert report["problems"] == [
        "POST /stylize answered 503 at 200.0, outside any Redis outage",
        "GET /jobs/{id} answered 500 at 106.0, outside any Redis outage",
    ]


def test_a_canceled_job_is_a_problem_nobody_canceled_it():
    assert check(seen("a", downloads={}), {"a": StoredJob("canceled")}, [])["problems"] == [
        "a: canceled, though nobody canceled it"
    ]
