"""``POST /stylize`` and ``/jobs``: submit, list, poll, download, cancel."""

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Header, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from contract.job_json import job_out
from contract.jobs import JOB_ID_PATTERN, SHA256_PATTERN, JobRecord, JobStatus, Webhook
from contract.settings import Settings
from contract.signing import UrlSigner
from contract.store import CHUNK, JobStore
from contract.webhooks import WebhookTargetError, check_url, resolve
from models.errors import InvalidParameter
from models.params import check_inputs
from service.deps import CurrentKey, KeyedRoute, SettingsDep, SignerDep, StoreDep, public_base
from service.errors import Conflict, ErrorCode, NotFound
from service.forms import StylizeForm, refuse_repeated
from service.idempotency import REPLAYED, IdempotencyKeyHeader, claim_for
from service.listing import MAX_LIMIT, find_jobs
from service.queueing import cancel_job, enqueue_job, queue_position, wait_for_job
from service.ranges import byte_range
from service.schemas import (
    AUTH,
    BODY,
    EXAMPLE_JOB,
    EXAMPLE_QUEUED,
    LOCATION_HEADER,
    REDIS,
    REPLAYED_HEADER,
    RESULT_ANSWERS,
    JobList,
    JobOut,
    errors,
    json_example,
)
from service.uploads import (
    Upload,
    check_content,
    check_image,
    content_is_video,
    read_content,
    read_upload,
)

router = APIRouter(tags=["jobs"], route_class=KeyedRoute)

PreferHeader = Annotated[
    str | None, Header(description="`wait=N`: answer when done, or after N s (at most 60).")
]

RangeHeader = Annotated[
    str | None,
    Header(alias="Range", description="`bytes=first-last`: a part of the result (206)."),
]

PREFER_WAIT = re.compile(r'(?:^|[,;\s])wait\s*=\s*"?(\d+(?:\.\d+)?)"?', re.IGNORECASE)
NOT_FINISHED = (ErrorCode.job_not_finished, ErrorCode.job_failed, ErrorCode.job_canceled)


@router.post(
    "/stylize",
    operation_id="stylize",
    status_code=202,
    response_model=JobOut,
    responses={
        202: {
            "description": "Queued (or running): poll `Location`.",
            "headers": LOCATION_HEADER | REPLAYED_HEADER,
            "content": json_example(EXAMPLE_QUEUED),
        },
        200: {
            "model": JobOut,
            "description": "Finished within `Prefer: wait`, or an Idempotency-Key's finished job.",
            "headers": LOCATION_HEADER | REPLAYED_HEADER,
            "content": json_example(EXAMPLE_JOB),
        },
    }
    | errors(
        *AUTH,
        *BODY,
        ErrorCode.invalid_mask,
        ErrorCode.invalid_video,
        ErrorCode.video_too_large,
        ErrorCode.idempotency_key_reused,
        ErrorCode.queue_full,
        ErrorCode.too_many_active_jobs,
        *REDIS,
    ),
    summary="Submit a stylization job",
)
async def stylize(
    request: Request,
    form: Annotated[StylizeForm, Form(media_type="multipart/form-data")],
    settings: SettingsDep,
    store: StoreDep,
    signer: SignerDep,
    owner: CurrentKey,
    prefer: PreferHeader = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Answers 202 with the job and a `Location` to poll at once; with `Prefer: wait=N`,
    200 with the finished job if it finishes within N seconds. Everything is checked
    before the job is queued: a worker never sees a bad upload or parameter.

    A video `content` (MP4, MOV, WebM, an animated GIF or WebP) makes a video job: it
    waits in a queue of its own, reports its frames as progress, previews its latest
    frame, and its result is a video (`format`: mp4, webm, webp or gif)."""
    refuse_repeated(await request.form())  # parsed already: FastAPI keeps it
    data = await read_content(
        form.content, "content", settings.max_upload_bytes, settings.max_content_bytes
    )
    try:
        return await _submit(
            request, form, data, settings, store, signer, owner, prefer, idempotency_key
        )
    finally:
        if isinstance(data, Path):  # a video over the image limit, spooled to disk
            data.unlink(missing_ok=True)


async def _submit(
    request: Request,
    form: StylizeForm,
    data: bytes | Path,
    settings: Settings,
    store: JobStore,
    signer: UrlSigner,
    owner: str,
    prefer: str | None,
    idempotency_key: str | None,
) -> JSONResponse:
    video = await run_in_threadpool(content_is_video, data, form.content.content_type)
    params, video_params = form.to_params(settings.max_size, video)
    webhook = await _webhook(form, settings)
    content = await run_in_threadpool(
        check_content,
        data,
        form.content.content_type,
        "content",
        video,
        settings.image_limits,
        settings.video_limits,
    )
    styles, mask = await _read_inputs(form, store, owner, settings)
    check_inputs(
        params, len(styles), (content.width, content.height), mask and (mask.width, mask.height)
    )
    claim = claim_for(
        store.keys,
        owner,
        idempotency_key,
        "job",
        {
            "params": params.model_dump(mode="json"),
            "content": content.sha256,
            "styles": [s if isinstance(s, str) else s.sha256 for s in styles],
            "mask": mask.sha256 if mask else None,
            "webhook": webhook.model_dump(mode="json") if webhook else None,
            "video": video_params.model_dump(mode="json") if video_params else None,
        },
    )
    admission = await run_in_threadpool(
        enqueue_job,
        store,
        settings,
        owner,
        params,
        content,
        styles,
        mask,
        video=video_params,
        webhook=webhook,
        base_url=public_base(request, settings),
        claim=claim,
    )
    headers = REPLAYED if admission.replayed else {}
    return await _respond(
        request, store, settings, signer, admission.record, prefer, submitted=True, headers=headers
    )


@router.get(
    "/jobs",
    operation_id="list_jobs",
    response_model=JobList,
    responses={200: {"content": json_example({"jobs": [EXAMPLE_JOB], "next_cursor": None})}}
    | errors(*AUTH, ErrorCode.invalid_parameter, *REDIS),
    summary="List your jobs, newest first",
)
def list_jobs(
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    signer: SignerDep,
    owner: CurrentKey,
    status: Annotated[JobStatus | None, Query(description="Only jobs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Jobs per page.")] = 20,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the page before.")
    ] = None,
) -> JSONResponse:
    """The calling API key's jobs (never another key's), newest first, a page at a time:
    pass `next_cursor` back as `cursor` until it is null. Jobs are listed until they
    expire."""
    records, next_cursor = find_jobs(store, owner, status, limit, cursor)
    jobs = [present(request, store, settings, signer, record) for record in records]
    return JSONResponse({"jobs": jobs, "next_cursor": next_cursor})


@router.get(
    "/jobs/{job_id}",
    operation_id="get_job",
    response_model=JobOut,
    responses={200: {"content": json_example(EXAMPLE_JOB)}}
    | errors(*AUTH, ErrorCode.not_found, *REDIS),
    summary="Poll a job",
)
async def get_job(
    job_id: str,
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    signer: SignerDep,
    owner: CurrentKey,
    prefer: PreferHeader = None,
) -> JSONResponse:
    record = await run_in_threadpool(load_job, store, owner, job_id)
    return await _respond(request, store, settings, signer, record, prefer, submitted=False)


@router.get(
    "/jobs/{job_id}/result",
    operation_id="get_result",
    response_class=Response,
    responses=RESULT_ANSWERS
    | errors(*AUTH, ErrorCode.not_found, *NOT_FINISHED, ErrorCode.range_not_satisfiable, *REDIS),
    summary="Download the stylized image or video",
)
def get_result(
    job_id: str,
    store: StoreDep,
    owner: CurrentKey,
    if_none_match: Annotated[str | None, Header()] = None,
    range_header: RangeHeader = None,
) -> Response:
    """The image or video, once the job has succeeded (or a canceled job's partial
    result: a Gatys job's best image, a video's frames so far); 409 before. Cacheable:
    it never changes, and it expires with the job. `Range: bytes=a-b` gets a part (206)."""
    record = load_job(store, owner, job_id)
    return serve_result(store, record, if_none_match, "private", range_header)


@router.get(
    "/jobs/{job_id}/preview",
    operation_id="get_preview",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}}}}
    | errors(*AUTH, ErrorCode.not_found, *REDIS),
    summary="Latest progress preview (gatys; a video's latest frame)",
)
def get_preview(job_id: str, store: StoreDep, owner: CurrentKey) -> Response:
    load_job(store, owner, job_id)
    data = store.get_preview(job_id)
    if data is None:
        raise NotFound("no preview yet (gatys and video jobs send previews)")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.delete(
    "/jobs/{job_id}",
    operation_id="cancel_job",
    response_model=JobOut,
    responses={
        200: {"description": "Canceled.", "content": json_example(EXAMPLE_QUEUED)},
        202: {"model": JobOut, "description": "Running: will stop shortly."},
    }
    | errors(*AUTH, ErrorCode.not_found, ErrorCode.job_finished, *REDIS),
    summary="Cancel a job",
)
def delete_job(
    job_id: str,
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    signer: SignerDep,
    owner: CurrentKey,
) -> JSONResponse:
    """A queued job is canceled at once (200). A running job stops at the next cascade
    level, Gatys iteration or video frame (202; poll it). A finished job cannot be
    canceled (409)."""
    record = cancel_job(store, settings, load_job(store, owner, job_id))
    status = 200 if record.status.finished else 202
    return JSONResponse(present(request, store, settings, signer, record), status_code=status)


# --- shared with the other routes ---------------------------------------------------------


def load_job(store: JobStore, owner: str, job_id: str) -> JobRecord:
    """The job if it exists and ``owner`` created it; 404 alike otherwise, so a job id
    does not reveal whether another key's job exists."""
    record = store.get(job_id) if JOB_ID_PATTERN.match(job_id) else None
    if record is None or record.owner != owner:
        raise NotFound("no such job (unknown, or expired)")
    return record


def present(
    request: Request, store: JobStore, settings: Settings, signer: UrlSigner, record: JobRecord
) -> dict:
    """The job's JSON as this request sees it (links under its root path and host)."""
    out = job_out(
        record,
        root_path=request.scope.get("root_path", ""),
        base_url=public_base(request, settings),
        signer=signer,
        queue_position=queue_position(store, record),
        cancel_requested=not record.status.finished and store.cancel_requested(record.id),
    )
    return out.model_dump(mode="json")


def serve_result(
    store: JobStore,
    record: JobRecord,
    if_none_match: str | None,
    cache: str,
    range_header: str | None = None,
) -> Response:
    """The result with its ETag (304 when the client has it), whole or the byte range
    asked for (206; ``service.ranges``); ``cache`` is ``private`` (behind the API key)
    or ``public`` (signed URLs, for CDNs). A result larger than a Redis chunk (a video)
    streams from Redis a chunk at a time, never whole in this process."""
    if record.result is None:
        raise _no_result(record)
    stored = store.result_size(record.id)
    if stored is None:
        raise NotFound("the result has expired")
    size, ttl = stored
    etag = f'"{record.result.etag}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"{cache}, max-age={ttl}, immutable",
        "Content-Disposition": f'inline; filename="{record.id}.{record.spec.output_format}"',
        "Accept-Ranges": "bytes",
    }
    if if_none_match and etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    span = byte_range(range_header, size)
    first, last = span or (0, size - 1)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    media_type = record.result.content_type
    if last - first < CHUNK:
        data = b"".join(store.read_result(record.id, first, last))
        return Response(data, status_code=status, media_type=media_type, headers=headers)
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(
        store.read_result(record.id, first, last),
        status_code=status,
        media_type=media_type,
        headers=headers,
    )


# --- helpers ------------------------------------------------------------------------------


async def _webhook(form: StylizeForm, settings: Settings) -> Webhook | None:
    """The job's webhook, if asked for: a URL this server will call (https, a public
    address unless the operator allows others) and the events it wants."""
    events = form.webhook_events_wanted()
    if form.webhook is None:
        return None
    if not settings.webhook_secret:
        raise InvalidParameter(
            "this server has no STYLIZE_WEBHOOK_SECRET, so it sends no webhooks; poll the "
            "job or follow its events instead",
            field="webhook",
        )
    try:
        parts = check_url(form.webhook, allow_http=settings.webhook_allow_http)
        await run_in_threadpool(resolve, parts, allow_private=settings.webhook_allow_private)
    except WebhookTargetError as refused:
        raise InvalidParameter(str(refused), field="webhook") from None
    return Webhook(url=form.webhook, events=events)


async def _read_inputs(
    form: StylizeForm, store: JobStore, owner: str, settings: Settings
) -> tuple[list[Upload | str], Upload | None]:
    """The checked styles (uploads, or ids of this owner's styles) and mask."""
    if form.style and form.style_id:
        raise InvalidParameter(
            "give `style` files or `style_id` values, not both", field="style_id"
        )
    files, ids = form.style or [], form.style_id or []
    styles: list[Upload | str] = [
        await _image(file, _nth("style", i, len(files)), settings) for i, file in enumerate(files)
    ]
    for i, style_id in enumerate(ids):
        styles.append(await _owned_style(store, owner, style_id, _nth("style_id", i, len(ids))))
    mask = await _image(form.mask, "mask", settings) if form.mask else None
    return styles, mask


async def _image(file: UploadFile, field: str, settings: Settings) -> Upload:
    data = await read_upload(file, field, settings.max_upload_bytes)
    return await run_in_threadpool(
        check_image, data, file.content_type, field, settings.image_limits
    )


async def _owned_style(store: JobStore, owner: str, style_id: str, field: str) -> str:
    if not SHA256_PATTERN.match(style_id) or not await run_in_threadpool(
        store.get_style, owner, style_id
    ):
        raise InvalidParameter(
            f"unknown style id {style_id[:80]!r}: upload it with POST /styles "
            "(ids expire when unused)",
            field=field,
        )
    return style_id


def _nth(field: str, index: int, count: int) -> str:
    return f"{field}[{index}]" if count > 1 else field


def _no_result(record: JobRecord) -> Conflict:
    if record.status is JobStatus.failed:
        return Conflict("the job failed; see its error", code="job_failed")
    if record.status is JobStatus.canceled:
        return Conflict("the job was canceled before it had a result", code="job_canceled")
    return Conflict(
        f"the job is {record.status.value}; poll GET /jobs/{record.id} until it has succeeded",
        code="job_not_finished",
    )


async def _respond(
    request: Request,
    store: JobStore,
    settings: Settings,
    signer: UrlSigner,
    record: JobRecord,
    prefer: str | None,
    *,
    submitted: bool,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = dict(headers or {})
    wait = _wait_preference(prefer, settings.max_wait)
    if wait is not None:
        record = await wait_for_job(store, record, wait)
        headers["Preference-Applied"] = f"wait={wait:g}"
    body = await run_in_threadpool(present, request, store, settings, signer, record)
    if submitted:
        headers["Location"] = body["links"]["self"]
    status = 202 if submitted and not record.status.finished else 200
    return JSONResponse(body, status_code=status, headers=headers)


def _wait_preference(prefer: str | None, cap: float) -> float | None:
    match = PREFER_WAIT.search(prefer or "")
    return min(float(match.group(1)), cap) if match else None
