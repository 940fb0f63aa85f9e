"""The OpenAPI schema is one clients can be generated from, and the API keeps to it.

The schema is validated against the OpenAPI 3.1 meta-schema and read for what
generators need (operation ids, bounds, binary bodies, error codes, headers, examples).
Then a bounded property-based fuzz (schemathesis, about 80 requests per operation, some
1,000 in all) sends generated requests to the app on the real Redis and checks every
answer: no 5xx, a documented status, content type and headers, and a body that matches
its schema.
"""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contract.settings import Settings
from service.app import create_app
from service.errors import ErrorCode
from tests.support.webhooks import SECRET

OPERATIONS = {
    "stylize",
    "get_job",
    "list_jobs",
    "get_result",
    "get_signed_result",
    "get_preview",
    "cancel_job",
    "job_events",
    "upload_style",
    "get_style",
    "healthz",
    "readyz",
    "metrics",
}
PLANNED_CODES = [
    "invalid_multipart",
    "unauthorized",
    "invalid_signature",
    "url_expired",
    "not_found",
    "method_not_allowed",
    "request_timeout",
    "job_finished",
    "job_failed",
    "job_canceled",
    "job_not_finished",
    "payload_too_large",
    "unsupported_media_type",
    "invalid_parameter",
    "invalid_image",
    "image_too_large",
    "invalid_mask",
    "invalid_video",
    "video_too_large",
    "range_not_satisfiable",
    "idempotency_key_reused",
    "queue_full",
    "too_many_active_jobs",
    "internal_error",
    "unavailable",
    "weights_missing",
    "weights_corrupt",
]
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
EXAMPLES_PER_OPERATION = 50  # per mode


@pytest.fixture(scope="module")
def openapi():
    return create_app(Settings(max_size=1024)).openapi()


def operations(openapi) -> dict[str, dict]:
    return {op["operationId"]: op for ops in openapi["paths"].values() for op in ops.values()}


def test_the_schema_is_valid_openapi(openapi):
    schemathesis.openapi.from_dict(openapi).validate()


def test_every_operation_has_a_readable_id_and_an_example(openapi):
    found = operations(openapi)

    assert set(found) == OPERATIONS
    for name, operation in found.items():
        examples = [
            content
            for response in operation["responses"].values()
            for content in response.get("content", {}).values()
            if "example" in content or "examples" in content
        ]
        assert examples, f"{name} has no example"


def test_the_error_code_is_an_enum_of_every_planned_code(openapi):
    enum = openapi["components"]["schemas"]["ErrorCode"]["enum"]

    assert set(PLANNED_CODES) <= set(enum) == {code.value for code in ErrorCode}


def test_each_route_declares_only_its_own_errors(openapi):
    found = operations(openapi)

    assert set(found["healthz"]["responses"]) == {"200"}
    assert "403" in found["get_signed_result"]["responses"]
    assert "403" not in found["get_result"]["responses"]
    assert "401" not in found["get_signed_result"]["responses"]
    assert "429" in found["stylize"]["responses"] and "429" not in found["get_job"]["responses"]
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    assert "422" not in found["get_job"]["responses"]
    assert "416" in found["get_result"]["responses"] and "206" in found["get_result"]["responses"]


def test_bounded_fields_carry_their_bounds_and_images_are_binary(openapi):
    form = openapi["components"]["schemas"]["StylizeForm"]["properties"]

    def bounds(prop: dict) -> tuple:
        schema = next((o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"), {})
        return (
            schema.get("minimum", schema.get("exclusiveMinimum")),
            schema.get("maximum", schema.get("exclusiveMaximum")),
        )

    assert bounds(form["alpha"]) == (0, 1)
    assert bounds(form["size"]) == (1, 1024)  # this server's STYLIZE_MAX_SIZE
    assert bounds(form["quality"]) == (1, 100)
    assert bounds(form["gatys.iterations"]) == (1, 2000)
    assert bounds(form["gatys.max_seconds"]) == (0, 3600)
    limit = next(p for p in operations(openapi)["list_jobs"]["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 100)
    result = operations(openapi)["get_result"]["responses"]["200"]
    assert result["content"]["image/png"]["schema"] == {"type": "string", "format": "binary"}
    assert "ETag" in result["headers"]


def test_headers_are_documented(openapi):
    found = operations(openapi)

    assert "Location" in found["stylize"]["responses"]["202"]["headers"]
    assert "Retry-After" in found["stylize"]["responses"]["429"]["headers"]
    assert "Retry-After" in found["stylize"]["responses"]["503"]["headers"]
    idempotency = [p for p in found["stylize"]["parameters"] if p["name"] == "Idempotency-Key"]
    assert idempotency and idempotency[0]["in"] == "header"


# --- the fuzz ---------------------------------------------------------------------------


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_generated_requests_get_no_5xx_and_answers_that_keep_to_the_schema(make_api, prefix):
    """On a prefix of its own (no worker: jobs stay queued), webhooks on, no waiting
    (``Prefer: wait`` answers at once)."""
    api = make_api(key_prefix=prefix, max_wait=0, webhook_secret=SECRET, max_queue_depth=1000)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    sent: dict[str, int] = {}

    for result, mode in itertools.product(schema.get_all_operations(), MODES):
        operation = result.ok()

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def send(case) -> None:
            label = case.operation.label
            sent[label] = sent.get(label, 0) + 1
            # Without a worker /readyz answers its documented 503; only its shape is checked.
            checks = CHECKS[1:] if label == "GET /readyz" else CHECKS
            case.call_and_validate(checks=checks)

        try:
            send()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # no parameter to make invalid

    print(f"fuzz: {sum(sent.values())} requests: {sent}")
    assert set(sent) == {
        f"{m.upper()} {p}" for p, ops in api.client.app.openapi()["paths"].items() for m in ops
    }
