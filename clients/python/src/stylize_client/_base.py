"""What ``Client`` and ``AsyncClient`` share: configuration, how each call's request is
built, and how answers are read. Only sending (with its retries) and sleeping differ
between the two, so they live in ``client.py`` and ``async_client.py``."""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from stylize_client.errors import (
    APIConnectionError,
    InvalidParameterError,
    WaitTimeout,
    error_from_response,
)
from stylize_client.events import Event, SSEDecoder, parse_event
from stylize_client.inputs import ImageInput, Upload, to_upload
from stylize_client.models import Job, Result, Style
from stylize_client.params import MAX_STYLES, StyleParams
from stylize_client.retry import RetryPolicy

__version__ = "0.1.0"
USER_AGENT = f"stylize-client/{__version__}"
DEFAULT_URL = "http://127.0.0.1:8000"
MAX_PREFER_WAIT = 60  # seconds: the API's cap on ``Prefer: wait``
EVENTS_READ_TIMEOUT = 45.0  # seconds without a byte before an event stream is reopened
POLL_INTERVAL = 0.5  # seconds between polls when the server does not hold requests
WEBHOOK_EVENTS = ("start", "progress", "completed")

log = logging.getLogger("stylize_client")


@dataclass
class Call:
    """One API request, rebuilt identically for every retry."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    data: dict[str, Any] | None = None
    files: list[tuple[str, Upload]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout: httpx.Timeout | None = None

    def describe(self) -> str:
        return f"{self.method} {self.path}"


class ClientBase:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
    ) -> None:
        """``base_url`` defaults to ``$STYLIZE_URL``, else ``http://127.0.0.1:8000``;
        ``api_key`` to ``$STYLIZE_API_KEY`` (none: a server without keys). ``timeout`` is
        per request (seconds); waiting calls add the time they ask the server to wait."""
        self.base_url = (base_url or os.environ.get("STYLIZE_URL") or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("STYLIZE_API_KEY")
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.headers = {"User-Agent": user_agent or USER_AGENT}
        if self.api_key:
            self.headers["Authorization"] = f"Bearer {self.api_key}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    # --- requests -------------------------------------------------------------------------

    def _stylize_call(
        self,
        content: ImageInput,
        style: Any,
        *,
        style_id: str | Sequence[str] | None,
        mask: ImageInput | None,
        params: StyleParams | None,
        values: Mapping[str, Any],
        wait: float | None,
        idempotency_key: str | None,
        webhook: str | None,
        webhook_events: str | Sequence[str] | None,
    ) -> Call:
        """Every check the client can make, then the multipart form, read once."""
        if values:  # keywords refine ``params``, checked as one set
            params = StyleParams.of({**(asdict(params) if params else {}), **values})
        data: dict[str, Any] = dict((params or StyleParams()).form())
        files: list[tuple[str, Upload]] = [("content", to_upload(content, "content"))]
        style_files, style_ids = _split_styles(style, style_id)
        files += [("style", to_upload(item, "style")) for item in style_files]
        if style_ids:
            data["style_id"] = style_ids
        if mask is not None:
            files.append(("mask", to_upload(mask, "mask")))
        if webhook is not None:
            data["webhook"] = webhook
            if webhook_events is not None:
                data["webhook_events"] = _webhook_events(webhook_events)
        headers = {"Idempotency-Key": _idempotency_key(idempotency_key), **_multipart()}
        timeout = None
        if wait is not None:
            headers["Prefer"] = f"wait={_prefer_seconds(wait)}"
            timeout = self._waiting_timeout(wait)
        return Call("POST", "/stylize", data=data, files=files, headers=headers, timeout=timeout)

    def _upload_style_call(self, style: ImageInput, idempotency_key: str | None) -> Call:
        headers = {"Idempotency-Key": _idempotency_key(idempotency_key), **_multipart()}
        return Call(
            "POST", "/styles", files=[("style", to_upload(style, "style"))], headers=headers
        )

    def _job_call(self, job: Job | str, wait: float | None = None) -> Call:
        call = Call("GET", f"/jobs/{job_id(job)}")
        if wait is not None:
            call.headers["Prefer"] = f"wait={_prefer_seconds(wait)}"
            call.timeout = self._waiting_timeout(wait)
        return call

    def _path_call(self, job: Job | str, what: str) -> Call:
        return Call("GET", f"/jobs/{job_id(job)}/{what}")

    def _cancel_call(self, job: Job | str) -> Call:
        return Call("DELETE", f"/jobs/{job_id(job)}")

    def _style_call(self, style_id: str) -> Call:
        if not isinstance(style_id, str) or not style_id or "/" in style_id:
            raise InvalidParameterError(f"not a style id: {style_id!r}", field="style_id")
        return Call("GET", f"/styles/{style_id}")

    def _jobs_call(self, status: str | None, limit: int, cursor: str | None) -> Call:
        params: dict[str, Any] = {"limit": limit}
        if status is not None:
            params["status"] = status
        if cursor is not None:
            params["cursor"] = cursor
        return Call("GET", "/jobs", params=params)

    def _events_call(self, job: Job | str, read_timeout: float, last_id: str | None) -> Call:
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        timeout = httpx.Timeout(self.timeout, read=read_timeout)
        return Call("GET", f"/jobs/{job_id(job)}/events", headers=headers, timeout=timeout)

    def _waiting_timeout(self, wait: float) -> httpx.Timeout:
        return httpx.Timeout(self.timeout, read=self.timeout + _prefer_seconds(wait))

    def _http_options(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "headers": self.headers, "timeout": self.timeout}

    @staticmethod
    def _request(http: httpx.Client | httpx.AsyncClient, call: Call) -> httpx.Request:
        return http.build_request(
            call.method,
            call.path,
            params=call.params,
            data=call.data,
            files=call.files,
            headers=call.headers,
            timeout=call.timeout or httpx.USE_CLIENT_DEFAULT,
        )

    def _delay_after_error(self, call: Call, attempt: int, error: Exception) -> float:
        """Seconds to wait before sending ``call`` again after try ``attempt`` failed to
        get an answer; ``APIConnectionError`` when the retries are spent."""
        delay = self.retry.delay(attempt)
        if delay is None:
            raise APIConnectionError(
                f"{call.describe()} failed after {attempt} attempt(s): {error!r}"
            ) from error
        log.info("%s: %r; retrying in %.2f s", call.describe(), error, delay)
        return delay

    def _delay_after_answer(self, call: Call, attempt: int, response: httpx.Response) -> float:
        """Seconds to wait before sending ``call`` again after try ``attempt`` got the
        error ``response`` (already read); its typed error when it is not to be retried."""
        error = error_from_response(response)
        delay = None
        if self.retry.retries_status(response.status_code):
            delay = self.retry.delay(attempt, error.retry_after)
        if delay is None:
            raise error
        log.info("%s: %s; retrying in %.2f s", call.describe(), error, delay)
        return delay

    # --- answers --------------------------------------------------------------------------

    @staticmethod
    def _read_job(response: httpx.Response) -> Job:
        replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        return Job.from_dict(response.json(), replayed=replayed)

    @staticmethod
    def _read_style(response: httpx.Response) -> Style:
        return Style.from_dict(response.json(), created=response.status_code == 201)

    @staticmethod
    def _read_result(response: httpx.Response) -> Result:
        etag = response.headers.get("ETag")
        return Result(
            response.content,
            content_type=response.headers.get("Content-Type"),
            etag=etag.strip('"') if etag else None,
        )

    @staticmethod
    def _wait_was_held(response: httpx.Response) -> bool:
        """Whether the server held the request (``Preference-Applied: wait=N``, N ≥ 1);
        if not, the caller paces its polls itself."""
        applied = response.headers.get("Preference-Applied", "")
        for part in applied.split(","):
            name, _, value = part.strip().partition("=")
            if name.strip().lower() == "wait":
                try:
                    return float(value.strip().strip('"')) >= 1
                except ValueError:
                    return False
        return False


class Pages:
    """Where a listing is: the next page to ask for, and which of a page's jobs to give."""

    def __init__(self, status: str | None, limit: int | None, page_size: int) -> None:
        check_page_size(page_size)
        self.status, self.limit, self.page_size = status, limit, page_size
        self.cursor: str | None = None
        self.seen = 0
        self.done = False

    def next_size(self) -> int | None:
        """How many jobs to ask for next; None when the listing is over."""
        if self.done:
            return None
        size = self.page_size if self.limit is None else min(self.page_size, self.limit - self.seen)
        return size if size > 0 else None

    def take(self, page: dict[str, Any]) -> Iterator[Job]:
        for item in page.get("jobs") or []:
            if self.limit is not None and self.seen >= self.limit:
                break
            self.seen += 1
            yield Job.from_dict(item)
        self.cursor = page.get("next_cursor")
        self.done = not self.cursor or not page.get("jobs")


class EventFollower:
    """The state of following one job's event stream across reconnections: the decoder,
    the last event id (sent back as ``Last-Event-ID``), consecutive failures, the deadline
    (a ``time.monotonic()`` value, or None)."""

    def __init__(self, job: Job | str, deadline: float | None, retry: RetryPolicy) -> None:
        self.job_id = job_id(job)
        self.deadline, self.retry = deadline, retry
        self.decoder = SSEDecoder()
        self.last_id: str | None = None
        self.failures = 0

    def read_timeout(self) -> float | None:
        """For the next connection; None once the deadline has passed."""
        if self.deadline is None:
            return EVENTS_READ_TIMEOUT
        left = self.deadline - time.monotonic()
        return min(EVENTS_READ_TIMEOUT, left) if left > 0 else None

    def connected(self) -> None:
        self.decoder = SSEDecoder()

    def feed(self, line: str) -> Event | None:
        sse = self.decoder.feed(line)
        if sse is None:
            return None
        self.failures = 0
        return parse_event(sse)

    def past_deadline(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def reconnect_delay(self, error: Exception) -> float:
        """Seconds before reconnecting after the stream broke with ``error`` (or ended
        before ``done``); ``APIConnectionError`` when the retries are spent."""
        self.last_id = self.decoder.last_event_id or self.last_id
        self.failures += 1
        delay = self.retry.delay(self.failures)
        if delay is None:
            raise APIConnectionError(f"events of job {self.job_id}: {error!r}") from error
        log.info("events of job %s: %r; reconnecting in %.2f s", self.job_id, error, delay)
        return delay


def job_id(job: Job | str) -> str:
    value = job.id if isinstance(job, Job) else job
    if not isinstance(value, str) or not value or "/" in value:
        raise InvalidParameterError(f"not a job id: {value!r}", field="job")
    return value


def check_page_size(page_size: int) -> int:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
        raise InvalidParameterError(f"page_size must be 1..100 (got {page_size!r})", field="limit")
    return page_size


def wait_timeout_error(job: Job, timeout: float) -> WaitTimeout:
    return WaitTimeout(f"job {job.id} is still {job.status} after {timeout:g} s", job)


def _split_styles(style: Any, style_id: str | Sequence[str] | None) -> tuple[list[Any], list[str]]:
    """Style uploads and style ids: ``Style`` objects count as ids."""
    items = list(style) if isinstance(style, (list, tuple)) else [] if style is None else [style]
    files = [item for item in items if not isinstance(item, Style)]
    ids = [item.id for item in items if isinstance(item, Style)]
    if style_id is not None:
        ids += [style_id] if isinstance(style_id, str) else list(style_id)
    if files and ids:
        raise InvalidParameterError(
            "give style images or style ids (Style objects), not both", field="style_id"
        )
    if not 1 <= len(files) + len(ids) <= MAX_STYLES:
        raise InvalidParameterError(
            f"give 1 to {MAX_STYLES} styles, not {len(files) + len(ids)}", field="style"
        )
    return files, ids


def _idempotency_key(key: str | None) -> str:
    """The caller's key, checked as the API checks it (1–255 visible ASCII), or a new one."""
    if key is None:
        return uuid.uuid4().hex
    if not 1 <= len(key) <= 255 or not all("!" <= c <= "~" for c in key):
        raise InvalidParameterError(
            "must be 1 to 255 visible ASCII characters (no spaces)", field="Idempotency-Key"
        )
    return key


def _multipart() -> dict[str, str]:
    """A boundary fixed for the whole call, so each retry sends the very same bytes."""
    return {"Content-Type": f"multipart/form-data; boundary={uuid.uuid4().hex}"}


def _webhook_events(events: str | Sequence[str]) -> list[str]:
    names = [e.strip() for e in (events.split(",") if isinstance(events, str) else events)]
    for name in names:
        if name not in WEBHOOK_EVENTS:
            raise InvalidParameterError(
                f"must be among {', '.join(WEBHOOK_EVENTS)} (got {name!r})", field="webhook_events"
            )
    return names


def _prefer_seconds(wait: float) -> int:
    """``Prefer: wait`` takes whole seconds (RFC 7240), at most the API's cap."""
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
        raise InvalidParameterError(
            f"must be a number of seconds >= 0 (got {wait!r})", field="wait"
        )
    return min(MAX_PREFER_WAIT, math.ceil(wait))
