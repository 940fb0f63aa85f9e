"""GET /jobs/{id}/events: Server-Sent Events from the status to the terminal state."""

import json

import httpx

from tests.support.images import png_bytes
from tests.support.processes import ApiServer


def read_events(text: str) -> list[tuple[str, object]]:
    """(event, data) pairs of an SSE stream; comment lines are skipped."""
    events = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_a_gatys_job_streams_status_progress_previews_and_ends_when_done(api):
    job = api.submit(
        method="gatys",
        **{"gatys.iterations": "60", "gatys.preview_every": "3", "gatys.tolerance": "0"},
    ).json()

    with api.client.stream("GET", job["links"]["events"]) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response.read().decode())

    names = [name for name, _ in events]
    assert names[0] == "status" and events[0][1]["id"] == job["id"]
    assert names[-2:] == ["status", "done"]
    final = events[-1][1]
    assert final["status"] == "succeeded"
    assert final == api.job(job["id"])
    # Progress is the job's state sampled every interval: in order, never past the end.
    progress = [data for name, data in events if name == "progress"]
    assert progress
    iterations = [p["iteration"] for p in progress if p["iteration"] is not None]
    assert iterations == sorted(iterations) and all(i <= 60 for i in iterations)
    assert all(0 <= p["fraction"] <= 1 for p in progress)
    assert final["progress"]["fraction"] == 1.0
    statuses = [data["status"] for name, data in events if name == "status"]
    assert statuses[-2:] == ["running", "succeeded"]
    previews = [data for name, data in events if name == "preview"]
    assert previews and previews[0]["url"] == f"/jobs/{job['id']}/preview"


def test_a_finished_job_streams_its_state_and_ends_at_once(api_without_worker):
    api = api_without_worker
    job = api.submit().json()
    api.client.delete(f"/jobs/{job['id']}")

    response = api.client.get(f"/jobs/{job['id']}/events")

    events = read_events(response.text)
    assert [name for name, _ in events] == ["status", "done"]
    assert events[1][1]["status"] == "canceled"


def test_events_follow_a_queued_job_until_it_is_canceled(prefix, tmp_path):
    """Through a real server: the stream is open while the job waits, then ends."""
    server = ApiServer(prefix, tmp_path)
    try:
        files = {
            "content": ("c.png", png_bytes(64, 48), "image/png"),
            "style": ("s.png", png_bytes(64, 48), "image/png"),
        }
        job = httpx.post(server.url + "stylize", files=files).json()
        seen = []
        with httpx.stream("GET", server.url + f"jobs/{job['id']}/events", timeout=30) as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    seen.append(line.removeprefix("event: "))
                    if seen == ["status"]:
                        httpx.delete(server.url + f"jobs/{job['id']}")
        assert seen == ["status", "status", "done"]
    finally:
        server.stop()


def test_events_of_an_unknown_job_are_404(api_without_worker):
    response = api_without_worker.client.get(f"/jobs/{'0' * 32}/events")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
