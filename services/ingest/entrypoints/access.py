"""Issuing and revoking API keys. Ingest owns the keys; every service learns them from events."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.ingest.adapters.api_keys import ApiKeyRepository
from services.ingest.entrypoints.deps import clock_of
from shared.auth import Principal, generate_secret, hash_key
from shared.auth.web import require
from shared.events.access import ApiKeyIssued, ApiKeyRevoked
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1/api-keys", tags=["access"], dependencies=[reject_unknown_query()])


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "manager", "agent", "platform"]
    name: str = Field(min_length=1, max_length=200)
    agent_id: str | None = Field(None, min_length=1, max_length=200)
    source: str | None = Field(None, min_length=1, max_length=100)

    @model_validator(mode="after")
    def _scope(self) -> KeyCreate:
        if self.role == "agent" and not self.agent_id:
            raise ValueError("an agent key needs agent_id")
        if self.role == "platform" and not self.source:
            raise ValueError("a platform key needs source")
        return self


class KeyOut(BaseModel):
    key_id: str
    role: str
    name: str
    agent_id: str | None
    source: str | None
    key: str | None = Field(None, description="the secret; shown only in the response that creates it")


@router.post("", status_code=201, response_model=KeyOut)
async def issue_key(
    body: KeyCreate, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> KeyOut:
    secret = generate_secret(body.role)
    event = ApiKeyIssued(
        key_id=str(uuid.uuid4()),
        key_hash=hash_key(secret),
        role=body.role,
        name=body.name,
        agent_id=body.agent_id,
        source=body.source,
        issued_at=clock_of(request).now(),
    )
    await ApiKeyRepository(uow.session).record_issued(event)  # usable here at once; other services follow the event
    uow.publish(event)
    await uow.commit()
    return KeyOut(
        key_id=event.key_id, role=body.role, name=body.name, agent_id=body.agent_id, source=body.source, key=secret
    )


@router.get("", response_model=list[KeyOut])
async def list_keys(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))) -> list[KeyOut]:
    rows = await ApiKeyRepository(uow.session).active()
    return [KeyOut(**{k: r[k] for k in ("key_id", "role", "name", "agent_id", "source")}) for r in rows]


@router.delete("/{key_id}", status_code=204)
async def revoke_key(
    key_id: str, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> None:
    keys = ApiKeyRepository(uow.session)
    if not await keys.is_active(key_id):
        raise Problem(404, f"no active API key {key_id!r}")
    event = ApiKeyRevoked(key_id=key_id, revoked_at=clock_of(request).now())
    await keys.record_revoked(event)
    uow.publish(event)
    await uow.commit()
