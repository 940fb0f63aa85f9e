"""A real HTTP server on a local socket, answering from a script, so the client's
transport behaviour (retries, waits, streams, what it sends) is tested over real TCP
without the stylize server; and the JSON the API answers with. Each request is recorded
with its headers, body and arrival time.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = "drop"  # answer nothing: close the connection after reading the request


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival

    def form(self) -> dict[str, list[tuple[str | None, str | None, bytes]]]:
        """The multipart body: field name -> [(filename, content type, value)]."""
        boundary = self.headers["content-type"].split("boundary=")[1].encode()
        fields: dict[str, list[tuple[str | None, str | None, bytes]]] = {}
        for part in self.body.split(b"--" + boundary)[1:-1]:
            head, _, value = part.strip(b"\r\n").partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            disposition = next(x for x in lines if x.lower().startswith("content-disposition"))
            name = disposition.split('name="')[1].split('"')[0]
            filename = (
                disposition.split('filename="')[1].split('"')[0]
                if "filename=" in disposition
                else None
            )
            kind = next(
                (x.split(":", 1)[1].strip() for x in lines if x.lower().startswith("content-type")),
                None,
            )
            fields.setdefault(name, []).append((filename, kind, value))
        return fields


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; bytes as is
    headers: dict[str, str] = field(default_factory=dict)
    stream: list[bytes] | None = None  # chunks sent one by one (SSE), then the connection ends
    pause: float = 0.0  # seconds before answering


Responder = Reply | str | Callable[[Seen], "Reply | str"]


class ScriptedServer:
    """``server.script(route, *replies)``: the replies to give, in order, for requests
    whose ``"METHOD /path"`` starts with ``route``; the last one repeats."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._routes: list[tuple[str, list[Responder]]] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen = Seen(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                    time.monotonic(),
                )
                reply = owner._reply_for(seen)
                if reply == DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                assert isinstance(reply, Reply)
                time.sleep(reply.pause)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.stream is not None:
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    for chunk in reply.stream:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                    self.close_connection = True
                    return
                if isinstance(reply.body, bytes):
                    data = reply.body
                else:
                    data = json.dumps(reply.body).encode() if reply.body is not None else b""
                    if reply.body is not None and "Content-Type" not in reply.headers:
                        self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def script(self, route: str, *replies: Responder) -> None:
        with self._lock:
            self._routes.append((route, list(replies)))

    def requests(self, route: str = "") -> list[Seen]:
        return [s for s in self.seen if f"{s.method} {s.path}".startswith(route)]

    def _reply_for(self, seen: Seen) -> Reply | str:
        with self._lock:
            self.seen.append(seen)
            for route, replies in reversed(self._routes):
                if f"{seen.method} {seen.path}".startswith(route):
                    responder = replies.pop(0) if len(replies) > 1 else replies[0]
                    break
            else:
                return Reply(
                    404, {"error": {"code": "not_found", "message": "no script", "field": None}}
                )
        return responder(seen) if callable(responder) else responder

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def job_json(job_id: str = "0" * 32, status: str = "queued", **extra: Any) -> dict[str, Any]:
    """A Job as the API writes it."""
    finished = status in ("succeeded", "failed", "canceled")
    return {
        "id": job_id,
        "status": status,
        "method": "wct",
        "progress": {
            "fraction": 1.0 if finished else 0.0,
            "stage": "done" if finished else "queued",
            "iteration": None,
            "total": None,
            "losses": None,
        },
        "queue_position": None if finished else 0,
        "cancel_requested": False,
        "attempts": 1 if finished else 0,
        "created_at": "2025-01-02T03:04:05.678000Z",
        "started_at": None,
        "finished_at": "2025-01-02T03:04:06Z" if finished else None,
        "error": None,
        "result": {
            "content_type": "image/png",
            "bytes": 3,
            "etag": "abc",
            "width": 1,
            "height": 1,
            "partial": False,
        }
        if status == "succeeded"
        else None,
        "style_cache": None,
        "links": {
            "self": f"/jobs/{job_id}",
            "result": f"/jobs/{job_id}/result" if status == "succeeded" else None,
            "preview": None,
            "cancel": None if finished else f"/jobs/{job_id}",
        },
        **extra,
    }


def error_json(code: str, message: str = "bad", field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}
