"""RFC 9457 problem details for every HTTP error, with a `detail` a person can act on."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

import asyncpg
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope, Send

from shared.db import UNAVAILABLE_KINDS, database_unavailable
from shared.messaging.uow import EventTooLarge
from shared.observability.metrics import HTTP_REJECTED

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)
RETRY_AFTER_S = 5


class ProblemFieldError(BaseModel):
    """One entry of a problem's `errors`: which field, and what is wrong with it."""

    field: str = Field(
        description="dotted path of the field (`requester.name`, `tags.1`, `query.limit`; `$` is the body)"
    )
    message: str = Field(description="what is wrong with it, and what would be accepted")


class ProblemDocument(BaseModel):
    """The RFC 9457 document of every error answer (the OpenAPI `Problem` schema); extensions may follow."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field("about:blank", description="a URI naming the kind of problem; `about:blank` for plain HTTP ones")
    title: str = Field(description="the status phrase, or a short summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong with this request, in words a person can act on")
    instance: str = Field(description="the path of the request")
    errors: list[ProblemFieldError] = Field(default_factory=list, description="each invalid field (422 answers)")


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.headers = headers or {}
        self.status = status
        self.detail = detail
        self.title = title or HTTPStatus(status).phrase
        self.type = type_
        self.extra = extra


def problem_response(
    request: Request, status: int, detail: str, *, title: str | None = None, type_: str = "about:blank", **extra: Any
) -> JSONResponse:
    title = title or HTTPStatus(status).phrase
    if 400 <= status < 500:
        HTTP_REJECTED.labels(str(status), title).inc()
    body = {"type": type_, "title": title, "status": status, "detail": detail, "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


async def send_problem(
    scope: Scope,
    send: Send,
    status: int,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> None:
    """Answer from ASGI middleware, before any route runs, with the same document `problem_response` makes."""
    title = title or HTTPStatus(status).phrase
    if 400 <= status < 500:
        HTTP_REJECTED.labels(str(status), title).inc()
    document = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body = json.dumps({**document, "instance": scope.get("path", ""), **extra}).encode()
    raw_headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw_headers += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part not in ("body",)) or "body"


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    response = problem_response(request, exc.status, exc.detail, title=exc.title, type_=exc.type, **exc.extra)
    response.headers.update(exc.headers)
    return response


async def _on_http_exception(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    response = problem_response(request, exc.status_code, detail)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def _on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [_validation_entry(error, exc.body) for error in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return problem_response(request, 422, detail or "request is invalid", title="Invalid request", errors=errors)


def _validation_entry(error: Mapping[str, Any], body: Any) -> dict[str, str]:
    """One entry of `errors`; a JSON syntax error says where (line and column), not FastAPI's offset."""
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid" and isinstance(body, str) and len(loc) == 2 and isinstance(loc[1], int):
        position = loc[1]
        line = body.count("\n", 0, position) + 1
        column = position - (body.rfind("\n", 0, position) + 1) + 1
        reason = (error.get("ctx") or {}).get("error", "not valid JSON")
        return {"field": "$", "message": f"is not valid JSON: {reason} at line {line}, column {column}"}
    return {"field": _field_path(loc), "message": str(error.get("msg", "is invalid"))}


async def _on_database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """Connection refused, dropped, timed out, pool exhausted: the caller should retry, so 503, not 500."""
    if not database_unavailable(exc):
        if (found := _out_of_range(exc)) is not None:
            return _on_out_of_range(request, *found)
        return await _on_unexpected(request, exc)
    log.warning("database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    settings = getattr(request.app.state, "settings", None)
    retry_after = str(getattr(settings, "db_retry_after_s", RETRY_AFTER_S))
    response = problem_response(
        request, 503, f"the database is unavailable; retry in {retry_after} s", title="Service Unavailable"
    )
    response.headers["Retry-After"] = retry_after
    return response


# asyncpg refusing to encode a bound value: "invalid input for query argument $1: 541196590703 (value out of int32 range)"
_OUT_OF_RANGE = re.compile(r"invalid input for query argument \$\d+: (.*) \(value out of int(16|32|64) range\)")


def _out_of_range(exc: BaseException) -> tuple[str, int] | None:
    """The value and integer width of a number too large for its column, if that is what `exc` is."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 8:
        seen.append(current)
        if isinstance(current, asyncpg.exceptions.DataError) and (found := _OUT_OF_RANGE.match(str(current))):
            return found.group(1), int(found.group(2))
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return None


def _on_out_of_range(request: Request, value: str, bits: int) -> JSONResponse:
    """A number a route took unbounded reached a column too small for it: the request's fault, so 422."""
    if value.lstrip().startswith("-"):
        message = f"{value} is too small; the smallest accepted is {-(2 ** (bits - 1))}"
    else:
        message = f"{value} is too large; the largest accepted is {2 ** (bits - 1) - 1}"
    params = {**request.query_params, **request.path_params}
    field = next((name for name, given in params.items() if str(given) == value), "$")
    where = field if field != "$" else "a number in the request"
    return problem_response(
        request, 422, f"{where}: {message}", title="Invalid request", errors=[{"field": field, "message": message}]
    )


async def _on_event_too_large(request: Request, exc: EventTooLarge) -> JSONResponse:
    """A change whose event Kafka could never carry is refused before commit, so nothing stalls the relay."""
    detail = (
        f"the {exc.event_type} event this request makes would be {exc.size} bytes, over the {exc.limit}-byte "
        "limit for one event; shorten the largest fields (custom_fields, body, attachments)"
    )
    return problem_response(request, 413, detail, title="Content Too Large")


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        request, 500, "an unexpected error occurred; it has been logged with this request's trace id"
    )


ExcT = TypeVar("ExcT", bound=Exception)


def _handle(app: FastAPI, kind: type[ExcT], handler: Callable[[Request, ExcT], Awaitable[JSONResponse]]) -> None:
    """Register `handler` for `kind`; Starlette only calls it with that kind, the check says so to mypy."""

    async def handle(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, kind):
            raise exc
        return await handler(request, exc)

    app.add_exception_handler(kind, handle)


def install_problem_handlers(app: FastAPI) -> None:
    _handle(app, Problem, _on_problem)
    _handle(app, StarletteHTTPException, _on_http_exception)
    _handle(app, RequestValidationError, _on_validation_error)
    _handle(app, EventTooLarge, _on_event_too_large)
    for kind in UNAVAILABLE_KINDS:
        _handle(app, kind, _on_database_unavailable)
    _handle(app, Exception, _on_unexpected)
