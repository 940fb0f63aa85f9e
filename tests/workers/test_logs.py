"""Workers log one JSON object per line, and every line about a job carries its id."""

import json
import time


def test_worker_logs_are_json_lines_with_the_job_id(api, ready_worker):
    job = api.submit(headers={"Prefer": "wait=60"}).json()
    assert job["status"] == "succeeded"

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the line is written just after the job finishes
        lines = [line for line in ready_worker.log_path.read_text().splitlines() if line.strip()]
        entries = [json.loads(line) for line in lines]  # fails on any non-JSON line
        about_job = [e for e in entries if e.get("job_id") == job["id"]]
        if about_job:
            break
        time.sleep(0.2)
    assert about_job, "no log line carries the job id"
    assert all({"ts", "level", "logger", "message"} <= e.keys() for e in entries)
    assert all(job["id"] in e["message"] for e in about_job if e["logger"].startswith("rq."))
