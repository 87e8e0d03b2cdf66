"""`/v1/escalation-policies`: policies are data, validated on save and kept as versions.

The body's shape is checked here; what it means (known queues, trigger kinds, delays, notify
targets) by `domain.policy.validate`, whose every problem becomes an entry of the 422's
`errors` naming its field. Notify secrets are write-only: answers say `secret_set` instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from services.escalation.adapters.codec import policy_from_json
from services.escalation.adapters.escalations import EscalationRepository
from services.escalation.domain.policy import Action, Level, Policy, Trigger, validate
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_runtime, get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(
    prefix="/v1/escalation-policies", tags=["escalation policies"], dependencies=[reject_unknown_query()]
)
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"
Words = list[str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerIn(Strict):
    kind: str = Field(
        max_length=50,
        description="sla_warning, sla_breached, reopened, unassigned_wait, keywords, vip, tier, bad_csat, manual",
    )
    metrics: Words = Field([], max_length=4, description="sla_*: only these metrics (none: any)")
    times: int = Field(1, le=1000, description="reopened: at least this many reopens")
    wait_s: int = Field(0, description="unassigned_wait: seconds waiting unassigned")
    keywords: list[str] = Field([], max_length=100, description="keywords: whole words or phrases, any case")
    tiers: list[str] = Field([], max_length=50, description="tier: customer tiers")


class ActionIn(Strict):
    type: str = Field(max_length=50, description="raise_priority, move_to_queue, assign_agent, add_tags, notify")
    priority: str | None = Field(None, max_length=20)
    queue: str | None = Field(None, max_length=100)
    agent_id: str | None = Field(None, max_length=200)
    tags: list[str] = Field([], max_length=100)
    channel: str | None = Field(None, max_length=20, description="notify: webhook, slack or email")
    target: str | None = Field(None, max_length=2000, description="notify: the URL, or the email address")
    secret: str | None = Field(None, max_length=500, description="notify webhook: signing secret (write-only)")


class LevelIn(Strict):
    delay_s: int = Field(0, description="seconds after the step before (opening, or the previous level)")
    actions: list[ActionIn] = Field(max_length=20)


class PolicyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    enabled: bool = True
    triggers: list[TriggerIn] = Field(max_length=20)
    levels: list[LevelIn]

    def to_domain(self, policy_id: str) -> Policy:
        return Policy(
            id=policy_id,
            name=self.name,
            description=self.description,
            enabled=self.enabled,
            triggers=tuple(
                Trigger(**{**t.model_dump(), **{k: tuple(getattr(t, k)) for k in ("metrics", "keywords", "tiers")}})
                for t in self.triggers
            ),
            levels=tuple(
                Level(lv.delay_s, tuple(Action(**{**a.model_dump(), "tags": tuple(a.tags)}) for a in lv.actions))
                for lv in self.levels
            ),
        )


class PolicyCreate(PolicyIn):
    id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)


def policy_out(policy: Policy) -> dict[str, Any]:
    def action(a: Action) -> dict[str, Any]:
        shown = {**a.describe(), "tags": list(a.tags)}
        return {**shown, "secret_set": a.secret is not None} if a.type == "notify" else shown

    return {
        "id": policy.id,
        "version": policy.version,
        "name": policy.name,
        "description": policy.description,
        "enabled": policy.enabled,
        "triggers": [
            {**t.__dict__, "metrics": list(t.metrics), "keywords": list(t.keywords), "tiers": list(t.tiers)}
            for t in policy.triggers
        ],
        "levels": [{"delay_s": lv.delay_s, "actions": [action(a) for a in lv.actions]} for lv in policy.levels],
    }


def _now(request: Request) -> datetime:
    return get_runtime(request).clock.now()


@router.get("")
async def list_policies(
    uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager", "agent"))
) -> list[dict[str, Any]]:
    return [policy_out(p) for p in await EscalationRepository(uow.session).policies()]


@router.get("/{policy_id}")
async def get_policy(
    policy_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager", "agent"))
) -> dict[str, Any]:
    policy = await EscalationRepository(uow.session).policy(policy_id)
    if policy is None:
        raise Problem(404, f"no escalation policy {policy_id!r}")
    return policy_out(policy)


@router.get("/{policy_id}/versions")
async def policy_versions(
    policy_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> list[dict[str, Any]]:
    """Every saved version, oldest first (a delete is a version too); escalations name the one they run."""
    rows = await EscalationRepository(uow.session).policy_versions(policy_id)
    if not rows:
        raise Problem(404, f"no escalation policy {policy_id!r}")
    return [
        {
            **policy_out(policy_from_json(policy_id, r["version"], r["definition"])),
            "deleted": r["deleted"],
            "saved_at": r["saved_at"].isoformat(),
            "saved_by": r["saved_by"],
        }
        for r in rows
    ]


@router.put("/{policy_id}", tags=["admin"])
async def put_policy(
    request: Request,
    body: PolicyIn,
    policy_id: str = Path(min_length=1, max_length=100, pattern=ID_PATTERN),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require()),
) -> dict[str, Any]:
    """Create or replace the policy; saved as its next version once it validates."""
    return await _save(uow, body.to_domain(policy_id), principal, _now(request))


@router.post("", status_code=201, tags=["admin"])
async def create_policy(
    request: Request, body: PolicyCreate, uow: UnitOfWork = Depends(get_uow), principal: Principal = Depends(require())
) -> dict[str, Any]:
    """Create a policy with the `id` given; 409 if that id is taken (PUT replaces)."""
    if await EscalationRepository(uow.session).policy(body.id) is not None:
        raise Problem(409, f"escalation policy {body.id!r} exists; PUT /v1/escalation-policies/{body.id} replaces it")
    return await _save(uow, body.to_domain(body.id), principal, _now(request))


@router.delete("/{policy_id}", status_code=204, tags=["admin"])
async def delete_policy(
    policy_id: str, request: Request, uow: UnitOfWork = Depends(get_uow), principal: Principal = Depends(require())
) -> None:
    """No new escalations under it; open ones run on under the version that opened them."""
    repo = EscalationRepository(uow.session)
    policy = await repo.policy(policy_id)
    if policy is None:
        raise Problem(404, f"no escalation policy {policy_id!r}")
    await repo.save_policy(policy, by=principal.name, now=_now(request), deleted=True)
    await uow.commit()


async def _save(uow: UnitOfWork, policy: Policy, principal: Principal, now: datetime) -> dict[str, Any]:
    repo = EscalationRepository(uow.session)
    problems = validate(policy, await repo.known_queue_names())
    if problems:
        errors = [{"field": p.field, "message": p.message} for p in problems]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        raise Problem(422, detail, title="Invalid request", errors=errors)
    version = await repo.save_policy(policy, by=principal.name, now=now)
    await uow.commit()
    return policy_out(Policy(**{**policy.__dict__, "version": version}))
