"""``stylize run --server URL`` (or ``STYLIZE_SERVER``): the same command, executed by a
running stylize service through its Python client (``stylize_client``, installed from
``./clients/python``). This module is imported only for ``--server``, so a local run
never loads the client, and the server needs nothing of this one: no torch, no weights.

One image: submit, follow the job's live events into the progress bar (the same stages
as a local run: encode, each cascade level, each Gatys iteration), download, write. The
parameters are the CLI's, checked by the same rules as a local run (``models.params``,
in ``run.py``) and sent in full, so the server makes the very pixels the local engine
would.

A batch (``cli/batch.py`` plans it): each style uploaded once (``POST /styles``; the
workers then reuse its encoded features), then up to ``--concurrency`` jobs in flight.
A 429 (queue full, the key over its fair share) waits its ``Retry-After`` and tries
again, however long the batch takes; a server that stops answering ends the batch, each
job left counted as failed. Ctrl-C cancels the jobs in flight on the server.
"""

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import stylize_client
from stylize_client import AsyncClient, Client, DoneEvent, Job, ProgressEvent, StatusEvent, Style

from cli.batch import Batch, Task
from cli.progress import ProgressBars
from models.errors import StylizeError
from models.types import ProgressCallback
from models.types import ProgressEvent as StageEvent

JOB_TIMEOUT = 3600.0  # seconds to wait for one job (the server's own limits end it sooner)


class RemoteError(StylizeError):
    """What the server (or the way to it) answered, as the CLI prints it."""

    code = "remote_error"


def client_params(raw: dict[str, Any]) -> stylize_client.StyleParams:
    """The CLI's parameters (already checked by ``models.params.parse_params``) for the
    API, every one sent explicitly: the server's defaults never stand in for the CLI's."""
    if raw.get("size") is None or raw.get("style_size") is None:
        raise RemoteError(
            "--size 0 / --style-size 0 (keep the image's own size) is for local runs; "
            "give a size in pixels with --server",
            field="size" if raw.get("size") is None else "style_size",
        )
    values = {name: value for name, value in raw.items() if value is not None}
    if values.get("method") != "gatys":
        values.pop("gatys", None)
    try:
        return stylize_client.StyleParams.of(values)
    except stylize_client.StylizeError as error:  # the client's own checks, as the API's
        raise RemoteError(error.message, field=error.field) from None


def read_input(path: Path, field: str) -> bytes:
    """An input's bytes, refused as a local run refuses an unreadable file."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise RemoteError(f"cannot read {path}: {error.strerror or error}", field=field) from None


def remote_error(error: stylize_client.StylizeError, server: str) -> RemoteError:
    if isinstance(error, stylize_client.APIConnectionError):
        return RemoteError(f"no answer from the server at {server}: {error.message}")
    message = error.message
    if error.status is not None:
        message += f" ({error.status} from {server})"
    return RemoteError(message, field=error.field)


def job_error(job: Job) -> RemoteError:
    if job.status == "canceled":
        return RemoteError(f"job {job.id} was canceled on the server")
    if job.error is None:
        return RemoteError(f"job {job.id} ended {job.status}")
    return RemoteError(job.error.message, field=job.error.field)


# --- one image ----------------------------------------------------------------------------


def run_one(
    server: str,
    content: Path,
    styles: list[Path],
    mask: Path | None,
    raw: dict[str, Any],
    show_stages: bool,
) -> tuple[bytes, tuple[int, int], float]:
    """The result's bytes, its size, and the seconds the server's worker spent on it."""
    params = client_params(raw)
    inputs = read_input(content, "content")
    style_inputs = [read_input(path, f"style[{i}]") for i, path in enumerate(styles)]
    mask_input = read_input(mask, "mask") if mask else None
    try:
        with Client(server) as client, ProgressBars() as bars:
            job = client.stylize(inputs, style_inputs, mask=mask_input, params=params)
            try:
                job = follow(client, job, bars.stage if show_stages else None)
            except KeyboardInterrupt:
                _cancel(client, job)
                raise
            if not job.succeeded:
                raise job_error(job)
            data = client.result(job)
    except stylize_client.StylizeError as error:
        raise remote_error(error, server) from None
    size = (job.result.width or 0, job.result.height or 0) if job.result else (0, 0)
    seconds = 0.0
    if job.started_at and job.finished_at:
        seconds = (job.finished_at - job.started_at).total_seconds()
    return data, size, seconds


def follow(client: Client, job: Job, progress: ProgressCallback | None) -> Job:
    """The job once finished; its progress, as the engine reports it, into ``progress``."""
    if progress is None or not job.links.get("events"):
        return client.wait(job, timeout=JOB_TIMEOUT)
    for event in client.events(job):
        # The stream samples the job's state, so a status event (the first one above all,
        # when the stream joins a running job) may carry progress no progress event repeats.
        if isinstance(event, ProgressEvent) or (
            isinstance(event, StatusEvent) and event.job.status == "running"
        ):
            at = event.progress if isinstance(event, ProgressEvent) else event.job.progress
            stage = at.stage or "running"
            progress(StageEvent(stage, at.fraction, at.iteration, at.total, at.losses))
        elif isinstance(event, DoneEvent):
            if event.job.succeeded:  # as the engine's last event says in a local run
                progress(StageEvent("done", 1.0))
            return event.job
    return client.wait(job, timeout=JOB_TIMEOUT)


def _cancel(client: Client, job: Job) -> None:
    """Best effort: the server need not finish a job nobody waits for."""
    with contextlib.suppress(stylize_client.StylizeError):
        client.cancel(job)


# --- a batch ------------------------------------------------------------------------------


def run_batch(
    server: str, batch: Batch, raw: dict[str, Any], mask: Path | None, concurrency: int
) -> None:
    params = client_params(raw)
    mask_input = read_input(mask, "mask") if mask else None
    asyncio.run(_run_batch(server, batch, params, mask_input, concurrency))


async def _run_batch(
    server: str,
    batch: Batch,
    params: stylize_client.StyleParams,
    mask: bytes | None,
    concurrency: int,
) -> None:
    async with AsyncClient(server) as client:
        styles = await _upload_styles(client, batch, server)
        batch.start()
        slots = asyncio.Semaphore(concurrency)
        unreachable: list[str] = []  # the first "no answer" ends the batch

        async def one(task: Task) -> None:
            async with slots:
                failure = unreachable[0] if unreachable else _style_failure(task, styles)
                if failure:
                    batch.failed(task, failure)
                    return
                try:
                    data = await _stylize(client, task, styles, params, mask)
                except stylize_client.APIConnectionError as error:
                    unreachable.append(str(remote_error(error, server)))
                    batch.failed(task, unreachable[0])
                except stylize_client.StylizeError as error:
                    batch.failed(task, str(remote_error(error, server)))
                except StylizeError as error:
                    batch.failed(task, str(error))
                else:
                    batch.succeeded(task, data)

        await asyncio.gather(*(one(task) for task in batch.pending))


async def _upload_styles(client: AsyncClient, batch: Batch, server: str) -> dict[Path, Style | str]:
    """Each style of the pending jobs once: its ``Style``, or why it was refused."""
    styles: dict[Path, Style | str] = {}
    for task in batch.pending:
        for path in task.styles:
            if path in styles:
                continue
            try:
                styles[path] = await client.upload_style(read_input(path, "style"))
            except stylize_client.APIConnectionError as error:
                raise remote_error(error, server) from None
            except stylize_client.StylizeError as error:
                styles[path] = f"{path.name}: {remote_error(error, server)}"
            except RemoteError as error:
                styles[path] = str(error)
    return styles


def _style_failure(task: Task, styles: dict[Path, Style | str]) -> str | None:
    return next((s for s in (styles[p] for p in task.styles) if isinstance(s, str)), None)


async def _stylize(
    client: AsyncClient,
    task: Task,
    styles: dict[Path, Style | str],
    params: stylize_client.StyleParams,
    mask: bytes | None,
) -> bytes:
    content = read_input(task.content, "content")
    uploaded = [styles[path] for path in task.styles]
    while True:
        try:
            job = await client.stylize(content, uploaded, mask=mask, params=params)
            break
        except stylize_client.RateLimitError as error:  # not now: the queue drains
            await asyncio.sleep(error.retry_after or 1.0)
    try:
        job = await client.wait(job, timeout=JOB_TIMEOUT)
    except asyncio.CancelledError:  # Ctrl-C: nobody will collect this job
        await asyncio.gather(client.cancel(job), return_exceptions=True)
        raise
    if not job.succeeded:
        raise job_error(job)
    return await client.result(job)
