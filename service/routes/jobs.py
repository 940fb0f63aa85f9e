"""``POST /stylize`` and ``/jobs/{id}``: submit, poll, download, cancel."""

import re
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from contract.jobs import JOB_ID_PATTERN, SHA256_PATTERN, JobRecord, JobStatus
from contract.settings import Settings
from contract.store import JobStore
from models.errors import InvalidParameter
from models.params import check_inputs
from service.deps import CurrentKey, KeyedRoute, SettingsDep, StoreDep
from service.errors import Conflict, NotFound
from service.forms import StylizeForm, refuse_repeated
from service.queueing import cancel_job, enqueue_job, queue_position, wait_for_job
from service.schemas import ERROR_RESPONSES, UPLOAD_ERROR_RESPONSES, JobLinks, JobOut, job_out
from service.uploads import Upload, check_image, read_upload

router = APIRouter(tags=["jobs"], route_class=KeyedRoute)

PreferHeader = Annotated[
    str | None, Header(description="`wait=N`: answer when done, or after N s (at most 60).")
]

PREFER_WAIT = re.compile(r'(?:^|[,;\s])wait\s*=\s*"?(\d+(?:\.\d+)?)"?', re.IGNORECASE)


@router.post(
    "/stylize",
    status_code=202,
    response_model=JobOut,
    responses={200: {"model": JobOut, "description": "Finished within `Prefer: wait`."}}
    | UPLOAD_ERROR_RESPONSES,
    summary="Submit a stylization job",
)
async def stylize(
    request: Request,
    form: Annotated[StylizeForm, Form(media_type="multipart/form-data")],
    settings: SettingsDep,
    store: StoreDep,
    owner: CurrentKey,
    prefer: PreferHeader = None,
) -> JSONResponse:
    """Answers 202 with the job and a `Location` to poll at once; with `Prefer: wait=N`,
    200 with the finished job if it finishes within N seconds. Everything is checked
    before the job is queued: a worker never sees a bad upload or parameter."""
    refuse_repeated(await request.form())  # parsed already: FastAPI keeps it
    params = form.to_params(settings.max_size)
    content, styles, mask = await _read_inputs(form, store, owner, settings)
    check_inputs(
        params, len(styles), (content.width, content.height), mask and (mask.width, mask.height)
    )
    record = await run_in_threadpool(
        enqueue_job, store, settings, owner, params, content, styles, mask
    )
    return await _respond(request, store, settings, record, prefer, submitted=True)


@router.get(
    "/jobs/{job_id}", response_model=JobOut, responses=ERROR_RESPONSES, summary="Poll a job"
)
async def get_job(
    job_id: str,
    request: Request,
    settings: SettingsDep,
    store: StoreDep,
    owner: CurrentKey,
    prefer: PreferHeader = None,
) -> JSONResponse:
    record = await run_in_threadpool(_load, store, owner, job_id)
    return await _respond(request, store, settings, record, prefer, submitted=False)


@router.get(
    "/jobs/{job_id}/result",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}}
    | ERROR_RESPONSES,
    summary="Download the stylized image",
)
def get_result(
    job_id: str,
    store: StoreDep,
    owner: CurrentKey,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The image, once the job has succeeded (or a canceled Gatys job's best image so
    far); 409 before. Cacheable: it never changes, and it expires with the job."""
    record = _load(store, owner, job_id)
    if record.result is None:
        raise _no_result(record)
    stored = store.get_result(job_id)
    if stored is None:
        raise NotFound("the result has expired")
    data, ttl = stored
    etag = f'"{record.result.etag}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"private, max-age={ttl}, immutable",
        "Content-Disposition": f'inline; filename="{job_id}.{record.spec.params.format}"',
    }
    if if_none_match and etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=record.result.content_type, headers=headers)


@router.get(
    "/jobs/{job_id}/preview",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}} | ERROR_RESPONSES,
    summary="Latest progress preview (gatys)",
)
def get_preview(job_id: str, store: StoreDep, owner: CurrentKey) -> Response:
    _load(store, owner, job_id)
    data = store.get_preview(job_id)
    if data is None:
        raise NotFound("no preview yet (only gatys jobs send previews)")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.delete(
    "/jobs/{job_id}",
    response_model=JobOut,
    responses={202: {"model": JobOut, "description": "Running: will stop shortly."}}
    | ERROR_RESPONSES,
    summary="Cancel a job",
)
def delete_job(job_id: str, request: Request, store: StoreDep, owner: CurrentKey) -> JSONResponse:
    """A queued job is canceled at once (200). A running job stops at the next cascade
    level or Gatys iteration (202; poll it). A finished job cannot be canceled (409)."""
    record = cancel_job(store, _load(store, owner, job_id))
    status = 200 if record.status.finished else 202
    return JSONResponse(_present(request, store, record), status_code=status)


# --- helpers ------------------------------------------------------------------------------


async def _read_inputs(
    form: StylizeForm, store: JobStore, owner: str, settings: Settings
) -> tuple[Upload, list[Upload | str], Upload | None]:
    """The checked content, styles (uploads, or ids of this owner's styles) and mask."""
    if form.style and form.style_id:
        raise InvalidParameter(
            "give `style` files or `style_id` values, not both", field="style_id"
        )
    content = await _image(form.content, "content", settings)
    files, ids = form.style or [], form.style_id or []
    styles: list[Upload | str] = [
        await _image(file, _nth("style", i, len(files)), settings) for i, file in enumerate(files)
    ]
    for i, style_id in enumerate(ids):
        styles.append(await _owned_style(store, owner, style_id, _nth("style_id", i, len(ids))))
    mask = await _image(form.mask, "mask", settings) if form.mask else None
    return content, styles, mask


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


def _load(store: JobStore, owner: str, job_id: str) -> JobRecord:
    """The job if it exists and ``owner`` created it; 404 alike otherwise, so a job id
    does not reveal whether another key's job exists."""
    record = store.get(job_id) if JOB_ID_PATTERN.match(job_id) else None
    if record is None or record.owner != owner:
        raise NotFound("no such job (unknown, or expired)")
    return record


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
    record: JobRecord,
    prefer: str | None,
    *,
    submitted: bool,
) -> JSONResponse:
    headers = {}
    wait = _wait_preference(prefer, settings.max_wait)
    if wait is not None:
        record = await wait_for_job(store, record, wait)
        headers["Preference-Applied"] = f"wait={wait:g}"
    body = await run_in_threadpool(_present, request, store, record)
    if submitted:
        headers["Location"] = body["links"]["self"]
    status = 202 if submitted and not record.status.finished else 200
    return JSONResponse(body, status_code=status, headers=headers)


def _wait_preference(prefer: str | None, cap: float) -> float | None:
    match = PREFER_WAIT.search(prefer or "")
    return min(float(match.group(1)), cap) if match else None


def _present(request: Request, store: JobStore, record: JobRecord) -> dict:
    def path(name: str) -> str:
        return request.scope.get("root_path", "") + request.app.url_path_for(name, job_id=record.id)

    running = record.status is JobStatus.running
    links = JobLinks(
        self=path("get_job"),
        result=path("get_result") if record.result else None,
        preview=path("get_preview") if running and record.method == "gatys" else None,
        cancel=None if record.status.finished else path("delete_job"),
    )
    out = job_out(
        record,
        links,
        queue_position=queue_position(store, record),
        cancel_requested=not record.status.finished and store.cancel_requested(record.id),
    )
    return out.model_dump(mode="json")
