"""The client's retries against the real API: a 429 is waited out for as long as its
``Retry-After`` says, and a POST whose answer was lost is sent again without making a
second job (once the API has idempotency)."""

import io
import logging
import socket
import threading

import pytest
from PIL import Image
from redis import Redis
from stylize_client import Client, IdempotencyKeyReusedError, RetryPolicy

from tests.support.paths import STYLE  # chicago.jpg is 220 kB

SMALL = {"size": 128, "style_size": 128}


def small_jpeg(color: tuple[int, int, int] = (90, 140, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), color).save(buffer, "JPEG")
    return buffer.getvalue()


def queued(redis: Redis, prefix: str) -> list[str]:
    return [job_id.decode() for job_id in redis.lrange(f"rq:queue:{prefix}:fast", 0, -1)]


class RetryLog(logging.Handler):
    """Collects the client's retry messages; ``first`` is set at the first one."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self.first = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.messages.append(record.getMessage())
            self.first.set()


@pytest.fixture
def retry_log():
    handler = RetryLog()
    logger = logging.getLogger("stylize_client")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)


def test_a_full_queue_is_retried_after_retry_after_and_then_accepted(
    start_api, fresh_prefix, redis, retry_log
):
    prefix = fresh_prefix("client-retry")
    api = start_api(prefix, STYLIZE_MAX_QUEUE_DEPTH="1")  # no worker: the queue stays full
    with Client(api.url) as client:
        blocker = client.stylize(small_jpeg(), STYLE, **SMALL)

        def free_the_queue_once_refused() -> None:
            if retry_log.first.wait(timeout=60):
                client.cancel(blocker)

        helper = threading.Thread(target=free_the_queue_once_refused)
        helper.start()
        job = client.stylize(small_jpeg(), STYLE, **SMALL)
        helper.join()

    assert job.status == "queued"
    assert queued(redis, prefix) == [job.id]
    # Exactly one refusal, waited out for the server's Retry-After (10 s for the fast queue).
    assert len(retry_log.messages) == 1
    assert "429 queue_full" in retry_log.messages[0]
    assert "retrying in 10.00 s" in retry_log.messages[0]


class DroppingProxy:
    """A TCP proxy to ``upstream`` that forwards each request, lets the server answer,
    and then, for the first ``drop`` requests starting with ``prefix``, hangs up on the
    client instead of passing the answer on: a connection lost after the server acted."""

    def __init__(self, upstream: str, prefix: bytes, drop: int = 1) -> None:
        host, port = upstream.removeprefix("http://").rstrip("/").split(":")
        self.upstream = (host, int(port))
        self.prefix, self.drop, self.dropped = prefix, drop, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(connection,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        with client:
            while request := _read_request(client):
                request = request.replace(b"\r\n", b"\r\nConnection: close\r\n", 1)
                with socket.create_connection(self.upstream) as server:
                    server.sendall(request)
                    answer = b"".join(iter(lambda: server.recv(65536), b""))
                if request.startswith(self.prefix) and self.dropped < self.drop:
                    self.dropped += 1
                    return  # the server did the work; the client never hears of it
                client.sendall(answer)
                return

    def close(self) -> None:
        self.listener.close()


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_post_whose_answer_was_lost_is_retried_without_a_second_job(
    start_api, fresh_prefix, redis
):
    prefix = fresh_prefix("client-drop")
    api = start_api(prefix)  # no worker: jobs stay in the queue to be counted
    proxy = DroppingProxy(api.url, b"POST /stylize")
    try:
        with Client(proxy.url, retry=RetryPolicy(backoff=0.1)) as client:
            job = client.stylize(small_jpeg(), STYLE, **SMALL)
    finally:
        proxy.close()

    assert proxy.dropped == 1
    assert queued(redis, prefix) == [job.id]
    assert job.replayed


def test_the_same_key_with_another_request_is_idempotency_key_reused(start_api, fresh_prefix):
    api = start_api(fresh_prefix("client-reuse"))
    with Client(api.url, retry=RetryPolicy.never()) as client:
        first = client.stylize(small_jpeg(), STYLE, idempotency_key="order-1", **SMALL)
        again = client.stylize(small_jpeg(), STYLE, idempotency_key="order-1", **SMALL)
        with pytest.raises(IdempotencyKeyReusedError) as caught:
            client.stylize(small_jpeg((1, 2, 3)), STYLE, idempotency_key="order-1", **SMALL)

    assert again.id == first.id and again.replayed
    assert (caught.value.status, caught.value.field) == (422, "Idempotency-Key")
