"""Routes for SLA policies: the ordered set (first match wins, then the default), one policy at a time,
and re-applying the newest configuration to every open ticket."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from services.sla.adapters.repository import SlaRepository
from services.sla.entrypoints.deps import admin_only, config_problems, now, read_access
from services.sla.entrypoints.schemas import NAME_PATTERN, PolicyIn, policy_out
from services.sla.handlers import config
from shared.auth import Principal
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["policies"], dependencies=[reject_unknown_query()])
PolicyId = Annotated[str, Path(min_length=1, max_length=100, pattern=NAME_PATTERN)]


@router.get("/policies")
async def list_policies(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(read_access)) -> dict[str, Any]:
    """The policies in the order they are matched, the default, and the newest configuration version."""
    repo = SlaRepository(uow.session)
    version = await repo.latest_version()
    rows = await repo.policy_rows()
    return {
        "config_version": version,
        "default_policy_id": config.default_of(rows),
        "policies": [policy_out(r.policy, i, r.is_default, version) for i, r in enumerate(rows)],
    }


@router.post("/policies:apply", tags=["admin"])
async def apply_policies(
    request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(admin_only)
) -> dict[str, Any]:
    """Measure every open ticket by the newest configuration from now on (each gets a new SlaApplied).
    Without this, a ticket keeps the version it started with."""
    tickets, version = await config.apply_latest(uow, now(request))
    await uow.commit()
    return {"tickets": tickets, "config_version": version}


@router.get("/policies/{policy_id}")
async def get_policy(
    policy_id: PolicyId, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(read_access)
) -> dict[str, Any]:
    repo = SlaRepository(uow.session)
    rows = await repo.policy_rows()
    found = next(((i, r) for i, r in enumerate(rows) if r.policy.id == policy_id), None)
    if found is None:
        raise Problem(404, f"no policy {policy_id!r}")
    index, row = found
    return policy_out(row.policy, index, row.is_default, await repo.latest_version())


@router.put("/policies/{policy_id}", tags=["admin"])
async def put_policy(
    policy_id: PolicyId,
    body: PolicyIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(admin_only),
) -> dict[str, Any]:
    """Create or replace a policy (at `position`, 0 = first; default: where it was, or last); the whole
    configuration is validated and kept as a new version. Tickets already measured keep their version."""
    policy = body.to_domain(policy_id)
    with config_problems():
        saved = await config.save_policy(
            uow, policy, position=body.position, make_default=body.default, now=now(request)
        )
    await uow.commit()
    return policy_out(policy, saved.position or 0, body.default, saved.config.version)


@router.delete("/policies/{policy_id}", tags=["admin"])
async def delete_policy(
    policy_id: PolicyId, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(admin_only)
) -> dict[str, Any]:
    with config_problems():
        saved = await config.delete_policy(uow, policy_id, now(request))
    await uow.commit()
    return {"deleted": policy_id, "config_version": saved.config.version}
