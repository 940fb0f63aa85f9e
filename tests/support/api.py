"""The app in-process behind FastAPI's TestClient, with the calls tests repeat."""

import time
import warnings
from collections.abc import Callable
from typing import Any

import httpx
from starlette.exceptions import StarletteDeprecationWarning

from contract.settings import Settings
from service.app import create_app
from tests.support.images import Upload, content_upload, style_upload

with warnings.catch_warnings():
    # "install httpx2 instead": not available here; the httpx client works as documented.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

SMALL = {"size": "128", "style_size": "128"}  # keeps a real job around a second
FINISHED = ("succeeded", "failed", "canceled")


class Api:
    """``Api(settings)``: the app with ``settings``; ``close()`` ends its lifespan."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = TestClient(create_app(settings), raise_server_exceptions=False)
        self.client.__enter__()

    def close(self) -> None:
        self.client.__exit__(None, None, None)

    def submit(
        self,
        *,
        content: Upload | None = None,
        styles: list[Upload] | None = None,
        mask: Upload | None = None,
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> httpx.Response:
        """``POST /stylize``; by default chicago.jpg in the style of sketch.png, at 128 px."""
        files = [("content", content or content_upload())]
        if styles is None and "style_id" not in fields:
            styles = [style_upload()]
        files += [("style", style) for style in styles or []]
        if mask is not None:
            files.append(("mask", mask))
        return self.client.post("/stylize", files=files, data={**SMALL, **fields}, headers=headers)

    def job(self, job_id: str, headers: dict[str, str] | None = None) -> dict:
        response = self.client.get(f"/jobs/{job_id}", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    def wait(
        self,
        job_id: str,
        until: Callable[[dict], bool] | None = None,
        timeout: float = 120,
        headers: dict[str, str] | None = None,
    ) -> dict:
        """Poll until ``until(job)``, by default until it is finished."""
        until = until or (lambda job: job["status"] in FINISHED)
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id, headers)
            if until(job):
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} never got there; last seen: {job}")
            time.sleep(0.1)
