"""ASGI middleware: the limits on a request body (size and time) and the request metrics.

Plain ASGI rather than ``BaseHTTPMiddleware`` so that neither buffers bodies.
"""

import asyncio
import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import error_body
from service.metrics import Metrics


class _Refused(Exception):
    pass


class BodyLimits:
    """413 for a request body over ``max_bytes``: at once when ``Content-Length`` says so,
    otherwise (chunked uploads) as soon as the bytes read pass the limit. 408 for a body
    that has not fully arrived ``timeout`` seconds after the request began (a client that
    declares more bytes than it sends would otherwise hold its connection for ever).
    Whatever the application was answering is then replaced by the refusal, which closes
    the connection."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            return await _refuse(send, 413, "payload_too_large", self._too_large(declared))

        deadline = time.monotonic() + self.timeout
        received = 0
        complete = False
        refusal: tuple[int, str, str] | None = None

        async def limited_receive() -> Message:
            nonlocal received, complete, refusal
            if complete:  # the body is in: what is left is waiting for a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:
                refusal = (408, "request_timeout", self._too_slow())
                raise _Refused from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_bytes:
                    refusal = (413, "payload_too_large", self._too_large(None))
                    raise _Refused
            return message

        async def guarded_send(message: Message) -> None:
            if refusal is None:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Refused:
            pass
        except Exception:
            if refusal is None:
                raise
        if refusal is not None:
            await _refuse(send, *refusal)

    def _too_large(self, declared: int | None) -> str:
        got = f"{declared:,} bytes" if declared is not None else "more than that"
        return f"the request body is too large: at most {self.max_bytes:,} bytes, got {got}"

    def _too_slow(self) -> str:
        return f"the request body did not arrive within {self.timeout:g} seconds"


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestMetrics:
    """Counts requests and times them, labelled by route template (``/jobs/{job_id}``),
    never by raw path, so job ids cannot blow up the number of series."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe_request(
                scope["method"], route, status, time.perf_counter() - started
            )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
