"""``Client``: the API from synchronous Python.

with Client("http://127.0.0.1:8000", api_key="...") as client:
    job = client.stylize("photo.jpg", "painting.jpg", method="wct", alpha=0.8)
    job = client.wait(job, timeout=120)
    client.result(job).save("out.png")
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from stylize_client._base import (
    MAX_PREFER_WAIT,
    POLL_INTERVAL,
    Call,
    ClientBase,
    EventFollower,
    Pages,
    log,
    wait_timeout_error,
)
from stylize_client.errors import APIConnectionError, StylizeError
from stylize_client.events import DoneEvent, Event, StatusEvent
from stylize_client.inputs import ImageInput
from stylize_client.models import Job, Result, Style
from stylize_client.params import StyleParams
from stylize_client.retry import RETRYABLE_ERRORS, RetryPolicy


class Client(ClientBase):
    """One connection pool to one server; use it as a context manager (or ``close()``)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key=api_key, timeout=timeout, retry=retry, user_agent=user_agent
        )
        self._http = httpx.Client(transport=transport, **self._http_options())

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- jobs -----------------------------------------------------------------------------

    def stylize(
        self,
        content: ImageInput,
        style: ImageInput | Style | Sequence[ImageInput | Style] | None = None,
        *,
        style_id: str | Sequence[str] | None = None,
        mask: ImageInput | None = None,
        params: StyleParams | None = None,
        wait: float | None = None,
        idempotency_key: str | None = None,
        webhook: str | None = None,
        webhook_events: str | Sequence[str] | None = None,
        **values: Any,
    ) -> Job:
        """Submit a job: ``content`` (a photo, or a video: MP4, MOV, WebM, an animated GIF
        or WebP) in the style of ``style`` (an image, a ``Style`` from ``upload_style``,
        or a list of 1–8 of them) or of ``style_id``(s). Parameters are ``StyleParams``'
        names (``method``, ``alpha``, ``size``, ``format``, ``temporal`` for a video,
        ``gatys=GatysParams(...)`` …), as keywords or as ``params``. ``wait`` (seconds, ≤ 60) asks the server to
        answer when the job is done. Retries reuse one ``Idempotency-Key`` (yours, or a
        new one), so a retry never makes a second job."""
        call = self._stylize_call(
            content,
            style,
            style_id=style_id,
            mask=mask,
            params=params,
            values=values,
            wait=wait,
            idempotency_key=idempotency_key,
            webhook=webhook,
            webhook_events=webhook_events,
        )
        return self._read_job(self._send(call))

    def get_job(self, job: Job | str) -> Job:
        return self._read_job(self._send(self._job_call(job)))

    def wait(self, job: Job | str, timeout: float = 300.0) -> Job:
        """The job once finished (succeeded, failed or canceled: check ``job.status``).

        Follows the job's live events where the server has them, else asks it to hold
        each poll (``Prefer: wait``, up to 60 s at a time). ``WaitTimeout`` (with the last
        state seen) after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        current = job if isinstance(job, Job) else self.get_job(job)
        if current.finished:
            return current
        if current.links.get("events"):
            try:
                for event in self._events(current, deadline):
                    if isinstance(event, (StatusEvent, DoneEvent)):
                        current = event.job
                if current.finished:
                    return current
            except StylizeError as error:  # polling below says it again if it matters
                log.info("events of job %s failed (%s); polling instead", current.id, error)
        while (left := deadline - time.monotonic()) > 0:
            response = self._send(self._job_call(current, wait=min(left, MAX_PREFER_WAIT)))
            current = self._read_job(response)
            if current.finished:
                return current
            if not self._wait_was_held(response):
                time.sleep(max(0.0, min(POLL_INTERVAL, deadline - time.monotonic())))
        raise wait_timeout_error(current, timeout)

    def result(self, job: Job | str) -> Result:
        """The result's bytes (``.image()`` for a PIL image, ``.save(path)``); 409
        ``JobNotFinishedError`` / ``JobFailedError`` / ``JobCanceledError`` without one."""
        return self._read_result(self._send(self._path_call(job, "result")))

    def preview(self, job: Job | str) -> Result:
        """The latest preview of a running Gatys job (JPEG)."""
        return self._read_result(self._send(self._path_call(job, "preview")))

    def cancel(self, job: Job | str) -> Job:
        """Cancel: at once if queued; a running job stops at its next step (poll it).
        ``JobFinishedError`` if it already succeeded or failed."""
        return self._read_job(self._send(self._cancel_call(job)))

    def jobs(
        self, status: str | None = None, limit: int | None = None, *, page_size: int = 20
    ) -> Iterator[Job]:
        """This key's jobs, newest first, optionally of one ``status``; at most ``limit``
        of them (all by default), fetched ``page_size`` at a time."""
        pages = Pages(status, limit, page_size)
        while (size := pages.next_size()) is not None:
            page = self._send(self._jobs_call(status, size, pages.cursor)).json()
            yield from pages.take(page)

    def events(self, job: Job | str) -> Iterator[Event]:
        """The job's live events (``StatusEvent``, ``ProgressEvent``, ``PreviewEvent``),
        ending with its ``DoneEvent``. Reconnects by itself if the stream breaks."""
        return self._events(job, None)

    # --- styles ---------------------------------------------------------------------------

    def upload_style(self, style: ImageInput, *, idempotency_key: str | None = None) -> Style:
        """Upload a style once and pass the ``Style`` to ``stylize`` as often as needed
        (its encoded features are cached by the workers)."""
        return self._read_style(self._send(self._upload_style_call(style, idempotency_key)))

    def get_style(self, style: Style | str) -> Style:
        style_id = style.id if isinstance(style, Style) else style
        return self._read_style(self._send(self._style_call(style_id)))

    # --- sending --------------------------------------------------------------------------

    def _send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        """Send ``call``, retrying as ``self.retry`` says; an error answer is raised as
        its typed error."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.send(self._request(self._http, call), stream=stream)
            except RETRYABLE_ERRORS as error:
                time.sleep(self._delay_after_error(call, attempt, error))
                continue
            if response.is_error:
                if stream:
                    response.read()
                    response.close()
                time.sleep(self._delay_after_answer(call, attempt, response))
                continue
            return response

    def _events(self, job: Job | str, deadline: float | None) -> Iterator[Event]:
        """Events until ``done`` (or until ``deadline``, a ``time.monotonic()`` value)."""
        follow = EventFollower(job, deadline, self.retry)
        while (read_timeout := follow.read_timeout()) is not None:
            call = self._events_call(job, read_timeout, follow.last_id)
            response = self._send(call, stream=True)
            follow.connected()
            try:
                for line in response.iter_lines():
                    event = follow.feed(line)
                    if event is not None:
                        yield event
                        if isinstance(event, DoneEvent):
                            return
                error: Exception = APIConnectionError("the event stream ended before done")
            except httpx.ReadTimeout as timeout:
                if follow.past_deadline():
                    return
                error = timeout
            except RETRYABLE_ERRORS as broken:
                error = broken
            finally:
                response.close()
            time.sleep(follow.reconnect_delay(error))
