"""The OpenAPI schema, finished for clients generated from it.

FastAPI writes most of it from the routes (operation ids, per-route errors, headers and
examples are declared there). Two things depend on more than the routes:

- FastAPI documents a 422 ``HTTPValidationError`` on every route with parameters. Our
  validation errors have the usual error shape and are declared where they can happen,
  so those entries (and their components) go;
- the largest ``size`` / ``style_size`` is this server's ``STYLIZE_MAX_SIZE``.
"""

from typing import Any

from fastapi import FastAPI

from contract.settings import Settings

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def install_schema(app: FastAPI, settings: Settings) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            _drop_fastapi_validation_errors(schema)
            _server_bounds(schema, settings)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_fastapi_validation_errors(schema: dict[str, Any]) -> None:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("422", {})
            content = response.get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref") == _FASTAPI_422:
                del operation["responses"]["422"]
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def _server_bounds(schema: dict[str, Any], settings: Settings) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for name, component in components.items():
        if not name.startswith("StylizeForm"):
            continue
        for field in ("size", "style_size"):
            for option in component.get("properties", {}).get(field, {}).get("anyOf", []):
                if "maximum" in option:
                    option["maximum"] = settings.max_size
