"""The Python client (clients/python) against the real API process, worker and Redis.

The client is imported from this checkout's ``clients/python/src``, whatever is installed,
so these tests always test the code beside them. The APIs are uvicorn processes
(``ApiServer`` in tests/support/processes.py): the session's (``ready_api``, where the
session worker takes jobs), and ``idle_api``, strict and without a worker (jobs stay
queued), for the error answers.
"""

import sys
from collections.abc import Callable

import pytest

from tests.support.paths import ROOT

sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))

from stylize_client import Client, RetryPolicy  # noqa: E402  (from the path just added)

KEY = "client-test-key"
IDLE_LIMITS = {
    "STYLIZE_API_KEYS": KEY,
    "STYLIZE_MAX_UPLOAD_BYTES": "150000",  # chicago.jpg is 220 kB
    "STYLIZE_MAX_SIZE": "256",
}


@pytest.fixture(scope="session")
def idle_prefix(fresh_prefix: Callable[[str], str]) -> str:
    return fresh_prefix("client-idle")


@pytest.fixture(scope="session")
def idle_api(idle_prefix: str, launch_api: Callable):
    """An API with a key, small limits (``IDLE_LIMITS``) and no worker: jobs stay queued."""
    return launch_api(idle_prefix, **IDLE_LIMITS)


@pytest.fixture
def idle_client(idle_api):
    """A client of ``idle_api`` with its key, retrying nothing: errors come back as sent."""
    with Client(idle_api.url, api_key=KEY, retry=RetryPolicy.never()) as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
