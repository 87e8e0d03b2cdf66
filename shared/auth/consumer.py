"""The subscription every service runs to keep its `api_keys` table in step with ingest's."""

from __future__ import annotations

from sqlalchemy import Table

from shared.auth.store import apply_issued, apply_revoked
from shared.events.access import ApiKeyIssued, ApiKeyRevoked
from shared.events.topics import ACCESS
from shared.messaging.consumer import Subscription
from shared.messaging.uow import UnitOfWork


def access_subscription(service: str, table: Table) -> Subscription:
    async def on_issued(event: ApiKeyIssued, *, uow: UnitOfWork) -> None:
        await apply_issued(uow.session, table, event)

    async def on_revoked(event: ApiKeyRevoked, *, uow: UnitOfWork) -> None:
        await apply_revoked(uow.session, table, event)

    return Subscription(f"{service}-access", (ACCESS,), {ApiKeyIssued: on_issued, ApiKeyRevoked: on_revoked})
