"""Ingest follows escalations' requests of the ticket itself: the tags a level adds.

The tags join the ticket's own (normalised, no duplicates) exactly as a person's tag edit does,
so a `TicketFieldsChanged` with the whole new set follows and the router and sla see it. Tags it
has already change nothing; a closed ticket, or one whose tags would pass their bounds, is left
as it is (logged): the escalation cannot be asked again, so retrying would only dead-letter it.
"""

from __future__ import annotations

import logging

from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain import decide, limits
from services.ingest.handlers.tickets import save_change
from shared.clock import Clock
from shared.events.base import Event
from shared.events.escalation import EscalationRequested
from shared.messaging.consumer import Handler
from shared.messaging.uow import UnitOfWork

log = logging.getLogger(__name__)


async def on_escalation_requested(event: EscalationRequested, *, uow: UnitOfWork, clock: Clock) -> None:
    if not event.add_tags:
        return
    ticket = await TicketRepository(uow.session).get(event.ticket_id, for_update=True)
    if ticket is None:
        return
    try:
        change = decide.change_fields(ticket, tags=(*ticket.tags, *event.add_tags), custom_fields=None, now=clock.now())
    except (decide.InvalidChange, limits.FieldTooLarge) as exc:
        log.warning("escalation tags for %s not added: %s", ticket.reference, exc)
        return
    await save_change(uow, change)


EVENT_HANDLERS: dict[type[Event], Handler] = {EscalationRequested: on_escalation_requested}
