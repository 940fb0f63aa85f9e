"""The soak's virtual users, through the Python client (``stylize_client``), kept apart
from the process control in ``loadtest/soak.py``. Each user loops: submit (the client
retries 429s, 503s and broken connections, with one ``Idempotency-Key`` per job) → wait
until the job ends → download a success. What they see (every answer under the client,
retries included, through ``ObservedTransport``) goes into ``Observations`` for
``soak_check.check``.
"""

import asyncio
import hashlib
import random
import time
from pathlib import Path

from stylize_client import AsyncClient, Job, RetryPolicy, StylizeError, WaitTimeout

from loadtest.run import Image, ObservedTransport, load_images
from loadtest.soak_check import Observations

PAUSE = 1.0  # seconds before asking again once the client has given up
RETRY = RetryPolicy(max_attempts=10, max_backoff=2.0, max_retry_after=5.0)
"""Patient through a Redis restart (503 with ``Retry-After: 5``) or a killed API
connection; a longer ``Retry-After`` comes back to the user, who pauses and goes on."""


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

    def answered(what: str, status: int, seconds: float) -> None:
        seen.status_codes[f"{what} {status}"] += 1
        if status >= 500:
            seen.server_errors.append((time.time(), what, status))

    def broke(what: str, error: Exception) -> None:
        seen.transport_errors[f"{what}: {type(error).__name__}"] += 1

    transport = ObservedTransport(answered, broke)
    client = AsyncClient(url, api_key="", timeout=40.0, retry=RETRY, transport=transport)
    async with client:

        async def one(index: int) -> None:
            rng = random.Random(seed * 1_000_003 + index)
            await asyncio.sleep(index * 0.5)
            while time.monotonic() - start < submit_for:
                method = rng.choices(list(mix), list(mix.values()))[0]
                job = await _submit(
                    client, seen, method, size, rng.choice(contents), rng.choice(styles),
                    start + submit_for,
                )  # fmt: skip
                if job is not None:
                    await _follow(client, seen, job, start + follow_for)

        await asyncio.gather(*(one(i) for i in range(users)))
    return seen


async def _submit(
    client: AsyncClient,
    seen: Observations,
    method: str,
    size: int,
    content: Image,
    style: Image,
    until: float,
) -> Job | None:
    params: dict = {"method": method, "size": size, "style_size": size}
    if method == "gatys":
        params["gatys"] = {"iterations": 3}
    while time.monotonic() < until:
        try:
            job = await client.stylize(content.data, style.data, **params)
        except StylizeError as error:
            if error.status is not None and error.status < 500 and error.status != 429:
                return None  # a 4xx: counted, not a job
            await asyncio.sleep(PAUSE)  # the client gave up for now: 429, 5xx, no answer
            continue
        seen.accepted[job.id] = method
        return job
    return None


async def _follow(client: AsyncClient, seen: Observations, job: Job, until: float) -> None:
    while (left := until - time.monotonic()) > 0:
        try:
            job = await client.wait(job, timeout=left)
        except WaitTimeout:
            return  # the verdict reads its state from Redis
        except StylizeError:
            await asyncio.sleep(PAUSE)
            continue
        if job.succeeded:
            await _download(client, seen, job, until)
        return


async def _download(client: AsyncClient, seen: Observations, job: Job, until: float) -> None:
    while time.monotonic() < until:
        try:
            result = await client.result(job)
        except StylizeError:
            await asyncio.sleep(PAUSE)
            continue
        seen.downloads.setdefault(job.id, []).append(hashlib.sha256(result).hexdigest())
        return
