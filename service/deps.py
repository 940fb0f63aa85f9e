"""Dependencies of the routes, as ``Annotated`` aliases: ``SettingsDep``, ``RedisDep``,
``StoreDep``, ``SignerDep`` (result URLs) and ``CurrentKey`` (who is calling, for job and
style visibility); and ``KeyedRoute``, the route class of the routers whose routes need a
key."""

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from redis import Redis

from contract.settings import Settings
from contract.signing import UrlSigner
from contract.store import JobStore
from service.errors import Unauthorized

ANONYMOUS = "anonymous"


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_redis(request: Request) -> Redis:
    return request.app.state.redis


def get_store(request: Request) -> JobStore:
    return request.app.state.store


def get_signer(request: Request) -> UrlSigner:
    return request.app.state.signer


SettingsDep = Annotated[Settings, Depends(get_settings)]
RedisDep = Annotated[Redis, Depends(get_redis)]
StoreDep = Annotated[JobStore, Depends(get_store)]
SignerDep = Annotated[UrlSigner, Depends(get_signer)]


def public_base(request: Request, settings: Settings) -> str:
    """The API's base URL for absolute links: ``STYLIZE_PUBLIC_URL``, else the request's
    own (scheme, host and root path, as the client reached us)."""
    return (settings.public_url or str(request.base_url)).rstrip("/")


_bearer = HTTPBearer(
    auto_error=False,
    description="Required when the server sets STYLIZE_API_KEYS. "
    "Jobs and styles are visible only to the key that created them.",
)


def current_key(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The caller's owner id: a hash of its API key (keys themselves are never stored),
    or ``anonymous`` when the server has no keys configured."""
    if not settings.api_keys:
        return ANONYMOUS
    if credentials is None:
        raise Unauthorized("send `Authorization: Bearer <key>`")
    given = credentials.credentials.encode()
    for key in settings.api_keys:
        if hmac.compare_digest(given, key.encode()):
            return owner_id(key)
    raise Unauthorized("unknown API key")


def metrics_reader(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Who may read ``/metrics``: the holder of ``STYLIZE_METRICS_TOKEN`` when it is set
    (a scraper needs no client key); otherwise whoever may call the API (anyone when no
    keys are configured)."""
    if not settings.metrics_token:
        current_key(settings, credentials)
        return
    given = credentials.credentials.encode() if credentials else b""
    if not hmac.compare_digest(given, settings.metrics_token.encode()):
        raise Unauthorized("send `Authorization: Bearer <STYLIZE_METRICS_TOKEN>`")


MetricsReader = Depends(metrics_reader)


class KeyedRoute(APIRoute):
    """A route that needs a key: the key is checked from the headers before the body is
    read, so an upload without a valid key costs the server nothing. (FastAPI reads a
    form body before it solves dependencies, ``CurrentKey`` included.) The connection is
    then closed rather than drained of the unread body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                current_key(get_settings(request), await _bearer(request))
            except Unauthorized as refused:
                refused.headers["Connection"] = "close"
                raise
            return await handler(request)

        return checked


def owner_id(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:24]


CurrentKey = Annotated[str, Depends(current_key)]
