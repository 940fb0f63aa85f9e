"""``/styles``: upload a style once, reuse it by id in ``POST /stylize``.

The id is the sha256 of the bytes, so uploading the same file again gives the same id
(and renews it). Workers cache encoded styles by that hash, so reusing an id also skips
the style encoding.
"""

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from contract.jobs import SHA256_PATTERN
from service.deps import CurrentKey, KeyedRoute, SettingsDep, StoreDep
from service.errors import NotFound
from service.forms import refuse_repeated
from service.schemas import ERROR_RESPONSES, UPLOAD_ERROR_RESPONSES, StyleOut
from service.uploads import check_image, read_upload

router = APIRouter(tags=["styles"], route_class=KeyedRoute)


@router.post(
    "/styles",
    status_code=201,
    response_model=StyleOut,
    responses={200: {"model": StyleOut, "description": "Already uploaded; renewed."}}
    | UPLOAD_ERROR_RESPONSES,
    summary="Upload a style image",
)
async def upload_style(
    request: Request,
    style: Annotated[UploadFile, File(description="The style image.")],
    settings: SettingsDep,
    store: StoreDep,
    owner: CurrentKey,
) -> JSONResponse:
    refuse_repeated(await request.form(), ["style"])
    data = await read_upload(style, "style", settings.max_upload_bytes)
    upload = await run_in_threadpool(
        check_image, data, style.content_type, "style", settings.image_limits
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
        headers={"Location": body.links["self"]},
    )


@router.get(
    "/styles/{style_id}", response_model=StyleOut, responses=ERROR_RESPONSES, summary="A style"
)
def get_style(style_id: str, request: Request, store: StoreDep, owner: CurrentKey) -> StyleOut:
    meta = store.get_style(owner, style_id) if SHA256_PATTERN.match(style_id) else None
    if meta is None:
        raise NotFound("no such style (unknown, or expired)")
    return _style_out(request, style_id, meta)


def _style_out(request: Request, style_id: str, meta: dict) -> StyleOut:
    path = request.scope.get("root_path", "") + request.app.url_path_for(
        "get_style", style_id=style_id
    )
    return StyleOut(id=style_id, links={"self": path}, **meta)
