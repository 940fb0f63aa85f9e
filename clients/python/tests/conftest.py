"""Fixtures of the client's own tests. No stylize server, Redis or torch is needed here:
these run in a bare venv with only the client installed (``pip install
'clients/python[test]'``); the tests against the real API are in the main repository's
``tests/clients``."""

from collections.abc import Iterator

import pytest
from support import ScriptedServer


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A scripted HTTP server on a free local port (``support.ScriptedServer``)."""
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
