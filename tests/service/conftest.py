"""Service tests share tests/conftest.py; this only boots the session worker early, so
it loads the engine while the tests that need no worker run."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _boot_session_worker_early(session_worker):
    return session_worker
