"""Jobs, styles and results as the API sends them, read tolerantly."""

import io
from datetime import datetime, timezone

import pytest
from support import job_json

from stylize_client import Job, Result, Style


def test_a_job_is_read_with_its_parts():
    job = Job.from_dict(job_json("a" * 32, "succeeded"))

    assert (job.id, job.status, job.method, job.attempts) == ("a" * 32, "succeeded", "wct", 1)
    assert job.finished and job.succeeded
    assert job.result.content_type == "image/png" and job.result.etag == "abc"
    assert job.created_at == datetime(2025, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    assert job.links["result"] == f"/jobs/{'a' * 32}/result"


def test_fields_this_version_does_not_know_are_kept_in_raw():
    data = job_json("a" * 32, "running", expires_at="2025-01-02T04:04:05Z", colour="blue")
    data["links"]["events"] = "/jobs/x/events"

    job = Job.from_dict(data)

    assert job.raw["colour"] == "blue"
    assert job.expires_at == datetime(2025, 1, 2, 4, 4, 5, tzinfo=timezone.utc)
    assert job.links["events"] == "/jobs/x/events"
    assert not job.finished


def test_missing_fields_are_none_not_errors():
    job = Job.from_dict({"id": "x", "status": "queued"})

    assert (job.result, job.error, job.created_at, job.links) == (None, None, None, {})
    assert job.progress.fraction == 0.0


def test_a_failed_jobs_error_is_read():
    data = job_json(
        "a" * 32, "failed", error={"code": "timeout", "message": "too slow", "field": None}
    )

    assert Job.from_dict(data).error.code == "timeout"


def test_something_that_is_not_a_job_is_a_value_error():
    with pytest.raises(ValueError, match="not a job"):
        Job.from_dict({"error": {"code": "not_found"}})


def test_a_style_is_read():
    style = Style.from_dict(
        {"id": "f" * 64, "format": "JPEG", "width": 600, "height": 380, "extra": 1}
    )

    assert (style.format, style.width, style.height) == ("JPEG", 600, 380)
    assert style.raw["extra"] == 1


def test_a_result_is_its_bytes_and_saves_them(tmp_path):
    result = Result(b"\x89PNG data", content_type="image/png", etag="e")

    result.save(tmp_path / "out.png")

    assert (tmp_path / "out.png").read_bytes() == b"\x89PNG data"
    assert "image/png" in repr(result) and "9 bytes" in repr(result)


def test_a_result_opens_as_a_pil_image():
    image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    image.new("RGB", (5, 4), (0, 128, 255)).save(buffer, "PNG")

    picture = Result(buffer.getvalue(), content_type="image/png").image()

    assert picture.size == (5, 4) and picture.getpixel((2, 2)) == (0, 128, 255)
