"""The FastAPI app every service builds: lifespan, problem+json, tracing, health, metrics and its docs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import Clock, SystemClock
from shared.messaging.uow import UnitOfWork
from shared.observability.logging import configure_logging
from shared.observability.metrics import HTTP_REQUESTS, HTTP_SECONDS
from shared.runtime import Runtime, ServiceDefinition
from shared.settings import BaseServiceSettings
from shared.tracing import continue_or_start, current_trace
from shared.web.docs import install_docs
from shared.web.guard import InputGuardMiddleware
from shared.web.limits import BodyLimitMiddleware
from shared.web.openapi import ServiceApp
from shared.web.problems import install_problem_handlers, problem_response

log = logging.getLogger(__name__)


def create_service_app(
    definition: ServiceDefinition,
    settings: BaseServiceSettings,
    *,
    routers: Iterable[APIRouter] = (),
    clock: Clock | None = None,
    title: str | None = None,
    body_limits: dict[str, int] | None = None,
) -> FastAPI:
    configure_logging(definition.name, level=settings.log_level, fmt=settings.log_format)
    runtime = Runtime(definition, settings, clock or SystemClock())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    # the docs pages are our own: FastAPI's load Swagger UI from a CDN
    app = ServiceApp(title=title or f"Switchboard {definition.name}", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.state.settings = settings
    install_problem_handlers(app)
    # added innermost first: trace, then the body limit, then the input guard reads the (limited) body
    app.add_middleware(InputGuardMiddleware, max_depth=settings.max_json_depth)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes, overrides=body_limits)
    app.add_middleware(TraceAndMetricsMiddleware)
    install_docs(app)
    app.include_router(_operations_router())
    for router in routers:
        app.include_router(router)
    return app


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_uow(request: Request) -> AsyncIterator[UnitOfWork]:
    """A unit of work for the request; the route commits it (the edge owns the transaction)."""
    async with get_runtime(request).uow() as uow:
        yield uow


class TraceAndMetricsMiddleware:
    """Continues (or starts) the W3C trace, answers with its traceparent, counts and times requests.

    Plain ASGI rather than BaseHTTPMiddleware: it sits on every request, and the plain form costs
    about a millisecond less each.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        trace = continue_or_start((headers.get(b"traceparent") or b"").decode("latin-1") or None)
        token = current_trace.set(trace)
        started = time.perf_counter()
        status = 500

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"traceparent", trace.traceparent().encode())],
                }
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            current_trace.reset(token)
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(scope["method"], path, str(status)).inc()
            HTTP_SECONDS.labels(scope["method"], path).observe(time.perf_counter() - started)


def _operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is up and serving HTTP."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "Database or Kafka unreachable; `checks` says which"}})
    async def readyz(request: Request) -> Response:
        """Database and Kafka both reachable: safe to send traffic."""
        runtime = get_runtime(request)
        checks = await runtime.readiness()
        if all(state == "ok" for state in checks.values()):
            # which service answered: a launcher that finds another one on its port knows it is not ready
            return JSONResponse({"status": "ready", "service": runtime.definition.name, "checks": checks})
        # anyone may call this: it names the failing check; the exception text goes to the log only
        failing = {name: state for name, state in checks.items() if state != "ok"}
        log.warning("not ready: %s", "; ".join(f"{name}: {state}" for name, state in failing.items()))
        public = {name: "ok" if state == "ok" else "unavailable" for name, state in checks.items()}
        return problem_response(request, 503, f"not ready: {', '.join(failing)} unavailable", checks=public)

    @router.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
