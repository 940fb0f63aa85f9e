"""Clients that send slowly, or send what they should not, cost the server little: a
request without a valid key is refused from its headers, before its body is read, and a
request whose headers or body stop arriving is answered 408 and its connection closed.
Against the API under uvicorn, over raw sockets, so nothing buffers the body for it."""

import socket
import time

import pytest

from tests.support.processes import ApiServer

KEY = "slow-client-key"


@pytest.fixture(scope="module")
def server(fresh_prefix, tmp_path_factory):
    api = ApiServer(
        fresh_prefix("slow"),
        tmp_path_factory.mktemp("slow"),
        STYLIZE_API_KEYS=KEY,
        STYLIZE_HEADER_TIMEOUT="2",
        STYLIZE_BODY_TIMEOUT="2",
    )
    yield api
    api.stop()


def connect(server: ApiServer, timeout: float = 15.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=timeout)


def read_all(connection: socket.socket) -> bytes:
    """Everything until the server closes the connection."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def upload_headers(length: int, key: str | None = None) -> bytes:
    lines = [
        "POST /stylize HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: multipart/form-data; boundary=b",
        f"Content-Length: {length}",
    ]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_an_upload_without_a_key_is_refused_before_its_body_is_sent(server):
    with connect(server) as connection:
        connection.sendall(upload_headers(40_000_000))  # ... and never a byte of the body

        answer = read_all(connection)  # a socket timeout here: the server waited for it

    assert answer.startswith(b"HTTP/1.1 401 ")
    assert b"www-authenticate: bearer" in answer.lower()
    assert b'"unauthorized"' in answer


def test_a_body_that_stops_arriving_is_408_and_its_connection_is_closed(server):
    with connect(server) as connection:
        connection.sendall(upload_headers(100_000, KEY) + b"--b\r\n")  # ... and no more

        answer = read_all(connection)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"request_timeout"' in answer


def test_headers_that_stop_arriving_are_408_and_the_connection_is_closed(server):
    with connect(server) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # no blank line

        answer = read_all(connection)

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"request_timeout"' in answer


def test_a_connection_that_keeps_sending_requests_in_time_stays_open(server):
    with connect(server) as connection:
        for _ in range(3):
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = b""
            while not answer.endswith(b'{"status":"ok"}'):
                answer += connection.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200 ")
            time.sleep(1.5)  # less than the header timeout each time, more in all
