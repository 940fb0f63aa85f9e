"""uvicorn's HTTP/1.1 protocol with a limit on the time a client takes to send a request's
headers. Run the API with it: ``uvicorn service.app:create_app --factory --http
service.http11:H11WithTimeouts``.

uvicorn has no such limit: a client that sends half a request line, or stops in the
middle of its headers, holds its connection (and a file descriptor) for ever, and the
app never hears of it. The body is the app's to bound (``service.middleware.BodyLimits``,
408 after ``STYLIZE_BODY_TIMEOUT``); a reverse proxy in front should bound both as well
(docs/deploy.md).
"""

import asyncio
from functools import cache

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from contract.settings import Settings

PROTOCOL = "service.http11:H11WithTimeouts"
"""The value of uvicorn's ``--http`` option that selects this protocol."""

_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)


@cache
def header_timeout() -> float:
    return Settings().header_timeout


class H11WithTimeouts(H11Protocol):
    """Closes a connection whose request headers are not complete ``STYLIZE_HEADER_TIMEOUT``
    seconds after it opened or after its previous response ended, with a 408 if part of a
    request had come."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        self._header_timer = self.loop.call_later(header_timeout(), self._headers_timed_out)

    def _headers_timed_out(self) -> None:
        """Still waiting for a request's headers (h11's IDLE) when the time is up."""
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.conn.trailing_data[0]:  # part of a request came: say why it ends
            body = (
                b'{"error":{"code":"request_timeout","message":"the request headers did not '
                b'arrive in time","field":null}}'
            )
            self.transport.write(_TIMED_OUT % (len(body), body))
        self.transport.close()
