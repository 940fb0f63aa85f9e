"""The embedded Redis of ``stylize up``: private, persistent, one owner per directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from redis import Redis

from cli.embedded_redis import EmbeddedRedis, EmbeddedRedisError
from tests.support.paths import ROOT


@pytest.fixture
def servers():
    """``servers(directory)`` starts an embedded Redis, stopped at the end of the test."""
    started: list[EmbeddedRedis] = []

    def start(directory: Path) -> EmbeddedRedis:
        started.append(EmbeddedRedis(directory))
        return started[-1].start()

    yield start
    for server in started:
        server.stop()


def test_it_listens_on_a_unix_socket_only_and_keeps_its_data_across_restarts(tmp_path, servers):
    first = servers(tmp_path / "redis")
    client = Redis.from_url(first.url)
    client.rpush("queue", "job-1")

    assert first.url == f"unix://{tmp_path / 'redis' / 'redis.sock'}?db=0"
    assert client.config_get("port") == {"port": "0"}  # no TCP listener at all
    assert client.config_get("appendonly") == {"appendonly": "yes"}
    client.close()
    first.stop()

    again = Redis.from_url(servers(tmp_path / "redis").url)
    assert again.lrange("queue", 0, -1) == [b"job-1"]
    again.close()


def test_a_second_owner_of_the_same_directory_is_refused(tmp_path, servers):
    servers(tmp_path / "redis")

    with pytest.raises(EmbeddedRedisError) as caught:
        servers(tmp_path / "redis")

    assert f"pid {os.getpid()}" in str(caught.value)
    assert "STYLIZE_DATA_DIR" in str(caught.value)


def test_a_server_left_by_a_killed_owner_is_shut_down_before_a_new_one_starts(tmp_path, servers):
    directory = tmp_path / "redis"
    owner = (
        "import os, signal, sys; from redis import Redis; "
        "from cli.embedded_redis import EmbeddedRedis; "
        "server = EmbeddedRedis(__import__('pathlib').Path(sys.argv[1])).start(); "
        "Redis.from_url(server.url).set('kept', 'yes'); "
        "print(server.process.pid, flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    )
    killed = subprocess.run(
        [sys.executable, "-c", owner, str(directory)], cwd=ROOT, capture_output=True, text=True
    )
    leftover = int(killed.stdout.split()[0])
    assert Path(f"/proc/{leftover}").exists()  # the owner died, its server did not

    server = servers(directory)

    assert not Path(f"/proc/{leftover}").exists() or _is_zombie(leftover)
    assert Redis.from_url(server.url).get("kept") == b"yes"


def test_a_directory_too_deep_for_a_socket_gets_a_loopback_port(tmp_path, servers):
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "redis"

    server = servers(deep)

    assert server.url.startswith("redis://127.0.0.1:")
    client = Redis.from_url(server.url)
    assert client.config_get("bind") == {"bind": "127.0.0.1"}
    assert client.ping()
    client.close()


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] == "Z"
    except OSError:
        return False
