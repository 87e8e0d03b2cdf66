"""Routing without a global lock, and the after-commit look that closes its one gap.

Replicas (and in each replica the consumer, the sweeper and the HTTP routes) route at the same
time. Row locks keep them apart where they touch the same ticket or agent, and the database
refuses a double assignment or an agent over capacity (`repository._RESERVE`). What no row lock
covers is a crossing: transaction W leaves ticket T waiting because agent A was full, while
transaction R gives A room back and finds nothing waiting, because T is not committed yet. Each
read the other's side before the other committed, so T would wait with A idle.

The fix is Dekker's. Each side, before it reads the other's side, notes the other side's counter
(`room_seq` for W, `waiting_seq` for R); after its own commit it bumps its own counter and reads
the other's again. Of two crossing transactions the one that bumps later sees the other's bump,
and looks again, now that both have committed. So a recheck happens only when a crossing may
have happened, and the common path pays one small read per transaction (the note is taken once
per transaction, which is only ever earlier than needed: safe, at worst a recheck too many).

A ticket also waits when the agent who would take it was being changed by another transaction
right then (a reservation never waits for a lock): that ticket is looked at again after commit
whatever the counters say, in a transaction of its own that does wait for that agent (it holds
nothing else, so the wait cannot close a cycle). A recheck that leaves things as they were
repeats this, up to `ROUNDS` times; a crash between commit and recheck is left to the sweeper's
backstop pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.router.adapters.repository import RoutingRepository, bump_wake
from shared.messaging.uow import AfterCommit, UnitOfWork

ROUNDS = 4


async def noted(repo: RoutingRepository) -> tuple[int, int]:
    """Both counters as this transaction first saw them: read once, before any routing read."""
    return await repo.wake_counts()


async def ticket_waits(uow: UnitOfWork, repo: RoutingRepository, ticket_id: str, *, busy: bool) -> None:
    """The ticket is left waiting (`busy`: an agent who might have taken it was locked)."""
    wake = uow.after_commit(Wake)
    wake.room_seen = min(wake.room_seen, (await noted(repo))[1])
    (wake.forced if busy else wake.tickets).add(ticket_id)


async def agent_has_room(uow: UnitOfWork, repo: RoutingRepository, agent_id: str) -> None:
    """The agent is left with room after a look at what waits."""
    wake = uow.after_commit(Wake)
    wake.waiting_seen = min(wake.waiting_seen, (await noted(repo))[0])
    wake.agents.add(agent_id)


@dataclass
class Wake(AfterCommit):
    """What one unit of work left unmatched, and the counters it noted before looking."""

    tickets: set[str] = field(default_factory=set)
    forced: set[str] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    room_seen: int = 2**63
    waiting_seen: int = 2**63
    round: int = 1

    async def run(self, uow: UnitOfWork) -> None:
        # imported here: dispatch calls into this module
        from services.router.handlers.dispatch import dispatch_for, dispatch_ticket

        if self.round > ROUNDS or not (self.tickets or self.forced or self.agents):
            return
        # the bump and the look are one statement outside any transaction (a sequence's nextval is
        # not transactional): most commits leave nothing to recheck, and then that is all they cost
        async with uow.alone() as conn:
            waiting_now, room_now = await bump_wake(
                conn, waiting=bool(self.tickets or self.forced), room=bool(self.agents)
            )
        tickets = self.forced | (self.tickets if room_now != self.room_seen else set())
        agents = self.agents if waiting_now != self.waiting_seen else set()
        if not tickets and not agents:
            return
        async with uow:
            repo = RoutingRepository(uow.session)
            uow.after_commit(Wake).round = self.round + 1  # what this recheck leaves unmatched, once more
            now = uow.clock.now()
            for ticket_id in sorted(tickets - self.forced):
                ticket = await repo.get(ticket_id)
                if ticket is not None:
                    await dispatch_ticket(uow, now, ticket, explain=False)
            for agent_id in sorted(agents):
                await dispatch_for(uow, now, agent_id)
            await uow.commit()
        for ticket_id in sorted(self.forced):
            # one ticket per transaction, waiting for the busy agent: a wait that holds nothing else
            async with uow.sibling() as alone:
                ticket = await RoutingRepository(alone.session).get(ticket_id)
                if ticket is not None:
                    alone.after_commit(Wake).round = self.round + 1
                    await dispatch_ticket(alone, alone.clock.now(), ticket, explain=False, wait=True)
                await alone.commit()
