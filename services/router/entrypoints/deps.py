"""What every router route needs from the request: the runtime's clock, settings, the caller's agent, error mapping."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import Request

from services.router.domain.agent_actions import NotFound, RoutingConflict
from services.router.settings import RouterSettings
from shared.auth import Principal
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


@contextmanager
def routing_problems() -> Iterator[None]:
    """An agent action's refusal as the HTTP problem the caller sees."""
    try:
        yield
    except NotFound as exc:
        raise Problem(404, f"no such ticket or agent: {exc}") from None
    except RoutingConflict as exc:
        raise Problem(409, str(exc)) from None
