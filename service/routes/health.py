"""``/healthz`` (the process answers), ``/readyz`` (it can do work), ``/metrics``."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError

from service.deps import MetricsReader, RedisDep, SettingsDep
from service.errors import ErrorCode
from service.queueing import count_live_workers, queue_depths
from service.schemas import Readiness, errors, json_example

READY = {"status": "ready", "redis": True, "workers": 2, "queues": {"fast": 0, "slow": 1}}

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    operation_id="healthz",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
    summary="The API process is up",
)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    operation_id="readyz",
    response_model=Readiness,
    responses={
        200: {"content": json_example(READY)},
        503: {
            "model": Readiness,
            "description": "Redis down or no live worker.",
            "content": json_example(
                {"status": "unavailable", "redis": True, "workers": 0, "queues": {"fast": 3}}
            ),
        },
    },
    summary="Redis reachable and at least one live worker",
)
def readyz(redis: RedisDep, settings: SettingsDep) -> JSONResponse:
    try:
        redis.ping()
        workers = count_live_workers(redis, settings.keys)
        queues = queue_depths(redis, settings.keys)
        reachable = True
    except RedisError:
        workers, queues, reachable = 0, {}, False
    ready = reachable and workers > 0
    body = Readiness(
        status="ready" if ready else "unavailable", redis=reachable, workers=workers, queues=queues
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    operation_id="metrics",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": 'stylize_queue_depth{queue="fast"} 0.0\n',
                }
            }
        }
    }
    | errors(ErrorCode.unauthorized),
    dependencies=[MetricsReader],
    summary="Prometheus metrics (STYLIZE_METRICS_TOKEN, or an API key when keys are set)",
)
def metrics(request: Request) -> Response:
    return Response(
        request.app.state.metrics.render(),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )
