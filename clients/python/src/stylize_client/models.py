"""What the API answers with, as light dataclasses: ``Job`` (and its parts), ``Style``,
``Result``.

Parsing is tolerant: fields this version does not know are kept in ``raw`` (the JSON as
received) and fields a server leaves out get ``None``, so a newer server never breaks an
older client.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "canceled"})


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``fraction`` 0..1 and the ``stage`` it is in; Gatys jobs (and
    videos) also count ``iteration`` of ``total``, with their ``losses``."""

    fraction: float = 0.0
    stage: str | None = None
    iteration: int | None = None
    total: int | None = None
    losses: dict[str, float] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Progress:
        data = data if isinstance(data, dict) else {}
        return cls(
            fraction=float(data.get("fraction") or 0.0),
            stage=data.get("stage"),
            iteration=data.get("iteration"),
            total=data.get("total"),
            losses=data.get("losses"),
        )


@dataclass(frozen=True)
class ErrorInfo:
    """Why a job failed: the same ``code``/``message``/``field`` as an error answer."""

    code: str | None
    message: str
    field: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> ErrorInfo | None:
        if not isinstance(data, dict):
            return None
        return cls(
            code=data.get("code"), message=str(data.get("message") or ""), field=data.get("field")
        )


@dataclass(frozen=True)
class ResultInfo:
    """What a finished job made (the bytes come from ``Client.result``)."""

    content_type: str | None
    bytes: int | None
    etag: str | None
    width: int | None
    height: int | None
    partial: bool = False

    @classmethod
    def from_dict(cls, data: Any) -> ResultInfo | None:
        if not isinstance(data, dict):
            return None
        return cls(
            content_type=data.get("content_type"),
            bytes=data.get("bytes"),
            etag=data.get("etag"),
            width=data.get("width"),
            height=data.get("height"),
            partial=bool(data.get("partial", False)),
        )


@dataclass(frozen=True)
class Job:
    """A job as the server last reported it. ``links`` holds the server's links by name
    (``self``, ``result``, ``preview``, ``cancel``, ``events``, ``result_url`` …);
    ``replayed`` is true when the server answered an ``Idempotency-Key`` it had seen."""

    id: str
    status: str
    method: str | None = None
    progress: Progress = field(default_factory=Progress)
    queue_position: int | None = None
    cancel_requested: bool = False
    attempts: int = 0
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    error: ErrorInfo | None = None
    result: ResultInfo | None = None
    links: dict[str, str | None] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    replayed: bool = field(default=False, compare=False)

    @property
    def finished(self) -> bool:
        """Succeeded, failed or canceled: it will not change any more."""
        return self.status in TERMINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, replayed: bool = False) -> Job:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ValueError(f"not a job: {str(data)[:200]}")
        links = data.get("links")
        return cls(
            id=data["id"],
            status=str(data.get("status")),
            method=data.get("method"),
            progress=Progress.from_dict(data.get("progress")),
            queue_position=data.get("queue_position"),
            cancel_requested=bool(data.get("cancel_requested", False)),
            attempts=int(data.get("attempts") or 0),
            created_at=parse_time(data.get("created_at")),
            started_at=parse_time(data.get("started_at")),
            finished_at=parse_time(data.get("finished_at")),
            expires_at=parse_time(data.get("expires_at")),
            error=ErrorInfo.from_dict(data.get("error")),
            result=ResultInfo.from_dict(data.get("result")),
            links=dict(links) if isinstance(links, dict) else {},
            webhook=data.get("webhook") if isinstance(data.get("webhook"), dict) else None,
            raw=data,
            replayed=replayed,
        )


@dataclass(frozen=True)
class Style:
    """An uploaded style image; pass it (or its ``id``) as a style of ``stylize``. Its id
    is the sha256 of the bytes, and it expires ``expires_in`` seconds after its last use."""

    id: str
    format: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    expires_in: int | None = None
    links: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    created: bool = field(default=True, compare=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, created: bool = True) -> Style:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ValueError(f"not a style: {str(data)[:200]}")
        links = data.get("links")
        return cls(
            id=data["id"],
            format=data.get("format"),
            width=data.get("width"),
            height=data.get("height"),
            bytes=data.get("bytes"),
            expires_in=data.get("expires_in"),
            links=dict(links) if isinstance(links, dict) else {},
            raw=data,
            created=created,
        )


class Result(bytes):
    """A job's result: the encoded image (or video) bytes themselves, plus the
    ``content_type`` and ``etag`` the server sent, ``save(path)`` and ``image()``."""

    content_type: str | None
    etag: str | None

    def __new__(
        cls, data: bytes, content_type: str | None = None, etag: str | None = None
    ) -> Result:
        result = super().__new__(cls, data)
        result.content_type = content_type
        result.etag = etag
        return result

    def __repr__(self) -> str:
        return f"<Result {self.content_type or 'unknown type'}, {len(self):,} bytes>"

    def save(self, path: str | os.PathLike[str]) -> None:
        with open(path, "wb") as file:
            file.write(self)

    def image(self) -> Any:
        """The result as a ``PIL.Image.Image`` (needs Pillow: ``stylize-client[image]``)."""
        try:
            from PIL import Image
        except ImportError as error:
            raise ImportError(
                "Result.image() needs Pillow: pip install 'stylize-client[image]'"
            ) from error
        image = Image.open(io.BytesIO(self))
        image.load()
        return image


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as the server writes it (``…Z`` included); None if absent or
    unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
