"""`/v1/escalations`: list, read (with history), acknowledge, resolve; and manual escalation of a ticket."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.escalation.adapters.escalations import EscalationRepository
from services.escalation.domain.levels import Escalation
from services.escalation.handlers import escalations as lifecycle
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_runtime, get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["escalations"], dependencies=[reject_unknown_query()])
State = Literal["open", "acknowledged", "resolved"]


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


class ManualIn(ReasonIn):
    policy_id: str | None = Field(None, max_length=100, description="default: the first policy with a manual trigger")
    level: int = Field(1, ge=1, le=20, description="start at this level (its actions fire at once)")


def _out(escalation: Escalation, history: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in escalation.__dict__.items()
    }
    if history is not None:
        body["history"] = [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in h.items() if k != "escalation_id"}
            for h in history
        ]
    return body


def _who(principal: Principal) -> str:
    return principal.agent_id or principal.name


def _now(request: Request) -> datetime:
    return get_runtime(request).clock.now()


def _cursor(escalation: Escalation) -> str:
    return base64.urlsafe_b64encode(f"{escalation.opened_at.isoformat()}|{escalation.id}".encode()).decode()


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        opened, _, escalation_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(opened), escalation_id
    except (ValueError, UnicodeDecodeError):
        raise Problem(
            422,
            "cursor: not a cursor this API returned",
            title="Invalid request",
            errors=[{"field": "cursor", "message": "not a cursor this API returned"}],
        ) from None


@router.get("/escalations")
async def list_escalations(
    state: State | None = None,
    ticket_id: str | None = Query(None, max_length=200),
    policy_id: str | None = Query(None, max_length=100),
    level: int | None = Query(None, ge=0, le=20),
    cursor: str | None = Query(None, max_length=500),
    limit: int = Query(50, ge=1, le=200),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("agent", "manager")),
) -> dict[str, Any]:
    """Newest first; every filter given must match; follow `next_cursor` for the next page."""
    filters = {"state": state, "ticket_id": ticket_id, "policy_id": policy_id, "level": level}
    found = await EscalationRepository(uow.session).list_escalations(
        filters=filters, after=_after(cursor), limit=limit + 1
    )
    page, more = found[:limit], len(found) > limit
    return {"items": [_out(e) for e in page], "next_cursor": _cursor(page[-1]) if more else None}


@router.get("/escalations/{escalation_id}")
async def get_escalation(
    escalation_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> dict[str, Any]:
    repo = EscalationRepository(uow.session)
    escalation = await repo.escalation(escalation_id)
    if escalation is None:
        raise Problem(404, f"no escalation {escalation_id!r}")
    return _out(escalation, (await repo.history([escalation.id]))[escalation.id])


@router.get("/tickets/{ticket_id}/escalations")
async def ticket_escalations(
    ticket_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> list[dict[str, Any]]:
    """Every escalation the ticket ever had, newest first, each with its full history."""
    repo = EscalationRepository(uow.session)
    found = await repo.list_escalations(filters={"ticket_id": ticket_id}, after=None, limit=1000)
    history = await repo.history([e.id for e in found])
    return [_out(e, history[e.id]) for e in found]


@router.post("/escalations/{escalation_id}/acknowledge")
async def acknowledge(
    escalation_id: str,
    body: ReasonIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> dict[str, Any]:
    """Take it on: no further level fires. 409 unless it is open."""
    return await _change(uow, lifecycle.acknowledge, escalation_id, body.reason, principal, _now(request))


@router.post("/escalations/{escalation_id}/resolve")
async def resolve(
    escalation_id: str,
    body: ReasonIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> dict[str, Any]:
    """End it. 409 if it is resolved already."""
    return await _change(uow, lifecycle.resolve, escalation_id, body.reason, principal, _now(request))


async def _change(uow: UnitOfWork, change: Any, escalation_id: str, reason: str, who: Principal, now: datetime) -> dict:
    try:
        escalation = await change(uow, escalation_id, by=_who(who), reason=reason, now=now)
    except lifecycle.NotFound:
        raise Problem(404, f"no escalation {escalation_id!r}") from None
    except lifecycle.Conflict as exc:
        raise Problem(409, str(exc)) from None
    await uow.commit()
    return _out(escalation)


@router.post("/tickets/{ticket_id}/escalations", status_code=201)
async def escalate_ticket(
    ticket_id: str,
    body: ManualIn,
    request: Request,
    response: Response,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("agent", "manager")),
) -> dict[str, Any]:
    """Escalate by hand; 201 with a new escalation, 200 when it folds into (or raises) the open one."""
    repo = EscalationRepository(uow.session)
    if body.policy_id:
        policy = await repo.policy(body.policy_id)
        if policy is None:
            raise _invalid("policy_id", f"no escalation policy {body.policy_id!r}")
    else:
        policy = next((p for p in await repo.policies() if any(t.kind == "manual" for t in p.triggers)), None)
        if policy is None:
            raise _invalid("policy_id", "is required: no policy has a manual trigger to default to")
    if body.level > len(policy.levels):
        raise _invalid("level", f"is {body.level}; policy {policy.id!r} has {len(policy.levels)} level(s)")
    outcome = await lifecycle.escalate_by_hand(
        uow, ticket_id, policy, by=_who(principal), reason=body.reason, level=body.level, now=_now(request)
    )
    await uow.commit()
    if not outcome.opened:
        response.status_code = 200
    return _out(outcome.escalation)


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, f"{field}: {message}", title="Invalid request", errors=[{"field": field, "message": message}])
