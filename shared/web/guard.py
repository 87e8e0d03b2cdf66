"""ASGI middleware applying `shared.web.input` to every request before a route sees it.

It checks the path and query string (percent-decoded) of HTTP and WebSocket requests, and
the body of POST/PUT/PATCH requests that carry JSON: a JSON media type (`application/json`,
`*+json`) or, whatever the declared type, a body starting with `{` or `[` (webhook senders
label their bodies loosely). The app receives the body byte for byte as sent, since
webhook signatures are verified over the raw bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.web.input import MAX_DEPTH, InputError, parse_json, unsafe_text
from shared.web.problems import send_problem

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp, *, max_depth: int = MAX_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        error = target_error(scope)
        if error is not None:
            await _refuse(scope, send, error)
            return
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body, pending = await _read_body(receive)
        error = self._body_error(scope, body)
        if error is not None:
            await _refuse(scope, send, error)
            return
        await self.app(scope, _replay(body, pending, receive), send)

    def _body_error(self, scope: Scope, body: bytes) -> InputError | None:
        declared = _is_json_type(scope)
        if not (declared or body.lstrip()[:1] in (b"{", b"[")) or not body.strip():
            return None
        try:
            parse_json(body, max_depth=self.max_depth)
        except InputError as exc:
            # a body that only looks like JSON but is not, under another media type, is the route's to judge
            return exc if declared or not exc.syntax else None
        return None


def target_error(scope: Scope) -> InputError | None:
    """A path parameter or query parameter that PostgreSQL could not store, named."""
    if problem := unsafe_text(scope.get("path", "")):
        return InputError(_path_parameter(scope), problem)
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if problem := unsafe_text(name):
            return InputError("query", f"has a parameter name that {problem}")
        if problem := unsafe_text(value):
            return InputError(name, problem)
    return None


def _path_parameter(scope: Scope) -> str:
    """Which path parameter of a route the path fits holds the bad character (`path` if none does)."""
    path = scope.get("path", "")
    for pattern in _path_patterns(getattr(scope.get("app"), "router", None)):
        found = pattern.match(path)
        if found is None:
            continue
        for name, value in found.groupdict().items():
            if value and unsafe_text(value):
                return name
    return "path"


def _path_patterns(router: Any) -> Iterator[re.Pattern[str]]:
    """The compiled path of every route; FastAPI keeps included routers' routes (with their prefix) apart."""
    for route in getattr(router, "routes", ()):
        if hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                if isinstance(getattr(context, "path_regex", None), re.Pattern):
                    yield context.path_regex
        elif isinstance(getattr(route, "path_regex", None), re.Pattern):
            yield route.path_regex


def _is_json_type(scope: Scope) -> bool:
    for name, value in scope.get("headers") or ():
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return bool(media == b"application/json" or media.endswith(b"+json"))
    return False


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, and the non-body message (a disconnect) that ended it early, if one did."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, pending: Message | None, receive: Receive) -> Receive:
    queue: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if pending is not None:
        queue = [pending]  # the client went away mid-body: the app learns that, not a truncated body

    async def replayed() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replayed


async def _refuse(scope: Scope, send: Send, error: InputError) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": _clip(f"{error.field}: {error.message}")})
        return
    await send_problem(
        scope,
        send,
        422,
        f"{error.field}: {error.message}",
        title="Invalid request",
        errors=[{"field": error.field, "message": error.message}],
    )


def _clip(reason: str) -> str:
    return reason.encode()[:120].decode(errors="ignore")  # a close reason may be at most 123 bytes
