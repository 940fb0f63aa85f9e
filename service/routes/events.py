"""``GET /jobs/{id}/events``: a job's live events as Server-Sent Events.

The stream says ``status`` first (the job's JSON), then ``status`` on every change of
state, ``progress`` (``{fraction, stage, iteration, total, losses}``) as it moves,
``preview`` (``{url, iteration}``) when a Gatys job has a new preview, and at last ``done``
(the finished job's JSON), after which the server ends the stream. A comment line
(``: keep-alive``) goes out every 15 s of silence so proxies keep the connection open.

The server looks at the job record in Redis every ``STYLIZE_EVENTS_INTERVAL`` seconds
(0.25 by default): no publisher to keep in step with the workers, nothing lost across a
restart of either side, and one small read per open stream and interval. A client that
reconnects simply gets the current state first.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from redis.exceptions import RedisError
from starlette.concurrency import run_in_threadpool

from contract.jobs import JobRecord, JobStatus
from contract.settings import Settings
from contract.signing import UrlSigner
from contract.store import JobStore
from service.deps import CurrentKey, SettingsDep, SignerDep, StoreDep
from service.errors import ErrorCode
from service.routes.jobs import load_job, present
from service.schemas import AUTH, REDIS, errors

router = APIRouter(tags=["jobs"])

KEEP_ALIVE = 15.0  # seconds of silence before a comment line

EXAMPLE_STREAM = (
    'event: status\ndata: {"id": "991cf4b5…", "status": "running", …}\n\n'
    'event: progress\ndata: {"fraction": 0.42, "stage": "optimise", "iteration": 25, '
    '"total": 60, "losses": {"content": 0.61, "style": 0.08}}\n\n'
    'event: preview\ndata: {"url": "/jobs/991cf4b5…/preview", "iteration": 25}\n\n'
    'event: status\ndata: {"id": "991cf4b5…", "status": "succeeded", …}\n\n'
    'event: done\ndata: {"id": "991cf4b5…", "status": "succeeded", …}\n\n'
)


@router.get(
    "/jobs/{job_id}/events",
    operation_id="job_events",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Server-Sent Events until the job has finished.",
            "content": {
                "text/event-stream": {"schema": {"type": "string"}, "example": EXAMPLE_STREAM}
            },
        }
    }
    | errors(*AUTH, ErrorCode.not_found, *REDIS),
    summary="Follow a job's live events",
)
async def job_events(
    job_id: str,
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    signer: SignerDep,
    owner: CurrentKey,
) -> StreamingResponse:
    record = await run_in_threadpool(load_job, store, owner, job_id)
    return StreamingResponse(
        _events(request, store, settings, signer, record),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, store: JobStore, settings: Settings, signer: UrlSigner, record: JobRecord
) -> AsyncIterator[str]:
    shown_status: JobStatus | None = None
    shown_progress: dict[str, Any] | None = None
    shown_preview: int | None = None
    quiet_since = time.monotonic()
    while True:
        sent = False
        if record.status is not shown_status:
            job = await run_in_threadpool(present, request, store, settings, signer, record)
            yield _event("status", job)
            shown_status, shown_progress, sent = record.status, job["progress"], True
        else:
            progress = _progress(record)
            if progress != shown_progress:
                yield _event("progress", progress)
                shown_progress, sent = progress, True
        if record.status.finished:
            yield _event("done", job)
            return
        preview = record.preview_iteration
        if preview is not None and preview != shown_preview and record.status is JobStatus.running:
            url = f"{request.scope.get('root_path', '')}/jobs/{record.id}/preview"
            yield _event("preview", {"url": url, "iteration": preview})
            shown_preview, sent = preview, True
        now = time.monotonic()
        if sent:
            quiet_since = now
        elif now - quiet_since >= KEEP_ALIVE:
            yield ": keep-alive\n\n"
            quiet_since = now
        await asyncio.sleep(settings.events_interval)
        if await request.is_disconnected():
            return
        try:
            latest = await run_in_threadpool(store.get, record.id)
        except RedisError:
            return  # the client reconnects (or polls) and gets the state afresh
        if latest is None:
            return  # expired meanwhile
        record = latest


def _progress(record: JobRecord) -> dict[str, Any]:
    return {
        "fraction": record.fraction,
        "stage": record.stage,
        "iteration": record.iteration,
        "total": record.total,
        "losses": record.losses,
    }


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
