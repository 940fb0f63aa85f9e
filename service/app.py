"""The FastAPI application: ``create_app(settings)`` wires settings, Redis, routes,
error handlers and middleware. Run it with ``stylize up`` or
``uvicorn service.app:create_app --factory``.

A request flows: middleware (CORS, metrics, body limits) → route (``routes/``) → checks
(``forms.py``, ``uploads.py``) → ``queueing.enqueue_job`` → Redis. Workers take it from
there (``workers/``). Nothing here imports torch.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from contract.settings import Settings, connect_redis
from contract.signing import UrlSigner
from contract.store import JobStore
from service.errors import install_error_handlers
from service.metrics import Metrics
from service.middleware import BodyLimits, RequestMetrics
from service.openapi import install_schema
from service.routes import events, health, jobs, page, results, styles

DESCRIPTION = """\
Arbitrary style transfer (AdaIN, WCT, Gatys) as a job queue.

1. `POST /stylize` with a `content` image and one or more `style` images (or `style_id`s
   from `POST /styles`). The answer is at once: 202 with the job and a `Location`.
2. Poll `GET /jobs/{id}` (or send `Prefer: wait=N` to wait up to N seconds), follow its
   live events (`GET /jobs/{id}/events`), or give a `webhook` to be called.
3. `GET /jobs/{id}/result` when it has `succeeded`, or the signed `links.result_url`
   without the key.

`Idempotency-Key` makes a retried submission safe; `GET /jobs` lists your jobs.

A page at `/` does the same in a browser.

Errors are always `{"error": {"code", "message", "field"}}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    redis = connect_redis(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        redis.close()

    app = FastAPI(
        title="stylize",
        version=_version(),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.redis = redis
    app.state.store = JobStore(redis, settings.keys)
    app.state.metrics = Metrics(redis, settings.keys)
    app.state.signer = UrlSigner(redis, settings.keys, settings.url_secret)

    install_error_handlers(app)
    for module in (jobs, events, results, styles, health, page):
        app.include_router(module.router)
    page.mount_static(app)
    install_schema(app, settings)

    # Added innermost first: CORS wraps everything, so even a 413 or 401 carries its headers.
    app.add_middleware(BodyLimits, max_bytes=settings.request_limit, timeout=settings.body_timeout)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "Prefer",
                "If-None-Match",
                "Idempotency-Key",
                "Last-Event-ID",
                "Cache-Control",
            ],
            expose_headers=[
                "Location",
                "ETag",
                "Retry-After",
                "Preference-Applied",
                "Idempotent-Replayed",
            ],
            max_age=600,
        )
    return app


def _version() -> str:
    try:
        return version("stylize")
    except PackageNotFoundError:
        return "dev"
