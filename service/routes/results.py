"""``GET /results/{id}``: a job's result through its signed URL, without the API key.

The URL comes in the job's JSON (``links.result_url``, ``contract.signing``); it can be an
``<img src>`` or ``<video src>`` in a page (byte ranges work), or go through a CDN (the answer is ``Cache-Control: public``).
A URL whose id, expiry or signature was changed is 403 ``invalid_signature``; one past
its expiry is 403 ``url_expired``. The bearer-key route ``/jobs/{id}/result`` stays.
"""

import time
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from contract.jobs import JOB_ID_PATTERN
from contract.signing import Check
from service.deps import SignerDep, StoreDep
from service.errors import ErrorCode, Forbidden, NotFound
from service.routes.jobs import RangeHeader, serve_result
from service.schemas import REDIS, RESULT_ANSWERS, errors

router = APIRouter(tags=["jobs"])

MAX_EXPIRES_DIGITS = 12


@router.get(
    "/results/{job_id}",
    operation_id="get_signed_result",
    response_class=Response,
    responses=RESULT_ANSWERS
    | errors(
        ErrorCode.invalid_signature,
        ErrorCode.url_expired,
        ErrorCode.not_found,
        ErrorCode.range_not_satisfiable,
        *REDIS,
    ),
    summary="Download a result through its signed URL (no API key)",
)
def get_signed_result(
    job_id: str,
    store: StoreDep,
    signer: SignerDep,
    expires: Annotated[str | None, Query(description="Unix time the URL expires.")] = None,
    signature: Annotated[str | None, Query(description="HMAC-SHA256 of the id and expiry.")] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    range_header: RangeHeader = None,
) -> Response:
    well_formed = (
        JOB_ID_PATTERN.match(job_id)
        and expires is not None
        and expires.isascii()
        and expires.isdigit()
        and len(expires) <= MAX_EXPIRES_DIGITS
        and signature
    )
    check = signer.check(job_id, int(expires), signature, time.time()) if well_formed else None
    if check in (None, Check.invalid):
        raise Forbidden(
            "the signature does not match this URL: use links.result_url exactly as it came",
            field="signature",
        )
    if check is Check.expired:
        raise Forbidden(
            "this URL has expired (so has the job); results are kept for the job TTL",
            code="url_expired",
            field="expires",
        )
    record = store.get(job_id)
    if record is None or record.result is None:
        raise NotFound("no such result (expired)")
    return serve_result(store, record, if_none_match, "public", range_header)
