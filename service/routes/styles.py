"""``/styles``: upload a style once, reuse it by id in ``POST /stylize``.

The id is the sha256 of the bytes, so uploading the same file again gives the same id
(and renews it). Workers cache encoded styles by that hash, so reusing an id also skips
the style encoding. An ``Idempotency-Key`` adds one thing: the same key with another
image is refused (422) rather than taken as a new upload.
"""

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from contract.jobs import SHA256_PATTERN
from contract.store import JobStore
from service.deps import CurrentKey, KeyedRoute, SettingsDep, StoreDep
from service.errors import ErrorCode, NotFound
from service.forms import refuse_repeated
from service.idempotency import (
    REPLAYED,
    Claim,
    IdempotencyKeyHeader,
    claim_for,
    remember,
    remembered,
)
from service.schemas import (
    AUTH,
    BODY,
    EXAMPLE_STYLE,
    LOCATION_HEADER,
    REDIS,
    REPLAYED_HEADER,
    StyleOut,
    errors,
    json_example,
)
from service.uploads import check_image, read_upload

router = APIRouter(tags=["styles"], route_class=KeyedRoute)


@router.post(
    "/styles",
    operation_id="upload_style",
    status_code=201,
    response_model=StyleOut,
    responses={
        201: {
            "description": "Uploaded.",
            "headers": LOCATION_HEADER | REPLAYED_HEADER,
            "content": json_example(EXAMPLE_STYLE),
        },
        200: {
            "model": StyleOut,
            "description": "Already uploaded (renewed), or an Idempotency-Key's earlier style.",
            "headers": LOCATION_HEADER | REPLAYED_HEADER,
        },
    }
    | errors(*AUTH, *BODY, ErrorCode.idempotency_key_reused, *REDIS),
    summary="Upload a style image",
)
async def upload_style(
    request: Request,
    style: Annotated[UploadFile, File(description="The style image.")],
    settings: SettingsDep,
    store: StoreDep,
    owner: CurrentKey,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    refuse_repeated(await request.form(), ["style"])
    data = await read_upload(style, "style", settings.max_upload_bytes)
    upload = await run_in_threadpool(
        check_image, data, style.content_type, "style", settings.image_limits
    )
    claim = claim_for(store.keys, owner, idempotency_key, "style", {"sha256": upload.sha256})
    replayed = claim is not None and not await run_in_threadpool(
        _claim, store, claim, upload.sha256, settings.style_ttl
    )
    existed = await run_in_threadpool(store.get_style, owner, upload.sha256)
    meta = {
        "format": upload.format,
        "width": upload.width,
        "height": upload.height,
        "bytes": len(upload.data),
    }
    await run_in_threadpool(
        store.put_style, owner, upload.sha256, upload.data, meta, settings.style_ttl
    )
    body = _style_out(request, upload.sha256, {**meta, "expires_in": settings.style_ttl})
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=200 if existed else 201,
        headers={"Location": body.links["self"], **(REPLAYED if replayed else {})},
    )


@router.get(
    "/styles/{style_id}",
    operation_id="get_style",
    response_model=StyleOut,
    responses={200: {"content": json_example(EXAMPLE_STYLE)}}
    | errors(*AUTH, ErrorCode.not_found, *REDIS),
    summary="A style",
)
def get_style(style_id: str, request: Request, store: StoreDep, owner: CurrentKey) -> StyleOut:
    meta = store.get_style(owner, style_id) if SHA256_PATTERN.match(style_id) else None
    if meta is None:
        raise NotFound("no such style (unknown, or expired)")
    return _style_out(request, style_id, meta)


def _claim(store: JobStore, claim: Claim, sha256: str, ttl: int) -> bool:
    """Claim the key for this style: True if it is new, False if it came with this same
    style before (a replay); 422 if it came with another. Styles are stored by their hash,
    so storing one again is harmless: a replay renews it like a second upload would."""
    with store.redis.pipeline(transaction=False) as pipe:
        remember(pipe, claim, sha256, ttl, nx=True)
        pipe.get(claim.key)
        created, current = pipe.execute()
    if created:
        return True
    remembered(current, claim)
    return False


def _style_out(request: Request, style_id: str, meta: dict) -> StyleOut:
    path = request.scope.get("root_path", "") + request.app.url_path_for(
        "get_style", style_id=style_id
    )
    return StyleOut(id=style_id, links={"self": path}, **meta)
