"""RFC 9457 problem details for every HTTP error, with a `detail` a person can act on."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any, TypeVar

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.observability.metrics import HTTP_REJECTED

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


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
    errors = [{"field": _field_path(tuple(e["loc"])), "message": e["msg"]} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem_response(request, 422, detail or "request is invalid", title="Invalid request", errors=errors)


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
    _handle(app, Exception, _on_unexpected)
