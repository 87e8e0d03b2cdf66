"""Small request helpers the ingest routes share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
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


def invalid_fields(problems: Iterable[tuple[str, str]]) -> Problem:
    """The 422 for (field, message) pairs a payload reader or a bound found, listed as a schema's own 422 is."""
    listed = list(problems)
    return Problem(
        422,
        "; ".join(f"{field}: {message}" for field, message in listed),
        title="Invalid request",
        errors=[{"field": field, "message": message} for field, message in listed],
    )


REPLAYED = {"Idempotent-Replayed": "true"}


async def once(
    uow: UnitOfWork,
    clock: Clock,
    scope: str,
    delivery_id: str | None,
    work: Callable[[], Awaitable[tuple[int, dict[str, Any]]]],
    *,
    also_known_as: Sequence[str] = (),
) -> JSONResponse:
    """Run `work` and commit, unless this delivery was answered before: then replay that answer.

    A delivery may be known by more than its id (`also_known_as`: a webhook's signed content);
    an answer stored under any of them is replayed, and the new answer is stored under all.
    The answer is stored in the same transaction as the work, so a crash leaves neither.
    """
    log = DeliveryLog(uow.session)
    keys = [*([delivery_id] if delivery_id else []), *also_known_as]

    async def replay() -> JSONResponse | None:
        earlier = await log.find_any(scope, keys)
        return JSONResponse(earlier[1], status_code=earlier[0], headers=REPLAYED) if earlier else None

    if (answered := await replay()) is not None:
        return answered
    status, body = await work()
    if not await log.claim_all(scope, keys, status, body, clock.now()):
        await uow.rollback()  # a concurrent request under one of these keys won the race: answer what it answered
        answered = await replay()
        assert answered is not None
        return answered
    await uow.commit()
    return JSONResponse(body, status_code=status)
