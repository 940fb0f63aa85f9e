"""The client over real TCP against a scripted local server: what it sends, how it
retries (and waits first), how it waits for jobs, follows events and pages listings."""

import io
import json

import pytest
from support import DROP, Reply, error_json, job_json

from stylize_client import (
    USER_AGENT,
    APIConnectionError,
    Client,
    DoneEvent,
    GatysParams,
    InvalidParameterError,
    JobNotFinishedError,
    ProgressEvent,
    QueueFullError,
    RetryPolicy,
    ServiceUnavailableError,
    StatusEvent,
    Style,
    StyleParams,
    WaitTimeout,
)

JOB_ID = "c" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
FAST = RetryPolicy(backoff=0.01, max_backoff=0.05)


def accepted(status: str = "queued", **extra) -> Reply:
    return Reply(202, job_json(JOB_ID, status, **extra), {"Location": f"/jobs/{JOB_ID}"})


def queue_full(retry_after: str) -> Reply:
    return Reply(
        429, error_json("queue_full", "the fast queue is full"), {"Retry-After": retry_after}
    )


def sse(*events: tuple[str, dict]) -> list[bytes]:
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


@pytest.fixture
def client(server):
    with Client(server.url, api_key="key-1", retry=FAST) as client:
        yield client


# --- what is sent --------------------------------------------------------------------------


def test_stylize_posts_the_images_and_parameters_as_the_apis_form(server, client, tmp_path):
    server.script("POST /stylize", accepted())
    (tmp_path / "photo.jpg").write_bytes(JPEG)

    job = client.stylize(tmp_path / "photo.jpg", PNG, method="adain", alpha=0.8, size=256)

    assert (job.id, job.status, job.replayed) == (JOB_ID, "queued", False)
    form = server.requests("POST /stylize")[0].form()
    assert form["content"] == [("photo.jpg", "image/jpeg", JPEG)]
    assert form["style"] == [("style.png", "image/png", PNG)]
    assert {name: values[0][2] for name, values in form.items() if values[0][0] is None} == {
        "method": b"adain",
        "alpha": b"0.8",
        "size": b"256",
    }


def test_every_request_says_who_it_is_and_carries_the_key(server, client):
    server.script("GET /jobs", Reply(200, job_json(JOB_ID, "running")))

    client.get_job(JOB_ID)

    headers = server.requests()[0].headers
    assert headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("stylize-client/")
    assert headers["authorization"] == "Bearer key-1"


def test_inputs_may_be_files_or_pil_images(server, client):
    image = pytest.importorskip("PIL.Image")
    server.script("POST /stylize", accepted())
    picture = image.new("RGB", (4, 3), (255, 0, 0))

    client.stylize(io.BytesIO(JPEG), [picture, picture])

    form = server.requests("POST /stylize")[0].form()
    assert form["content"] == [("content.jpg", "image/jpeg", JPEG)]
    assert [(name, kind) for name, kind, _ in form["style"]] == [("style.png", "image/png")] * 2
    assert image.open(io.BytesIO(form["style"][0][2])).getpixel((0, 0)) == (255, 0, 0)


def test_uploaded_styles_are_sent_as_style_ids(server, client):
    server.script("POST /stylize", accepted())

    client.stylize(PNG, Style(id="d" * 64), style_id="e" * 64)

    form = server.requests("POST /stylize")[0].form()
    assert "style" not in form
    assert [value for _, _, value in form["style_id"]] == [b"d" * 64, b"e" * 64]


def test_keywords_refine_a_params_object_and_are_checked_with_it(server, client):
    server.script("POST /stylize", accepted())
    base = StyleParams(method="adain", gatys=GatysParams(iterations=5))

    client.stylize(JPEG, PNG, params=base, alpha=0.5)
    with pytest.raises(InvalidParameterError) as caught:
        client.stylize(JPEG, PNG, params=base, alpah=0.5)

    form = server.requests()[0].form()
    assert {name: form[name][0][2] for name in ("method", "alpha", "gatys.iterations")} == {
        "method": b"adain",
        "alpha": b"0.5",
        "gatys.iterations": b"5",
    }
    assert caught.value.field == "alpah"


def test_bad_parameters_are_refused_before_anything_is_sent(server, client):
    with pytest.raises(InvalidParameterError) as caught:
        client.stylize(JPEG, PNG, alpha=2)

    assert caught.value.field == "alpha"
    assert server.seen == []


def test_style_files_and_style_ids_together_are_refused_before_sending(server, client):
    with pytest.raises(InvalidParameterError, match="not both"):
        client.stylize(JPEG, [PNG, Style(id="d" * 64)])
    assert server.seen == []


def test_a_job_needs_a_style(server, client):
    with pytest.raises(InvalidParameterError) as caught:
        client.stylize(JPEG)
    assert caught.value.field == "style"


# --- retries ------------------------------------------------------------------------------


def test_a_429_is_retried_after_its_retry_after_with_the_same_idempotency_key(server, client):
    server.script("POST /stylize", queue_full("1"), accepted())

    job = client.stylize(JPEG, PNG)

    first, second = server.requests("POST /stylize")
    assert job.id == JOB_ID
    assert second.at - first.at >= 1.0  # waited as long as Retry-After said
    key = first.headers["idempotency-key"]
    assert key and second.headers["idempotency-key"] == key
    assert second.body == first.body


def test_each_call_gets_its_own_idempotency_key(server, client):
    server.script("POST /stylize", accepted())

    client.stylize(JPEG, PNG)
    client.stylize(JPEG, PNG)

    first, second = (seen.headers["idempotency-key"] for seen in server.requests("POST /stylize"))
    assert first != second


def test_a_given_idempotency_key_is_sent_as_is(server, client):
    server.script("POST /stylize", queue_full("0"), accepted())

    client.stylize(JPEG, PNG, idempotency_key="order-42")

    assert [s.headers["idempotency-key"] for s in server.requests("POST /stylize")] == [
        "order-42"
    ] * 2


def test_an_idempotency_key_the_api_would_refuse_is_refused_before_sending(server, client):
    with pytest.raises(InvalidParameterError) as caught:
        client.stylize(JPEG, PNG, idempotency_key="has space")
    assert caught.value.field == "Idempotency-Key"
    assert server.seen == []


def test_a_replayed_answer_is_marked_as_such(server, client):
    server.script(
        "POST /stylize", Reply(200, job_json(JOB_ID, "succeeded"), {"Idempotent-Replayed": "true"})
    )

    assert client.stylize(JPEG, PNG).replayed


def test_a_connection_dropped_mid_post_is_retried_with_the_same_key(server, client):
    server.script("POST /stylize", DROP, accepted())

    job = client.stylize(JPEG, PNG)

    first, second = server.requests("POST /stylize")
    assert job.id == JOB_ID
    assert first.body == second.body and len(first.body) > 0  # the server had it all
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]


def test_a_503_is_retried(server, client):
    server.script(
        "GET /jobs",
        Reply(503, error_json("unavailable"), {"Retry-After": "0"}),
        Reply(200, job_json(JOB_ID)),
    )

    assert client.get_job(JOB_ID).id == JOB_ID
    assert len(server.requests()) == 2


def test_retries_stop_after_max_attempts_with_the_typed_error(server):
    server.script("POST /stylize", queue_full("0"))

    with (
        Client(server.url, retry=RetryPolicy(max_attempts=3)) as client,
        pytest.raises(QueueFullError) as caught,
    ):
        client.stylize(JPEG, PNG)

    assert len(server.requests()) == 3
    assert caught.value.retry_after == 0.0


def test_a_retry_after_longer_than_the_cap_is_raised_at_once(server):
    server.script("GET /jobs", Reply(503, error_json("unavailable"), {"Retry-After": "120"}))

    client = Client(server.url, retry=RetryPolicy(max_retry_after=30))
    with client, pytest.raises(ServiceUnavailableError) as caught:
        client.get_job(JOB_ID)

    assert len(server.requests()) == 1
    assert caught.value.retry_after == 120.0


def test_other_errors_are_not_retried(server, client):
    server.script("POST /stylize", Reply(422, error_json("invalid_parameter", "too big", "size")))

    with pytest.raises(InvalidParameterError) as caught:
        client.stylize(JPEG, PNG)

    assert len(server.requests()) == 1
    assert (caught.value.status, caught.value.field) == (422, "size")


def test_a_server_that_is_not_there_is_a_connection_error_after_the_retries():
    client = Client("http://127.0.0.1:9", retry=RetryPolicy(max_attempts=2, backoff=0.01))
    with client, pytest.raises(APIConnectionError, match="after 2 attempt"):
        client.get_job(JOB_ID)


def test_backoff_grows_and_stays_under_its_cap():
    policy = RetryPolicy(max_attempts=10, backoff=1.0, max_backoff=4.0)

    delays = [policy.delay(attempt) for attempt in range(1, 10)]

    assert all(0.5 <= d <= 1.0 for d in delays[:1])
    assert all(1.0 <= d <= 2.0 for d in delays[1:2])
    assert all(2.0 <= d <= 4.0 for d in delays[2:])
    assert policy.delay(10) is None


# --- waiting ------------------------------------------------------------------------------


def test_wait_asks_the_server_to_hold_each_poll(server, client):
    server.script(
        f"GET /jobs/{JOB_ID}",
        Reply(200, job_json(JOB_ID, "running"), {"Preference-Applied": "wait=60"}),
        Reply(200, job_json(JOB_ID, "succeeded"), {"Preference-Applied": "wait=60"}),
    )

    job = client.wait(job_json_job("running"), timeout=120)

    assert job.succeeded
    assert [s.headers["prefer"] for s in server.requests()] == ["wait=60", "wait=60"]


def test_wait_times_out_with_the_last_job_seen(server, client):
    server.script(
        f"GET /jobs/{JOB_ID}", Reply(200, job_json(JOB_ID, "running", progress={"fraction": 0.5}))
    )

    with pytest.raises(WaitTimeout) as caught:
        client.wait(JOB_ID, timeout=1.2)

    assert caught.value.job.status == "running"
    assert caught.value.job.progress.fraction == 0.5
    assert server.requests()[-1].headers["prefer"] in ("wait=1", "wait=2")


def test_wait_follows_the_events_when_the_server_has_them(server, client):
    links = {"self": f"/jobs/{JOB_ID}", "events": f"/jobs/{JOB_ID}/events"}
    server.script(
        f"GET /jobs/{JOB_ID}/events",
        Reply(
            200,
            stream=sse(
                ("status", job_json(JOB_ID, "running")), ("done", job_json(JOB_ID, "succeeded"))
            ),
        ),
    )

    job = client.wait(job_json_job("queued", links=links), timeout=30)

    assert job.succeeded
    assert [s.path for s in server.requests()] == [f"/jobs/{JOB_ID}/events"]


def test_result_gives_the_bytes_with_their_type_and_etag(server, client):
    server.script(
        f"GET /jobs/{JOB_ID}/result",
        Reply(200, PNG, {"Content-Type": "image/png", "ETag": '"abc"'}),
    )

    result = client.result(JOB_ID)

    assert result == PNG and isinstance(result, bytes)
    assert (result.content_type, result.etag) == ("image/png", "abc")


def test_result_of_an_unfinished_job_is_job_not_finished(server, client):
    server.script(
        f"GET /jobs/{JOB_ID}/result", Reply(409, error_json("job_not_finished", "poll it"))
    )

    with pytest.raises(JobNotFinishedError):
        client.result(JOB_ID)


# --- events and listing -------------------------------------------------------------------


def test_events_are_typed_and_end_with_done(server, client):
    stream = sse(("status", job_json(JOB_ID, "running")))
    stream += [b": keep-alive\n\n"]
    stream += sse(
        ("progress", {"fraction": 0.5, "stage": "level 2"}), ("done", job_json(JOB_ID, "succeeded"))
    )
    stream += sse(("progress", {"fraction": 0.9}))  # after done: never read
    server.script(f"GET /jobs/{JOB_ID}/events", Reply(200, stream=stream))

    events = list(client.events(JOB_ID))

    assert [type(e) for e in events] == [StatusEvent, ProgressEvent, DoneEvent]
    assert events[1].progress.stage == "level 2"
    assert events[-1].job.succeeded
    assert server.requests()[0].headers["accept"] == "text/event-stream"


def test_a_broken_event_stream_is_reopened_from_the_last_event_id(server, client):
    first = [
        b"id: 1\n" + sse(("status", job_json(JOB_ID, "running")))[0]
    ]  # then the server hangs up
    server.script(
        f"GET /jobs/{JOB_ID}/events",
        Reply(200, stream=first),
        Reply(200, stream=sse(("done", job_json(JOB_ID, "succeeded")))),
    )

    events = list(client.events(JOB_ID))

    assert [type(e) for e in events] == [StatusEvent, DoneEvent]
    assert server.requests()[1].headers["last-event-id"] == "1"


def test_jobs_follows_the_cursor_across_pages_up_to_the_limit(server, client):
    def pages() -> list[Reply]:
        def page(ids: str, cursor: str | None) -> Reply:
            return Reply(200, {"jobs": [job_json(i * 32) for i in ids], "next_cursor": cursor})

        return [page("ab", "next-1"), page("cd", "next-2"), page("e", None)]

    server.script("GET /jobs?", *pages())
    assert [job.id[0] for job in client.jobs(status="queued", page_size=2)] == list("abcde")
    server.script("GET /jobs?", *pages())
    assert [job.id[0] for job in client.jobs(limit=3, page_size=2)] == list("abc")

    paths = [seen.path for seen in server.requests("GET /jobs?")]
    assert paths[0] == "/jobs?limit=2&status=queued"
    assert paths[1] == "/jobs?limit=2&status=queued&cursor=next-1"
    assert paths[-1] == "/jobs?limit=1&cursor=next-1"  # 3rd job: a page of one


def test_upload_style_says_whether_it_was_new(server, client):
    style = {
        "id": "f" * 64,
        "format": "PNG",
        "width": 4,
        "height": 3,
        "bytes": 24,
        "expires_in": 3600,
        "links": {},
    }
    server.script("POST /styles", Reply(201, style), Reply(200, style))

    assert client.upload_style(PNG).created
    assert not client.upload_style(PNG).created
    assert server.requests()[0].form()["style"] == [("style.png", "image/png", PNG)]


def job_json_job(status: str, **extra):
    from stylize_client import Job

    return Job.from_dict(job_json(JOB_ID, status, **extra))
