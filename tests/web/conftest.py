"""The try-it page in a real browser: Debian's Chromium driven by Playwright, against the
API as it runs in production (uvicorn in a subprocess) and the session's real worker
process (tests/conftest.py), on the real Redis under a key prefix of the session's own.

No browser is downloaded: Playwright launches the system Chromium at ``$STYLIZE_CHROMIUM``
(default ``/usr/bin/chromium``; ``.ci/run`` installs it). When it is missing the tests
fail, they do not skip. Each test leaves a full-page screenshot (and the ones it takes on
the way) in ``$STYLIZE_ARTIFACTS_DIR`` (default ``test-artifacts/web``, gitignored).
"""

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.paths import ROOT
from tests.support.processes import ApiServer

CHROMIUM = Path(os.environ.get("STYLIZE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
ARTIFACTS = Path(os.environ.get("STYLIZE_ARTIFACTS_DIR", ROOT / "test-artifacts" / "web"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's (apt-get install -y chromium "
            "chromium-driver; .ci/run does) or set STYLIZE_CHROMIUM to a Chromium binary"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Screens:
    """Saves screenshots of a test's pages under ``ARTIFACTS``, named after the test."""

    def __init__(self, test_name: str) -> None:
        self.stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shoot(self, page: Page, label: str) -> Path:
        path = ARTIFACTS / f"{self.stem}--{label}.png"
        page.screenshot(path=path, full_page=True)
        return path


@pytest.fixture
def screens(request: pytest.FixtureRequest) -> Screens:
    """``screens.shoot(page, label)``: a screenshot on the way, kept as an artefact."""
    return Screens(request.node.name)


@pytest.fixture
def open_page(browser: Browser, screens: Screens) -> Iterator[Callable[..., Page]]:
    """``open_page(api, phone=False)``: the page at ``/`` in a fresh browser context
    (its own localStorage), desktop- or phone-sized. At the end of the test each page is
    photographed (pass or fail), and an uncaught JavaScript error fails the test."""
    opened: list[tuple[Page, list[str]]] = []

    def open_(api: ApiServer, *, phone: bool = False) -> Page:
        context = browser.new_context(
            viewport=PHONE if phone else DESKTOP,
            device_scale_factor=2 if phone else 1,
            is_mobile=phone,
            has_touch=phone,
            accept_downloads=True,
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(api.url)
        opened.append((page, errors))
        return page

    yield open_
    for i, (page, errors) in enumerate(opened):
        try:
            screens.shoot(page, f"end{i or ''}")
        finally:
            page.context.close()
        assert not errors, f"JavaScript errors on the page: {errors}"
