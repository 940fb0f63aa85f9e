"""Fixtures the service, worker, web and client tests share: the real Redis under key
prefixes of their own, real worker processes, and the API in-process (``make_api``) or as
a real uvicorn process (``session_api``, ``launch_api``, ``start_api``) for HTTP clients
and browsers. Helpers: ``tests/support/``.

Their imports are inside the fixtures, so the engine tests (``tests/models``) load no
Redis, queue or web code. Every key a session makes is deleted at its end, and every
worker it started is stopped first.
"""

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.paths import WEIGHTS

os.environ.setdefault("STYLIZE_WEIGHTS_DIR", str(WEIGHTS))


@pytest.fixture(scope="session")
def redis() -> Iterator[Any]:
    from redis import Redis

    from tests.support.keyspace import REDIS_URL

    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception as error:
        pytest.fail(f"these tests need the Redis at REDIS_URL={REDIS_URL}: {error}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def fresh_prefix(redis: Any) -> Iterator[Callable[[str], str]]:
    """``fresh_prefix(label)``: a new key prefix, its keys deleted at the end of the session."""
    from tests.support.keyspace import new_prefix, purge

    made: list[str] = []

    def make(label: str = "test") -> str:
        made.append(new_prefix(label))
        return made[-1]

    yield make
    for prefix in made:
        purge(redis, prefix)


@pytest.fixture
def prefix(fresh_prefix: Callable[[str], str]) -> str:
    """A key prefix for one test (no worker listens to it unless the test starts one)."""
    return fresh_prefix("test")


@pytest.fixture(scope="session")
def session_prefix(fresh_prefix: Callable[[str], str]) -> str:
    """The key prefix where the session's worker takes jobs."""
    return fresh_prefix("session")


@pytest.fixture(scope="session")
def session_worker(session_prefix: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One worker on both queues for the whole session (started by ``_boot_worker_early``)."""
    from tests.support.processes import WorkerProcess

    worker = WorkerProcess(session_prefix, f"{session_prefix}-w", tmp_path_factory.mktemp("w"))
    yield worker
    worker.stop()


@pytest.fixture(scope="session", autouse=True)
def _boot_worker_early(request: pytest.FixtureRequest) -> None:
    """Start the session worker at once when a collected test needs it, so it loads the
    engine while the tests that need none run."""
    if any("ready_worker" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("session_worker")


@pytest.fixture
def ready_worker(session_worker: Any) -> Any:
    if not session_worker.alive:
        pytest.fail(f"the session worker died:\n{session_worker.log()}")
    return session_worker.wait_ready()


@pytest.fixture
def start_worker(tmp_path: Any) -> Iterator[Callable[..., Any]]:
    """``start_worker(prefix, name, **options)``: a worker stopped at the end of the test."""
    from tests.support.processes import WorkerProcess

    started: list[WorkerProcess] = []

    def start(prefix: str, name: str, **options: str) -> WorkerProcess:
        started.append(WorkerProcess(prefix, name, tmp_path, **options))
        return started[-1]

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def make_api(session_prefix: str) -> Iterator[Callable[..., Any]]:
    """``make_api(**settings)``: the app in-process, on the session prefix (where the
    session worker listens) unless ``key_prefix`` says otherwise."""
    from contract.settings import Settings
    from tests.support.api import Api
    from tests.support.keyspace import REDIS_URL

    apps: list[Api] = []

    def make(**overrides: Any) -> Api:
        overrides = {"redis_url": REDIS_URL, "key_prefix": session_prefix, **overrides}
        apps.append(Api(Settings(**overrides)))
        return apps[-1]

    yield make
    for app in apps:
        app.close()


@pytest.fixture
def api(make_api: Callable[..., Any], ready_worker: Any) -> Any:
    """The app with the session worker ready behind it."""
    return make_api()


@pytest.fixture
def api_without_worker(make_api: Callable[..., Any], prefix: str) -> Any:
    """The app on a prefix no worker listens to: jobs stay queued."""
    return make_api(key_prefix=prefix)


@pytest.fixture(scope="session")
def launch_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Any]]:
    """``launch_api(prefix, **env)``: an API process stopped at the end of the session
    (for module- and session-scoped fixtures)."""
    from tests.support.processes import ApiServer

    started: list[ApiServer] = []
    log_dir = tmp_path_factory.mktemp("api")

    def launch(prefix: str, **env: str) -> ApiServer:
        started.append(ApiServer(prefix, log_dir, **env))
        return started[-1]

    yield launch
    for server in started:
        server.stop()


@pytest.fixture
def start_api(tmp_path: Any) -> Iterator[Callable[..., Any]]:
    """``start_api(prefix, **env)``: an API process of the test's own (e.g. with API keys),
    stopped at the end of the test. No worker listens on ``prefix`` unless one is started."""
    from tests.support.processes import ApiServer

    started: list[ApiServer] = []

    def start(prefix: str, **env: str) -> ApiServer:
        started.append(ApiServer(prefix, tmp_path, **env))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def session_api(session_prefix: str, launch_api: Callable[..., Any]) -> Any:
    """The API process on the session prefix, where the session worker takes jobs."""
    return launch_api(session_prefix)


@pytest.fixture
def ready_api(session_api: Any, ready_worker: Any) -> Any:
    """``session_api`` once the worker has loaded the engine."""
    return session_api


@pytest.fixture
def isolated_weights(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty weights cache (returned), no STYLIZE_WEIGHTS_DIR, no mirror and not
    offline, whatever the environment says: for the tests of finding, fetching and
    importing weight files."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("STYLIZE_CACHE_DIR", str(cache))
    for variable in ("STYLIZE_WEIGHTS_DIR", "STYLIZE_WEIGHTS_MIRROR", "STYLIZE_OFFLINE"):
        monkeypatch.delenv(variable, raising=False)
    return cache


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Any], str]]:
    """``serve(root) -> base URL``: a real HTTP server on 127.0.0.1 for a directory."""
    from tests.support.weight_files import DirectoryServer

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    servers: list[DirectoryServer] = []

    def start(root: Any) -> str:
        servers.append(DirectoryServer(root))
        return servers[-1].url

    yield start
    for server in servers:
        server.close()
