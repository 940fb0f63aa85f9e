"""The Server-Sent Events wire format and the typed job events built from it."""

import json

import pytest
from support import job_json

from stylize_client.events import (
    DoneEvent,
    Event,
    PreviewEvent,
    ProgressEvent,
    ServerSentEvent,
    SSEDecoder,
    StatusEvent,
    parse_event,
)


def decode(text: str) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    events = [decoder.feed(line) for line in text.split("\n")]
    return [event for event in events if event is not None]


def test_a_blank_line_ends_an_event_with_its_name_and_data():
    assert decode('event: status\ndata: {"a": 1}\n\n') == [
        ServerSentEvent(event="status", data='{"a": 1}')
    ]


def test_data_lines_are_joined_with_newlines():
    assert decode("data: first\ndata: second\n\n")[0].data == "first\nsecond"


def test_an_event_without_a_name_is_a_message():
    assert decode("data: x\n\n")[0].event == "message"


def test_comments_such_as_keep_alives_are_ignored():
    assert decode(": keep-alive\n\n: keep-alive\nevent: progress\ndata: {}\n\n") == [
        ServerSentEvent(event="progress", data="{}")
    ]


def test_only_one_space_after_the_colon_is_dropped():
    assert decode("data:  two spaces\n\n")[0].data == " two spaces"
    assert decode("data:none\n\n")[0].data == "none"


def test_an_event_without_data_is_not_dispatched():
    assert decode("event: status\n\nevent: done\ndata: {}\n\n") == [
        ServerSentEvent(event="done", data="{}")
    ]


def test_the_last_event_id_carries_over_to_later_events():
    decoder = SSEDecoder()
    events = [decoder.feed(x) for x in ["id: 7", "data: a", "", "data: b", ""]]

    assert [e.id for e in events if e] == ["7", "7"]
    assert decoder.last_event_id == "7"


def test_retry_is_read_as_milliseconds():
    assert decode("retry: 2500\ndata: x\n\n")[0].retry == 2500


def test_an_incomplete_event_is_not_dispatched():
    assert decode("event: status\ndata: {}") == []


def test_status_and_done_events_carry_the_job():
    status = parse_event(ServerSentEvent("status", json.dumps(job_json("a" * 32, "running"))))
    done = parse_event(ServerSentEvent("done", json.dumps(job_json("a" * 32, "succeeded"))))

    assert isinstance(status, StatusEvent) and status.job.status == "running"
    assert isinstance(done, DoneEvent) and done.job.succeeded


def test_progress_events_carry_the_progress():
    data = {
        "fraction": 0.5,
        "stage": "optimise",
        "iteration": 30,
        "total": 60,
        "losses": {"style": 1.5},
    }

    event = parse_event(ServerSentEvent("progress", json.dumps(data)))

    assert isinstance(event, ProgressEvent)
    assert (event.progress.fraction, event.progress.iteration, event.progress.total) == (
        0.5,
        30,
        60,
    )
    assert event.progress.losses == {"style": 1.5}


def test_preview_events_carry_the_url_and_iteration():
    event = parse_event(ServerSentEvent("preview", '{"url": "/jobs/x/preview", "iteration": 10}'))

    assert isinstance(event, PreviewEvent)
    assert (event.url, event.iteration) == ("/jobs/x/preview", 10)


def test_an_unknown_event_comes_through_untyped():
    event = parse_event(ServerSentEvent("heartbeat", '{"n": 1}'))

    assert type(event) is Event
    assert (event.event, event.data) == ("heartbeat", {"n": 1})


def test_data_that_is_not_json_is_a_value_error():
    with pytest.raises(ValueError):
        parse_event(ServerSentEvent("progress", "not json"))
