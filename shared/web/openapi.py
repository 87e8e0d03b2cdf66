"""The OpenAPI document every service serves: how to send the API key, and every error as problem+json.

FastAPI writes the document from the routes; `complete` then adds what is the same on every
service, so no route has to declare it:

- the three API-key schemes (`shared.auth.web`) in `components.securitySchemes`. Routes that
  `require(...)` a role already list them, with the roles allowed; every other `/v1` operation
  lists them as optional (`{}` among the alternatives): those routes authenticate some callers
  and not others (a webhook source may sign its requests instead);
- the error answers each `/v1` operation can give (401, 403, 404, 409 on writes, 413 on bodies,
  422, 503), as `application/problem+json` with the shared `Problem` schema, in place of
  FastAPI's `HTTPValidationError`. A response a route declares itself keeps its description.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from shared.auth.web import KEY_SCHEMES
from shared.web.problems import PROBLEM_JSON, ProblemDocument

API_PREFIX = "/v1"
PROBLEM_REF = "#/components/schemas/Problem"
_OPERATION_KEYS = frozenset({"get", "put", "post", "delete", "patch", "options", "head", "trace"})
_WRITES = frozenset({"post", "put", "patch", "delete"})
_BODIES = frozenset({"post", "put", "patch"})
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")

ERRORS: dict[int, str] = {
    401: "No API key was sent, or it is unknown or revoked",
    403: "The key's role may not do this",
    404: "No such resource",
    409: "The request conflicts with the current state (a duplicate, or a change made meanwhile)",
    413: "The body (or the event it would make) is over the size limit",
    422: "The request is invalid; `errors` names each field and what is wrong with it",
    503: "The database is unavailable; retry after `Retry-After` seconds",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "the scheme to answer with (`Bearer`, or `Basic` for webhook senders)",
            "schema": {"type": "string"},
        }
    },
    503: {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}},
}


class ServiceApp(FastAPI):
    """FastAPI whose document is `complete`d once per generation (FastAPI caches it until routes change)."""

    _completed: dict[str, Any] | None = None

    def openapi(self) -> dict[str, Any]:
        document = super().openapi()
        if document is not self._completed:
            complete(document)
            self._completed = document
        return document


def complete(document: dict[str, Any]) -> None:
    """Add the key schemes, the Problem schema and the error answers to a generated document, in place."""
    components = document.setdefault("components", {})
    schemes = components.setdefault("securitySchemes", {})
    for scheme in KEY_SCHEMES:
        schemes.setdefault(scheme.scheme_name, scheme.model.model_dump(by_alias=True, exclude_none=True, mode="json"))
    schemas = components.setdefault("schemas", {})
    schemas.update(problem_schemas())
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _OPERATION_KEYS:
                continue
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                _secure(operation)
                _document_errors(operation, _statuses(method))
            else:
                _document_errors(operation, ())
    _drop_unreferenced(document, _FASTAPI_ERROR_SCHEMAS)


def problem_schemas() -> dict[str, Any]:
    """`Problem` and the schemas it refers to, keyed by their component names."""
    schema = ProblemDocument.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions: dict[str, Any] = schema.pop("$defs", {})
    return {"Problem": schema, **definitions}


def _statuses(method: str) -> list[int]:
    return [
        status for status in ERRORS if (status != 409 or method in _WRITES) and (status != 413 or method in _BODIES)
    ]


def _secure(operation: dict[str, Any]) -> None:
    """Optional key schemes where the route checks no role; the roles a `require`d route allows, said in words."""
    security: list[dict[str, list[str]]] | None = operation.get("security")
    if not security:
        operation["security"] = [{scheme.scheme_name: []} for scheme in KEY_SCHEMES] + [{}]
        return
    roles = next((scopes for requirement in security for scopes in requirement.values() if scopes), [])
    if roles:
        said = f"Needs an API key with the role {' or '.join(f'`{role}`' for role in roles)}."
        operation["description"] = f"{operation['description']}\n\n{said}" if operation.get("description") else said


def _document_errors(operation: dict[str, Any], statuses: Iterable[int]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status in statuses:
        response = responses.setdefault(str(status), {})
        if status in _HEADERS:
            response.setdefault("headers", _HEADERS[status])
    for code, response in responses.items():
        if not (code.isdigit() and int(code) >= 400):
            continue
        status = int(code)
        content = response.get("content")
        replaced = bool(content) and _is_fastapi_validation(content)
        if content and not replaced:
            continue  # the route documents this answer itself
        if replaced or not response.get("description"):
            response["description"] = ERRORS.get(status) or _phrase(status)
        response["content"] = {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _is_fastapi_validation(content: dict[str, Any]) -> bool:
    schema = content.get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == "#/components/schemas/HTTPValidationError")


def _drop_unreferenced(document: dict[str, Any], names: Iterable[str]) -> None:
    """Remove FastAPI's own error schemas once nothing refers to them."""
    schemas = document["components"]["schemas"]
    for name in names:
        if name in schemas:
            rest = {key: value for key, value in schemas.items() if key != name}
            text = json.dumps([document.get("paths", {}), document.get("webhooks", {}), rest])
            if f'"#/components/schemas/{name}"' not in text:
                del schemas[name]
