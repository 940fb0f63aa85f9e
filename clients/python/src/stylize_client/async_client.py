"""``AsyncClient``: the API from asyncio (or trio), call for call the same as ``Client``.

async with AsyncClient("http://127.0.0.1:8000") as client:
    job = await client.wait(await client.stylize("photo.jpg", "painting.jpg"))
    (await client.result(job)).save("out.png")
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
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


class AsyncClient(ClientBase):
    """One connection pool to one server; use it as an async context manager (or
    ``await aclose()``). Inputs given as paths or files are read synchronously."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key=api_key, timeout=timeout, retry=retry, user_agent=user_agent
        )
        self._http = httpx.AsyncClient(transport=transport, **self._http_options())

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- jobs -----------------------------------------------------------------------------

    async def stylize(
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
        """As ``Client.stylize``."""
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
        return self._read_job(await self._send(call))

    async def get_job(self, job: Job | str) -> Job:
        return self._read_job(await self._send(self._job_call(job)))

    async def wait(self, job: Job | str, timeout: float = 300.0) -> Job:
        """As ``Client.wait``."""
        deadline = time.monotonic() + timeout
        current = job if isinstance(job, Job) else await self.get_job(job)
        if current.finished:
            return current
        if current.links.get("events"):
            try:
                async for event in self._events(current, deadline):
                    if isinstance(event, (StatusEvent, DoneEvent)):
                        current = event.job
                if current.finished:
                    return current
            except StylizeError as error:  # polling below says it again if it matters
                log.info("events of job %s failed (%s); polling instead", current.id, error)
        while (left := deadline - time.monotonic()) > 0:
            response = await self._send(self._job_call(current, wait=min(left, MAX_PREFER_WAIT)))
            current = self._read_job(response)
            if current.finished:
                return current
            if not self._wait_was_held(response):
                await anyio.sleep(max(0.0, min(POLL_INTERVAL, deadline - time.monotonic())))
        raise wait_timeout_error(current, timeout)

    async def result(self, job: Job | str) -> Result:
        """As ``Client.result``."""
        return self._read_result(await self._send(self._path_call(job, "result")))

    async def preview(self, job: Job | str) -> Result:
        return self._read_result(await self._send(self._path_call(job, "preview")))

    async def cancel(self, job: Job | str) -> Job:
        """As ``Client.cancel``."""
        return self._read_job(await self._send(self._cancel_call(job)))

    async def jobs(
        self, status: str | None = None, limit: int | None = None, *, page_size: int = 20
    ) -> AsyncIterator[Job]:
        """As ``Client.jobs``: ``async for job in client.jobs(): ...``."""
        pages = Pages(status, limit, page_size)
        while (size := pages.next_size()) is not None:
            page = (await self._send(self._jobs_call(status, size, pages.cursor))).json()
            for job in pages.take(page):
                yield job

    def events(self, job: Job | str) -> AsyncIterator[Event]:
        """As ``Client.events``: ``async for event in client.events(job): ...``."""
        return self._events(job, None)

    # --- styles ---------------------------------------------------------------------------

    async def upload_style(self, style: ImageInput, *, idempotency_key: str | None = None) -> Style:
        return self._read_style(await self._send(self._upload_style_call(style, idempotency_key)))

    async def get_style(self, style: Style | str) -> Style:
        style_id = style.id if isinstance(style, Style) else style
        return self._read_style(await self._send(self._style_call(style_id)))

    # --- sending --------------------------------------------------------------------------

    async def _send(self, call: Call, *, stream: bool = False) -> httpx.Response:
        """As ``Client._send``."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.send(self._request(self._http, call), stream=stream)
            except RETRYABLE_ERRORS as error:
                await anyio.sleep(self._delay_after_error(call, attempt, error))
                continue
            if response.is_error:
                if stream:
                    await response.aread()
                    await response.aclose()
                await anyio.sleep(self._delay_after_answer(call, attempt, response))
                continue
            return response

    async def _events(self, job: Job | str, deadline: float | None) -> AsyncIterator[Event]:
        """As ``Client._events``."""
        follow = EventFollower(job, deadline, self.retry)
        while (read_timeout := follow.read_timeout()) is not None:
            call = self._events_call(job, read_timeout, follow.last_id)
            response = await self._send(call, stream=True)
            follow.connected()
            try:
                async for line in response.aiter_lines():
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
                await response.aclose()
            await anyio.sleep(follow.reconnect_delay(error))
