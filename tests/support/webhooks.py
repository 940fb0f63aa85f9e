"""A real HTTP server on loopback that receives webhooks, for the tests that send them.

``Receiver(answers=[503, 503])`` answers 503 twice, then 200; ``Receiver(port=p,
start=False)`` is down (nothing listens on ``p``) until ``start()``. Every request it
got is in ``deliveries``, with its headers, raw body and arrival time.
"""

import http.server
import threading
import time
from dataclasses import dataclass

from tests.support.processes import free_port

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0xMjM0NQ=="  # base64 of a test key
WEBHOOK_SETTINGS = {
    "STYLIZE_WEBHOOK_SECRET": SECRET,
    "STYLIZE_WEBHOOK_ALLOW_HTTP": "true",
    "STYLIZE_WEBHOOK_ALLOW_PRIVATE": "true",  # the receivers are on 127.0.0.1
    "STYLIZE_WEBHOOK_BACKOFF": "0.5",  # retries after 0.5 s, 1.5 s, 4.5 s, …
}
"""What the test workers and APIs run with (``tests/support/processes.py``)."""

API_WEBHOOK_SETTINGS = {
    "webhook_secret": SECRET,
    "webhook_allow_http": True,
    "webhook_allow_private": True,
}
"""The same for an in-process API (``make_api(**API_WEBHOOK_SETTINGS)``)."""


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival
    status: int  # what the receiver answered


class Receiver:
    def __init__(self, answers: list[int] | None = None, port: int | None = None, start=True):
        self.answers = list(answers or [])
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.deliveries: list[Delivery] = []
        self._arrived = threading.Condition()
        self._server: http.server.ThreadingHTTPServer | None = None
        if start:
            self.start()

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver._arrived:
                    receiver.deliveries.append(
                        Delivery(dict(self.headers.items()), body, time.time(), status)
                    )
                    receiver._arrived.notify_all()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def wait_for(self, count: int, timeout: float = 60) -> list[Delivery]:
        """The first ``count`` deliveries, once they have come."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.deliveries) >= count, timeout):
                raise TimeoutError(f"{len(self.deliveries)} of {count} deliveries came")
            return self.deliveries[:count]

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
