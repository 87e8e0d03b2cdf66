"""Request bodies over the limit get a 413 problem before the app reads them whole.

One limit for every route (`MAX_REQUEST_BYTES`), raised for the path prefixes that need more
(ingest's raw-email routes). Both the declared Content-Length and the bytes actually streamed
are checked, so a chunked upload cannot slip past.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.web.problems import send_problem


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, limit: int, overrides: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = limit
        self.overrides = dict(overrides or {})

    def _limit_for(self, path: str) -> int:
        return max((v for prefix, v in self.overrides.items() if path.startswith(prefix)), default=self.limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope.get("path", ""))
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await _reject(scope, send, f"body of {int(declared)} bytes is over the {limit}-byte limit")
            return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _reject(scope, send, f"body is over the {limit}-byte limit")


async def _reject(scope: Scope, send: Send, detail: str) -> None:
    await send_problem(scope, send, 413, detail)
