"""Who signs a message: a person, never an API key's name.

An agent signs with their name at the router (`agent.updated`, kept in `ingest.agents`; their id until
it is known); a customer (a platform key or chat widget speaking for them) with the requester's name
and address. Only an admin or manager key, which stands for no known person, signs with its own name.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.ingest.adapters.agents import AgentDirectory
from services.ingest.domain.model import Ticket
from shared.auth import Principal
from shared.events.tickets import AuthorKind
from shared.messaging.uow import UnitOfWork


@dataclass(frozen=True)
class Author:
    name: str | None
    email: str | None = None


async def author_of(uow: UnitOfWork, principal: Principal, ticket: Ticket, kind: AuthorKind) -> Author:
    if kind == "customer":
        return Author(ticket.requester.name, ticket.requester.email)
    if principal.agent_id:
        return Author(await AgentDirectory(uow.session).name_of(principal.agent_id) or principal.agent_id)
    return Author(principal.name)
