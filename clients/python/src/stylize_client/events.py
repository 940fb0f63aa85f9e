"""Live job events from ``GET /jobs/{id}/events`` (Server-Sent Events).

``SSEDecoder`` is the wire format, line by line, as the HTML standard defines it
(``event:``, ``data:`` joined by newlines, ``id:``, ``retry:``, ``:`` comments such as
the server's keep-alives; a blank line ends an event). ``parse_event`` turns one into a
typed event: ``StatusEvent`` (first, and on every status change), ``ProgressEvent``,
``PreviewEvent`` (Gatys, video), ``DoneEvent`` (the terminal job; the stream ends).
A kind this version does not know comes through as a plain ``Event``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stylize_client.models import Job, Progress


@dataclass(frozen=True)
class ServerSentEvent:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    """Feed it lines without their line ending; it returns an event when one is complete."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self.last_event_id: str | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if self._id is not None:
            self.last_event_id = self._id
        if not self._data:  # no data: nothing to dispatch (the standard's rule)
            self._event, self._id, self._retry = "", None, None
            return None
        event = ServerSentEvent(
            event=self._event or "message",
            data="\n".join(self._data),
            id=self.last_event_id,
            retry=self._retry,
        )
        self._event, self._data, self._id, self._retry = "", [], None, None
        return event


@dataclass(frozen=True)
class Event:
    """One event of a job's stream: its ``event`` name and its JSON ``data``."""

    event: str
    data: Any = field(repr=False)


@dataclass(frozen=True)
class StatusEvent(Event):
    """The job's status changed (also the first event of every stream)."""

    job: Job = field(default=None)  # type: ignore[assignment]


@dataclass(frozen=True)
class ProgressEvent(Event):
    progress: Progress = field(default_factory=Progress)


@dataclass(frozen=True)
class PreviewEvent(Event):
    """A new preview image is at ``url`` (fetch it with the API key)."""

    url: str | None = None
    iteration: int | None = None


@dataclass(frozen=True)
class DoneEvent(Event):
    """The job finished; ``job`` is its final state. Nothing follows."""

    job: Job = field(default=None)  # type: ignore[assignment]


def parse_event(sse: ServerSentEvent) -> Event:
    """The typed event of one server-sent event (``ValueError`` if its data is not JSON)."""
    data = json.loads(sse.data)
    if sse.event == "status":
        return StatusEvent(sse.event, data, job=Job.from_dict(data))
    if sse.event == "done":
        return DoneEvent(sse.event, data, job=Job.from_dict(data))
    if sse.event == "progress":
        return ProgressEvent(sse.event, data, progress=Progress.from_dict(data))
    if sse.event == "preview" and isinstance(data, dict):
        return PreviewEvent(sse.event, data, url=data.get("url"), iteration=data.get("iteration"))
    return Event(sse.event, data)
