"""What the API in this checkout offers, read from its OpenAPI schema and its settings
without starting it, so tests of contract additions (/work/API-PLAN.md) that have not
landed yet are skipped with a reason instead of failing, and run once they land."""

from functools import cache

import pytest

from contract.settings import Settings
from service.app import create_app


@cache
def _schema() -> dict:
    return create_app(Settings()).openapi()  # Redis is not contacted to build it


def has_route(method: str, path: str) -> bool:
    return method.lower() in _schema()["paths"].get(path, {})


def has_header(method: str, path: str, header: str) -> bool:
    operation = _schema()["paths"].get(path, {}).get(method.lower(), {})
    return any(
        p.get("in") == "header" and p.get("name", "").lower() == header.lower()
        for p in operation.get("parameters", [])
    )


def has_setting(name: str) -> bool:
    return name in Settings.model_fields


needs_events = pytest.mark.skipif(
    not has_route("GET", "/jobs/{job_id}/events"),
    reason="GET /jobs/{id}/events (live events) is not in this API yet",
)
needs_listing = pytest.mark.skipif(
    not has_route("GET", "/jobs"), reason="GET /jobs (listing) is not in this API yet"
)
needs_idempotency = pytest.mark.skipif(
    not has_header("POST", "/stylize", "Idempotency-Key"),
    reason="POST /stylize takes no Idempotency-Key header in this API yet",
)
needs_fair_share = pytest.mark.skipif(
    not has_setting("max_active_jobs_per_key"),
    reason="STYLIZE_MAX_ACTIVE_JOBS_PER_KEY (fair share) is not in this API yet",
)
