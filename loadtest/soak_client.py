"""The soak's virtual users: all of its HTTP, kept apart from the process control in
``loadtest/soak.py``. Each user loops: POST /stylize (again after a 429 or 503) →
poll the job until it ends → download a success. What they see goes into
``Observations`` for ``soak_check.check``.
"""

import asyncio
import hashlib
import random
import time
from pathlib import Path

import httpx

from loadtest.run import TERMINAL, Image, load_images, retry_after
from loadtest.soak_check import Observations

PAUSE = 1.0  # seconds before asking again after a transport error


async def run_users(
    url: str,
    *,
    users: int,
    submit_for: float,
    follow_for: float,
    mix: dict[str, float],
    size: int,
    testdata: Path,
    seed: int = 0,
) -> Observations:
    """``users`` users submit for ``submit_for`` seconds, then follow what they have
    until ``follow_for`` seconds after the start."""
    seen = Observations()
    contents = load_images(testdata / "content")
    styles = load_images(testdata / "style")
    start = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(40.0, connect=5.0)) as client:

        async def one(index: int) -> None:
            rng = random.Random(seed * 1_000_003 + index)
            await asyncio.sleep(index * 0.5)
            while time.monotonic() - start < submit_for:
                method = rng.choices(list(mix), list(mix.values()))[0]
                job_id = await _submit(
                    client, seen, method, size, rng.choice(contents), rng.choice(styles),
                    start + submit_for,
                )  # fmt: skip
                if job_id is not None:
                    await _follow(client, seen, job_id, start + follow_for)

        await asyncio.gather(*(one(i) for i in range(users)))
    return seen


async def _request(
    client: httpx.AsyncClient, seen: Observations, what: str, method: str, path: str, **kw
) -> httpx.Response | None:
    try:
        response = await client.request(method, path, **kw)
    except httpx.HTTPError as error:
        seen.transport_errors[f"{what}: {type(error).__name__}"] += 1
        await asyncio.sleep(PAUSE)
        return None
    seen.status_codes[f"{what} {response.status_code}"] += 1
    if response.status_code >= 500:
        seen.server_errors.append((time.time(), what, response.status_code))
    return response


async def _submit(
    client: httpx.AsyncClient,
    seen: Observations,
    method: str,
    size: int,
    content: Image,
    style: Image,
    until: float,
) -> str | None:
    data = {"method": method, "size": str(size), "style_size": str(size)}
    if method == "gatys":
        data["gatys.iterations"] = "3"
    while time.monotonic() < until:
        files = {
            "content": (content.name, content.data, content.content_type),
            "style": (style.name, style.data, style.content_type),
        }
        response = await _request(client, seen, "POST /stylize", "POST", "/stylize", data=data, files=files)  # fmt: skip
        if response is None:
            continue
        if response.status_code in (429, 503):
            await asyncio.sleep(min(retry_after(response), 5.0))
            continue
        if response.status_code == 202:
            seen.accepted[response.json()["id"]] = method
            return response.json()["id"]
        return None  # a 4xx: counted, not a job
    return None


async def _follow(client: httpx.AsyncClient, seen: Observations, job_id: str, until: float):
    while time.monotonic() < until:
        response = await _request(
            client, seen, "GET /jobs/{id}", "GET", f"/jobs/{job_id}",
            headers={"Prefer": "wait=10"},
        )  # fmt: skip
        if response is None:
            continue
        if response.status_code != 200 or response.json()["status"] not in TERMINAL:
            await asyncio.sleep(1.0 if response.status_code >= 500 else 0.2)
            continue
        if response.json()["status"] == "succeeded":
            await _download(client, seen, job_id, until)
        return


async def _download(client: httpx.AsyncClient, seen: Observations, job_id: str, until: float):
    while time.monotonic() < until:
        path = f"/jobs/{job_id}/result"
        response = await _request(client, seen, "GET /jobs/{id}/result", "GET", path)
        if response is not None and response.status_code == 200:
            seen.downloads.setdefault(job_id, []).append(
                hashlib.sha256(response.content).hexdigest()
            )
            return
        await asyncio.sleep(1.0)
