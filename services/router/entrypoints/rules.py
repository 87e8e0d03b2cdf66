"""Routes for routing rules: the current set, editing it whole or one rule at a time, its versions, dry runs."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from services.router.adapters.codec import to_json
from services.router.adapters.repository import RoutingRepository
from services.router.domain.model import RuleSet
from services.router.domain.rules import match_rules, validate_ruleset
from services.router.entrypoints.deps import default_queue, now
from services.router.entrypoints.schemas import RuleIn, RuleSetIn, RuleSetOut, RuleTestIn
from services.router.handlers.tickets import current_rules
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem

router = APIRouter(prefix="/v1", tags=["routing"])


def _ruleset_out(ruleset: RuleSet) -> RuleSetOut:
    return RuleSetOut(version=ruleset.version, rules=to_json(list(ruleset.rules)), default=to_json(ruleset.default))


@router.get("/rules", response_model=RuleSetOut)
async def get_rules(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("agent", "manager"))
) -> RuleSetOut:
    return _ruleset_out(await current_rules(RoutingRepository(uow.session), default_queue(request)))


def _from_body(body: RuleSetIn) -> RuleSet:
    return RuleSet(version=0, rules=tuple(r.to_domain() for r in body.rules), default=body.default.to_domain())


async def _validated(repo: RoutingRepository, ruleset: RuleSet) -> RuleSet:
    problems = validate_ruleset(ruleset, {q.name for q in await repo.all_queues()})
    if problems:
        raise Problem(422, "; ".join(problems[:10]), title="Invalid rules", errors=[{"message": p} for p in problems])
    return ruleset


@router.put("/rules", response_model=RuleSetOut, tags=["admin"])
async def put_rules(
    body: RuleSetIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("admin")),
) -> RuleSetOut:
    """Replace the rule set (ordered; first match wins; then the default). Validated, and kept as a new version."""
    return await _save_rules(RoutingRepository(uow.session), _from_body(body), principal, request, uow)


async def _save_rules(
    repo: RoutingRepository, ruleset: RuleSet, principal: Principal, request: Request, uow: UnitOfWork
) -> RuleSetOut:
    version = await repo.save_ruleset(await _validated(repo, ruleset), principal.name, now(request))
    await uow.commit()
    return _ruleset_out(RuleSet(version=version, rules=ruleset.rules, default=ruleset.default))


@router.put("/rules/{rule_id}", response_model=RuleSetOut, tags=["admin"])
async def put_rule(
    rule_id: str,
    body: RuleIn,
    request: Request,
    position: int | None = Query(None, ge=0),
    uow: UnitOfWork = Depends(get_uow),
    principal: Principal = Depends(require("admin")),
) -> RuleSetOut:
    """Add or replace one rule (in place, or at `position`, 0 = first); the whole set is validated and versioned."""
    if body.id != rule_id:
        raise Problem(422, f"id: {body.id!r} does not match the path's {rule_id!r}", title="Invalid request")
    repo = RoutingRepository(uow.session)
    current = await current_rules(repo, default_queue(request))
    rules = list(current.rules)
    at = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
    if at is not None:
        rules.pop(at)
    index = position if position is not None else (at if at is not None else len(rules))
    rules.insert(min(index, len(rules)), body.to_domain())
    return await _save_rules(
        repo, RuleSet(version=0, rules=tuple(rules), default=current.default), principal, request, uow
    )


@router.delete("/rules/{rule_id}", response_model=RuleSetOut, tags=["admin"])
async def delete_rule(
    rule_id: str, request: Request, uow: UnitOfWork = Depends(get_uow), principal: Principal = Depends(require("admin"))
) -> RuleSetOut:
    repo = RoutingRepository(uow.session)
    current = await current_rules(repo, default_queue(request))
    rules = tuple(r for r in current.rules if r.id != rule_id)
    if len(rules) == len(current.rules):
        raise Problem(404, f"no rule {rule_id!r}")
    return await _save_rules(repo, RuleSet(version=0, rules=rules, default=current.default), principal, request, uow)


@router.get("/rules/versions")
async def rule_versions(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))) -> list[dict]:
    return await RoutingRepository(uow.session).ruleset_history()


@router.get("/rules/versions/{version}", response_model=RuleSetOut)
async def rule_version(
    version: int, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("manager"))
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
    ruleset = (
        await _validated(repo, _from_body(body.ruleset))
        if body.ruleset
        else await current_rules(repo, default_queue(request))
    )
    match = match_rules(ruleset, body.ticket.to_facts())
    return {
        "rule_id": match.rule_id,
        "actions": to_json(match.actions),
        "explanation": match.explanation,
        "trace": to_json(list(match.trace)),
        "ruleset_version": ruleset.version,
    }
