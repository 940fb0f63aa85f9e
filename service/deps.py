"""Dependencies of the routes, as ``Annotated`` aliases: ``SettingsDep``, ``RedisDep``,
``StoreDep``, ``SignerDep`` (result URLs) and ``CurrentKey`` (who is calling, for job and
style visibility)."""

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
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


def owner_id(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:24]


CurrentKey = Annotated[str, Depends(current_key)]
