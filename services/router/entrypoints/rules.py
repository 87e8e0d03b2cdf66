"""Routes for routing rules: the current set, editing it whole or one rule at a time, its versions, dry runs.

Every edit makes a draft (`domain.rule_edits`), which is validated against the existing queues and
kept as a new version; a rule set that does not validate is refused whole, with every problem listed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from services.router.adapters.codec import to_json
from services.router.adapters.repository import RoutingRepository
from services.router.domain import rule_edits
from services.router.domain.model import RuleSet
from services.router.domain.rules import match_rules, validate_ruleset
from services.router.entrypoints.deps import default_queue, now
from services.router.entrypoints.schemas import NAME_PATTERN, OneRuleIn, RuleSetIn, RuleSetOut, RuleTestIn
from services.router.handlers.tickets import current_rules
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["routing"], dependencies=[reject_unknown_query()])


def _ruleset_out(ruleset: RuleSet) -> RuleSetOut:
    return RuleSetOut(version=ruleset.version, rules=to_json(list(ruleset.rules)), default=to_json(ruleset.default))


async def _validated(repo: RoutingRepository, draft: RuleSet) -> RuleSet:
    problems = validate_ruleset(draft, set(await repo.queue_names()))
    if problems:
        raise Problem(422, "; ".join(problems[:10]), title="Invalid rules", errors=[{"message": p} for p in problems])
    return draft


async def _save(uow: UnitOfWork, draft: RuleSet, principal: Principal, request: Request) -> RuleSetOut:
    repo = RoutingRepository(uow.session)
    version = await repo.save_ruleset(await _validated(repo, draft), principal.name, now(request))
    await uow.commit()
    return _ruleset_out(rule_edits.saved_as(draft, version))


@router.get("/rules", response_model=RuleSetOut)
async def get_rules(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> RuleSetOut:
    return _ruleset_out(await current_rules(RoutingRepository(uow.session), default_queue(request)))


@router.put("/rules", response_model=RuleSetOut, tags=["admin"])
async def put_rules(
    body: RuleSetIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("admin")),
) -> RuleSetOut:
    """Replace the rule set (ordered; first match wins; then the default). Validated, and kept as a new version."""
    return await _save(uow, body.to_domain(), principal, request)


@router.put("/rules/{rule_id}", response_model=RuleSetOut, tags=["admin"])
async def put_rule(
    rule_id: Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN)],
    body: OneRuleIn,
    request: Request,
    position: int | None = Query(None, ge=0),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("admin")),
) -> RuleSetOut:
    """Add or replace one rule (in place, or at `position`, 0 = first); the whole set is validated and versioned."""
    if body.id is not None and body.id != rule_id:
        raise Problem(
            422,
            f"id: {body.id!r} does not match the path's {rule_id!r}",
            title="Invalid request",
            errors=[{"field": "id", "message": f"must be {rule_id!r} (the path's) or left out"}],
        )
    rule = body.with_id(rule_id).to_domain()
    current = await current_rules(RoutingRepository(uow.session), default_queue(request))
    return await _save(uow, rule_edits.with_rule(current, rule, position), principal, request)


@router.delete("/rules/{rule_id}", response_model=RuleSetOut, tags=["admin"])
async def delete_rule(
    rule_id: str, request: Request, uow: UnitOfWork = Depends(get_uow), principal: Principal = Depends(require("admin"))
) -> RuleSetOut:
    current = await current_rules(RoutingRepository(uow.session), default_queue(request))
    draft = rule_edits.without_rule(current, rule_id)
    if draft is None:
        raise Problem(404, f"no rule {rule_id!r}")
    return await _save(uow, draft, principal, request)


@router.get("/rules/versions")
async def rule_versions(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))) -> list[dict]:
    return await RoutingRepository(uow.session).ruleset_history()


@router.get("/rules/versions/{version}", response_model=RuleSetOut)
async def rule_version(
    version: int = Path(ge=1, le=2**31 - 1),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("manager")),
) -> RuleSetOut:
    row = await RoutingRepository(uow.session).ruleset_version(version)
    if row is None:
        raise Problem(404, f"no rule set version {version}")
    return RuleSetOut(version=row["version"], rules=row["rules"], default=row["default_actions"])


@router.post("/rules:test")
async def test_rules(
    body: RuleTestIn, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
) -> dict:
    """Dry-run: which rule matches this sample ticket, what it does, and why each earlier rule did not match."""
    repo = RoutingRepository(uow.session)
    if body.ruleset:
        ruleset = await _validated(repo, body.ruleset.to_domain())
    else:
        ruleset = await current_rules(repo, default_queue(request))
    match = match_rules(ruleset, body.ticket.to_facts())
    return {
        "rule_id": match.rule_id,
        "actions": to_json(match.actions),
        "explanation": match.explanation,
        "trace": to_json(list(match.trace)),
        "ruleset_version": ruleset.version,
    }
