"""One assignment pass over waiting tickets, in the global service order. Pure: no I/O, `now` is a parameter.

**Service order** (every queue an agent can serve, not queue by queue): the queue's
``routing_priority`` (lower first; default 0, so equal unless configured), then the ticket's
priority (urgent, high, normal, low), then age (``received_at``, oldest first), then ticket id.

A `DispatchPass` holds what the pass knows about the agents who have room (an agent with none
is never in it) and how much each took in this pass. The caller feeds it waiting tickets in
service order (`service_key`), asks `decide` for each, and reports back what the database
said: `took` after a reservation, `full` when it refused one. Within one pass loads only grow,
so a ticket whose requirements nobody could meet stays unmet: its signature is remembered and
later tickets with the same one are skipped without a second look.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.router.domain.assignment import AssignmentDecision, choose_agent
from services.router.domain.model import PRIORITY_RANK, Agent, AgentLoad, Queue, RoutedTicket

# candidates an assign or offer record names: the chosen, the runners-up, the closest excluded (the rest counted)
ASSIGN_LISTED = 20

ServiceKey = tuple[int, int, datetime, str]


def priority_rank(priority: str) -> int:
    return PRIORITY_RANK.get(priority, len(PRIORITY_RANK))


def service_key(ticket: RoutedTicket, queue_rank: int) -> ServiceKey:
    """Where the ticket stands in the global order: queue routing priority, priority, age, id."""
    return (queue_rank, priority_rank(ticket.priority), ticket.received_at, ticket.ticket_id)


def has_room(agent: Agent, load: AgentLoad) -> bool:
    return agent.status == "online" and load.total < agent.total_capacity


def released(load: AgentLoad, channel: str) -> AgentLoad:
    """The load once a ticket on `channel` is given back (as the database's release: never below zero)."""
    by_channel = dict(load.by_channel)
    by_channel[channel] = max(0, by_channel.get(channel, 0) - 1)
    return replace(load, by_channel=by_channel, total=max(0, load.total - 1))


def room_on(agent: Agent, load: AgentLoad, channel: str) -> bool:
    """Whether this agent could take one more ticket on `channel` right now."""
    cap = agent.capacity.get(channel)
    return cap is not None and load.by_channel.get(channel, 0) < cap and has_room(agent, load)


def channels_free(agent: Agent, load: AgentLoad) -> tuple[str, ...]:
    """The channels this agent could take one more ticket on right now (none when not online or full)."""
    return tuple(sorted(c for c in agent.capacity if room_on(agent, load, c)))


def could_serve(agent: Agent, queue: Queue) -> bool:
    """Whether the agent meets the queue's own skills (or the queue may do without them: workflow, widening).
    Rule-added skills, language and capacity are checked per ticket."""
    if queue.workflow or queue.widen_skills_after_wait:
        return True
    return all(agent.skills.get(skill, 0) >= level for skill, level in queue.required_skills.items())


@dataclass
class DispatchPass:
    now: datetime
    pool: dict[str, tuple[Agent, AgentLoad]]  # online agents with room, by id
    online: Sequence[Agent] = ()  # every online agent (workflow steps that skip when nobody fits)
    recent: dict[str, dict[str, int]] = field(default_factory=dict)  # queue -> agent -> taken in the window
    last_round_robin: dict[str, str | None] = field(default_factory=dict)
    hopeless: set[tuple[object, ...]] = field(default_factory=set)
    given: int = 0

    @property
    def exhausted(self) -> bool:
        return not self.pool

    def has_room_on(self, channel: str) -> bool:
        return any(room_on(agent, load, channel) for agent, load in self.pool.values())

    def rows(self, ticket: RoutedTicket, queue: Queue) -> list[tuple[Agent, AgentLoad]]:
        """The agents with room on the ticket's channel, with what this queue gave each in its window.
        Runs over the whole pool for every ticket, so it checks the one channel (not every channel
        free) and copies a load only when its count from this queue differs."""
        recent = self.recent.get(queue.name, {})
        rows = []
        for agent, load in self.pool.values():
            if not room_on(agent, load, ticket.channel):
                continue
            taken = recent.get(agent.id, 0)
            rows.append((agent, load if load.recent_from_queue == taken else replace(load, recent_from_queue=taken)))
        return rows

    def decide(self, ticket: RoutedTicket, queue: Queue) -> AssignmentDecision | None:
        """Who takes this ticket now; None when nobody in the pass can (the ticket keeps waiting)."""
        signature = _signature(ticket, queue)
        if signature is not None and signature in self.hopeless:
            return None
        rows = self.rows(ticket, queue)
        if not rows:
            return None  # nobody has room on this channel; not a fact about the ticket's requirements
        decision = choose_agent(
            ticket,
            queue,
            rows,
            self.now,
            last_round_robin_agent=self.last_round_robin.get(queue.name),
            online=self.online,
            listed=ASSIGN_LISTED,
        )
        if decision.agent_id is None:
            if signature is not None:
                self.hopeless.add(signature)
            return None
        return decision

    def took(self, agent_id: str, ticket: RoutedTicket, queue: Queue) -> None:
        agent, load = self.pool[agent_id]
        by_channel = dict(load.by_channel)
        by_channel[ticket.channel] = by_channel.get(ticket.channel, 0) + 1
        load = replace(load, by_channel=by_channel, total=load.total + 1)
        agent = replace(agent, last_assigned_at=self.now)
        if has_room(agent, load):
            self.pool[agent_id] = (agent, load)
        else:
            del self.pool[agent_id]
        recent = self.recent.setdefault(queue.name, {})
        recent[agent_id] = recent.get(agent_id, 0) + 1
        if queue.strategy == "round_robin":
            self.last_round_robin[queue.name] = agent_id
        self.given += 1

    def full(self, agent_id: str) -> None:
        """The database refused a reservation (another replica's change): leave this agent out."""
        self.pool.pop(agent_id, None)


def pool_of(agents: Iterable[Agent], loads: Mapping[str, AgentLoad]) -> dict[str, tuple[Agent, AgentLoad]]:
    rows = ((agent, loads.get(agent.id, AgentLoad())) for agent in agents)
    return {agent.id: (agent, load) for agent, load in rows if has_room(agent, load)}


def serve(
    waiting: Iterable[RoutedTicket], queues: Mapping[str, Queue], dispatch: DispatchPass
) -> list[tuple[str, str]]:
    """The whole pass in memory: (ticket id, agent id) in the order given. What the handler does, minus the database."""
    given: list[tuple[str, str]] = []
    ordered = sorted(waiting, key=lambda t: service_key(t, queues[t.queue].routing_priority))
    for ticket in ordered:
        if dispatch.exhausted:
            break
        queue = queues[ticket.queue]
        decision = dispatch.decide(ticket, queue)
        if decision is None or decision.agent_id is None:
            continue
        dispatch.took(decision.agent_id, ticket, queue)
        given.append((ticket.ticket_id, decision.agent_id))
    return given


def _signature(ticket: RoutedTicket, queue: Queue) -> tuple[object, ...] | None:
    """Tickets with the same signature have the same eligible agents, so when one of them finds
    nobody, the rest of this pass skips them (keeps a long queue from costing O(n) per event).
    None when the answer depends on more than this: workflows (time), affinity, declines."""
    if queue.workflow or ticket.previous_agent_id or ticket.declined_by or ticket.excluded_agent_id:
        return None
    language = ticket.language if queue.require_language else None
    skills = tuple(sorted(ticket.required_skills.items()))
    return (queue.name, ticket.channel, skills, language, ticket.skills_widened)
