"""Live chat: who may post as whom, posting and ending, the message feed sockets follow, the idle sweeper.

Chat tickets are ordinary tickets with channel `chat`. What differs: a chat can end (a
participant ends it, or it sits idle past `chat_idle_minutes`), after which nothing more
may be posted to it; and its participants follow it live over a WebSocket, which reads
new messages from the database (so any replica can serve any socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.adapters.chat import ChatRepository, ChatSignature
from services.ingest.adapters.repository import TicketRepository
from services.ingest.domain import decide
from services.ingest.domain.model import Message, Ticket
from services.ingest.handlers.authors import author_of
from services.ingest.handlers.tickets import TicketNotFound, load_for_update, save_change
from shared.auth import Principal
from shared.clock import Clock
from shared.messaging.uow import UnitOfWork

log = logging.getLogger(__name__)

SUBJECT_MAX = 120
SWEEP_BATCH = 100
# a message committed by another replica can carry a created_at a little older than one already
# sent (a slower transaction, clock skew); the feed looks back this far and skips what it sent
FEED_LOOKBACK = timedelta(seconds=60)

Participant = Literal["customer", "agent"]
_OWN_PARTICIPANT: dict[str, Participant] = {"platform": "customer", "agent": "agent"}


class NotAllowed(PermissionError):
    """The caller may not do this to this chat (HTTP 403)."""


# --- pure rules ------------------------------------------------------------------------------


def default_subject(message: str) -> str:
    """The first non-blank line of the customer's first message, at most 120 characters."""
    for line in message.splitlines():
        if line.strip():
            return " ".join(line.split())[:SUBJECT_MAX].rstrip()
    return ""


def author_for(principal: Principal, requested: Participant | None = None) -> Participant:
    """A platform key speaks for the customer, an agent key for the agent; an admin chooses (agent by default)."""
    own = _OWN_PARTICIPANT.get(principal.role)
    if own is None:
        if principal.role != "admin":
            raise NotAllowed(f"role {principal.role!r} may not take part in chats")
        return requested or "agent"
    if requested is not None and requested != own:
        raise NotAllowed(f"a {principal.role} key posts as the {own}, not as the {requested}")
    return own


def check_access(ticket: Ticket, principal: Principal) -> None:
    """The same rule as the ticket API: agents act on their own tickets, platforms on their source's."""
    if principal.role == "agent" and ticket.assignee_agent_id != principal.agent_id:
        raise NotAllowed(f"{ticket.reference} is not assigned to agent {principal.agent_id!r}")
    if principal.role == "platform" and not _belongs_to(ticket, principal.source):
        raise NotAllowed(f"{ticket.reference} does not belong to source {principal.source!r}")
    if principal.role not in ("admin", "agent", "platform"):
        raise NotAllowed(f"role {principal.role!r} may not take part in chats")


def _belongs_to(ticket: Ticket, source: str | None) -> bool:
    # a chat a platform opens records its source as the inbox; one opened through /v1/tickets, in its reference
    ref = ticket.external_ref
    return source is not None and (ticket.inbox == source or (ref is not None and ref.source == source))


def check_open_chat(ticket: Ticket) -> None:
    if ticket.channel != "chat":
        raise decide.InvalidChange(f"{ticket.reference} is not a chat (channel {ticket.channel})")
    if ticket.chat_ended_at is not None:
        raise decide.InvalidChange(f"the chat {ticket.reference} has ended; a new conversation needs a new chat")


def visible_to(message: Message, principal: Principal) -> bool:
    """Internal notes never reach the customer's side."""
    return message.public or principal.role != "platform"


@dataclass
class FeedCursor:
    """What a socket has sent so far: messages newer than `since()` are candidates, sent ids are skipped."""

    lookback: timedelta = FEED_LOOKBACK
    _sent: set[str] = field(default_factory=set)
    _latest: datetime | None = None

    def since(self) -> datetime | None:
        return self._latest - self.lookback if self._latest else None

    def take(self, batch: Iterable[Message]) -> list[Message]:
        """The messages of `batch` not sent before, oldest first; they count as sent from now on."""
        fresh = sorted((m for m in batch if m.id not in self._sent), key=lambda m: (m.created_at, m.id))
        for message in fresh:
            self._sent.add(message.id)
            if self._latest is None or message.created_at > self._latest:
                self._latest = message.created_at
        return fresh


# --- use cases (the edge opens and commits the unit of work) ----------------------------------


async def chat_for_update(uow: UnitOfWork, ticket_id: str, principal: Principal) -> Ticket:
    """Row-locked; TicketNotFound / NotAllowed / InvalidChange say why not."""
    ticket = await load_for_update(uow, ticket_id)
    check_access(ticket, principal)
    return ticket


async def post_message(
    uow: UnitOfWork,
    ticket_id: str,
    principal: Principal,
    body: str,
    *,
    clock: Clock,
    author: Participant | None = None,
    public: bool = True,
) -> Message:
    kind = author_for(principal, author)
    ticket = await chat_for_update(uow, ticket_id, principal)
    check_open_chat(ticket)
    signed = await author_of(uow, principal, ticket, kind)
    change = decide.add_message(
        ticket,
        decide.AddMessage(
            body=body,
            author_kind=kind,
            public=public or kind == "customer",
            author_name=signed.name,
            author_email=signed.email,
            author_agent_id=principal.agent_id if kind == "agent" else None,
            via="chat",
        ),
        message_id=str(uuid.uuid4()),
        now=clock.now(),
    )
    await save_change(uow, change)
    assert change.message is not None
    return change.message


async def end_chat(uow: UnitOfWork, ticket_id: str, principal: Principal, *, clock: Clock) -> Ticket:
    """Ending an ended chat changes nothing (a retried request is harmless)."""
    reason: Participant = "customer" if principal.role == "platform" else "agent"
    ticket = await chat_for_update(uow, ticket_id, principal)
    return await save_change(uow, decide.end_chat(ticket, reason, now=clock.now()))


# --- the feed a socket follows ----------------------------------------------------------------


@dataclass(frozen=True)
class ChatState:
    ticket: Ticket | None
    messages: list[Message]


async def read_chat(session: AsyncSession, ticket_id: str, *, since: datetime | None = None) -> ChatState:
    """The ticket, then its messages created at or after `since` (all of them without).

    Read in that order: a message cannot be added once the end is committed, so when the
    ticket says ended, the messages read after it are the complete transcript.
    """
    repo = TicketRepository(session)
    ticket = await repo.get(ticket_id)
    if ticket is None:
        return ChatState(None, [])
    return ChatState(ticket, await repo.messages_of(ticket_id, since=since))


class ChatHub:
    """Wakes the sockets of a chat when something happened in it.

    A post through this replica wakes them at once. For posts through other replicas, one
    watcher per process (`watch`) asks the database every interval, in a single query for all
    the chats that have sockets here, which of them changed; only those sockets then read.
    With no socket open here the watcher sleeps until one is.
    """

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = {}
        self._seen: dict[str, ChatSignature | None] = {}
        self._someone_listens = asyncio.Event()

    async def watch(self, sessionmaker: Callable[[], AsyncSession], stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            watched = list(self._listeners)
            if not watched:
                # no socket here (the usual case): nothing to ask the database until one opens
                self._someone_listens.clear()
                await _first_of(self._someone_listens, stop)
                continue
            async with sessionmaker() as session:
                changes = await ChatRepository(session).signatures(watched)
            for ticket_id in watched:
                signature = changes.get(ticket_id)
                if self._seen.get(ticket_id) != signature:
                    self._seen[ticket_id] = signature
                    self.wake(ticket_id)
            for gone in set(self._seen) - set(watched):
                del self._seen[gone]
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    def listen(self, ticket_id: str) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.setdefault(ticket_id, set()).add(event)
        self._someone_listens.set()
        return event

    def forget(self, ticket_id: str, event: asyncio.Event) -> None:
        listeners = self._listeners.get(ticket_id)
        if listeners is not None:
            listeners.discard(event)
            if not listeners:
                del self._listeners[ticket_id]

    def wake(self, ticket_id: str) -> None:
        for event in self._listeners.get(ticket_id, ()):
            event.set()


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


# --- the idle sweeper -------------------------------------------------------------------------


async def sweep_idle_chats(
    new_uow: Callable[[], UnitOfWork], clock: Clock, idle: timedelta, *, batch: int = SWEEP_BATCH
) -> list[str]:
    """End the chats idle for `idle` or longer, one transaction each; returns the ids it ended.

    A chat another replica (or a request) holds locked is skipped, not waited for: if it is
    still idle, the next sweep ends it.
    """
    now = clock.now()
    async with new_uow() as uow:
        candidates = await ChatRepository(uow.session).idle_chats(before=now - idle, limit=batch)
    ended = []
    for ticket_id in candidates:
        try:
            async with new_uow() as uow:
                if not await ChatRepository(uow.session).lock_unless_held(ticket_id):
                    continue
                ticket = await load_for_update(uow, ticket_id)  # ours already; now read it whole
                if not decide.chat_idle(ticket, idle_after_s=idle.total_seconds(), now=now):
                    continue  # someone spoke since the candidates were read
                await save_change(uow, decide.end_chat(ticket, "idle", now=now))
                await uow.commit()
                ended.append(ticket_id)
        except TicketNotFound:
            continue
        except Exception:
            log.exception("could not end idle chat %s", ticket_id)
    if ended:
        log.info("ended %d idle chat(s)", len(ended))
    return ended
