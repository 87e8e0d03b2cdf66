"""Small request helpers the ingest routes share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from services.ingest.adapters.repository import DeliveryLog
from services.ingest.settings import IngestSettings, as_ingest_settings
from shared.clock import Clock
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_runtime
from shared.web.problems import Problem


def settings_of(request: Request) -> IngestSettings:
    return as_ingest_settings(request.app.state.settings)


def clock_of(request: Request) -> Clock:
    return get_runtime(request).clock


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` without reading it all into memory first."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Problem(413, f"body of {declared} bytes is over the {limit}-byte limit", title="Payload Too Large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, f"body is over the {limit}-byte limit", title="Payload Too Large")
        chunks.append(chunk)
    return b"".join(chunks)


async def once(
    uow: UnitOfWork,
    clock: Clock,
    scope: str,
    delivery_id: str | None,
    work: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
) -> JSONResponse:
    """Run `work` and commit, unless this delivery id was answered before: then replay that answer.

    The answer is stored in the same transaction as the work, so a crash leaves neither.
    """
    log = DeliveryLog(uow.session)

    async def replay() -> JSONResponse | None:
        earlier = await log.find(scope, delivery_id) if delivery_id else None
        return (
            JSONResponse(earlier[1], status_code=earlier[0], headers={"Idempotent-Replayed": "true"})
            if earlier
            else None
        )

    if (answered := await replay()) is not None:
        return answered
    status, body = await work()
    if delivery_id and not await log.claim(scope, delivery_id, status, body, clock.now()):
        await uow.rollback()  # a concurrent retry won the race: answer what it answered
        answered = await replay()
        assert answered is not None
        return answered
    await uow.commit()
    return JSONResponse(body, status_code=status)
