"""Clients that send slowly, or send what they should not, cost the server little: a
request without a valid key is refused from its headers, before its body is read.
Against the API under uvicorn, over raw sockets, so nothing buffers the body for it."""

import socket

import pytest

from tests.support.processes import ApiServer

KEY = "slow-client-key"


@pytest.fixture(scope="module")
def server(fresh_prefix, tmp_path_factory):
    api = ApiServer(fresh_prefix("slow"), tmp_path_factory.mktemp("slow"), STYLIZE_API_KEYS=KEY)
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
    assert b'"code":"unauthorized"' in answer
