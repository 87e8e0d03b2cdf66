"""What every router route needs from the request: the runtime's clock, settings, the caller's agent, error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated

from fastapi import Path, Request

from services.router.adapters.repository import RoutingRepository
from services.router.domain.agent_actions import NotFound, RoutingConflict
from services.router.settings import RouterSettings
from shared.auth import Principal
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_runtime
from shared.web.problems import Problem


def now(request: Request) -> datetime:
    return get_runtime(request).clock.now()


def default_queue(request: Request) -> str:
    settings: RouterSettings = request.app.state.settings
    return settings.default_queue


def agent_of(principal: Principal) -> str:
    if not principal.agent_id:
        raise Problem(403, "this needs an agent key (one bound to an agent_id)", title="Forbidden")
    return principal.agent_id


# every route naming a ticket takes either; `ticket_id_of` resolves them
TicketKey = Annotated[str, Path(description="the ticket's id, or its human reference (`SB-1088`)")]


async def ticket_id_of(uow: UnitOfWork, key: str) -> str:
    """The id of the routed ticket `key` names by id or by reference; a 404 naming the field if neither."""
    ticket_id = await RoutingRepository(uow.session).ticket_id_of(key)
    if ticket_id is None:
        message = f"no routed ticket with id or reference {key!r}"
        raise Problem(404, f"ticket_id: {message}", errors=[{"field": "path.ticket_id", "message": message}])
    return ticket_id


@contextmanager
def routing_problems() -> Iterator[None]:
    """An agent action's refusal as the HTTP problem the caller sees."""
    try:
        yield
    except NotFound as exc:
        raise Problem(404, f"no such ticket or agent: {exc}") from None
    except RoutingConflict as exc:
        raise Problem(409, str(exc)) from None
