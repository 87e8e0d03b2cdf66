"""The global service order: across every queue an agent can serve, queue routing priority, then
ticket priority, then age; each freed slot goes to the best waiting ticket its agent may take."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from services.router.domain.assignment import eligibility, requirements
from services.router.domain.dispatch_pass import DispatchPass, pool_of, released, serve, service_key
from services.router.domain.model import Agent, AgentLoad, Queue, RoutedTicket
from tests.unit.router.factories import NOW, agent, ago, queue, ticket


def _pass(agents: list[Agent], loads: dict[str, AgentLoad] | None = None) -> DispatchPass:
    return DispatchPass(now=NOW, pool=pool_of(agents, loads or {}))


def test_an_urgent_ticket_in_a_later_queue_is_served_before_older_normal_ones_in_an_earlier_queue():
    queues = {"billing": queue(name="billing"), "high": queue(name="high")}
    vip = ticket(ticket_id="vip", queue="high", priority="urgent", received_at=ago(420))
    normal = [ticket(ticket_id=f"n{i}", queue="billing", received_at=ago(3600 + i)) for i in range(3)]
    one_slot = agent("ada", capacity={"email": 1}, total_capacity=1)
    assert serve([*normal, vip], queues, _pass([one_slot])) == [("vip", "ada")]


def test_within_one_priority_the_oldest_ticket_of_any_queue_goes_first():
    queues = {"a": queue(name="a"), "b": queue(name="b")}
    tickets = [
        ticket(ticket_id="a-new", queue="a", received_at=ago(10)),
        ticket(ticket_id="b-old", queue="b", received_at=ago(900)),
        ticket(ticket_id="a-mid", queue="a", received_at=ago(300)),
    ]
    two = agent("ada", capacity={"email": 2}, total_capacity=2)
    assert serve(tickets, queues, _pass([two])) == [("b-old", "ada"), ("a-mid", "ada")]


def test_a_queue_routing_priority_comes_before_ticket_priority():
    queues = {"vip": queue(name="vip", routing_priority=0), "bulk": queue(name="bulk", routing_priority=5)}
    tickets = [
        ticket(ticket_id="bulk-urgent", queue="bulk", priority="urgent", received_at=ago(900)),
        ticket(ticket_id="vip-low", queue="vip", priority="low", received_at=ago(10)),
    ]
    one = agent("ada", capacity={"email": 1}, total_capacity=1)
    assert serve(tickets, queues, _pass([one])) == [("vip-low", "ada")]


def test_a_ticket_the_agent_cannot_take_does_not_hold_back_the_next_one():
    queues = {"billing": queue(name="billing", required_skills={"billing": 2}), "general": queue(name="general")}
    tickets = [
        ticket(ticket_id="billing-urgent", queue="billing", priority="urgent"),
        ticket(ticket_id="general-low", queue="general", priority="low"),
    ]
    generalist = agent("ada", capacity={"email": 1}, total_capacity=1)
    assert serve(tickets, queues, _pass([generalist])) == [("general-low", "ada")]


def test_an_agent_with_no_room_on_the_channel_is_not_in_the_pass():
    chats_full = agent("ada", capacity={"email": 1, "chat": 1}, total_capacity=2)
    state = _pass([chats_full], {"ada": AgentLoad(by_channel={"chat": 1}, total=1)})
    chat = ticket(ticket_id="c", channel="chat")
    assert serve([chat], {"billing": queue()}, state) == []
    assert serve([ticket(ticket_id="e")], {"billing": queue()}, state) == [("e", "ada")]


# --- property: a stream of capacity changes, several queues, agents in several of them --------

SKILLS = ("billing", "tech", "vip")
CHANNELS = ("email", "chat")
PRIORITIES = ("urgent", "high", "normal", "low")


@st.composite
def worlds(draw: st.DrawFn) -> tuple[dict[str, Queue], list[Agent], list[RoutedTicket], list[tuple[int, str]]]:
    queues = {}
    for i in range(draw(st.integers(2, 4))):
        needs = draw(st.sets(st.sampled_from(SKILLS), max_size=2))
        rank = draw(st.sampled_from((0, 0, 1)))
        queues[f"q{i}"] = Queue(name=f"q{i}", required_skills=dict.fromkeys(needs, 1), routing_priority=rank)
    agents = [
        Agent(
            id=f"a{i}",
            name=f"A{i}",
            status="online",
            skills=dict.fromkeys(draw(st.sets(st.sampled_from(SKILLS), max_size=3)), 1),
            capacity=dict.fromkeys(CHANNELS, 0),
            total_capacity=0,
        )
        for i in range(draw(st.integers(1, 4)))
    ]
    tickets = [
        ticket(
            ticket_id=f"t{i:02d}",
            queue=draw(st.sampled_from(sorted(queues))),
            channel=draw(st.sampled_from(CHANNELS)),
            priority=draw(st.sampled_from(PRIORITIES)),
            received_at=ago(draw(st.integers(0, 3600))),
        )
        for i in range(draw(st.integers(1, 25)))
    ]
    changes = draw(
        st.lists(st.tuples(st.integers(0, len(agents) - 1), st.sampled_from(CHANNELS)), min_size=1, max_size=30)
    )
    return queues, agents, tickets, changes


def _eligible(a: Agent, load: AgentLoad, t: RoutedTicket, queues: dict[str, Queue]) -> bool:
    q = queues[t.queue]
    return not eligibility(a, load, requirements(q, t, NOW, []), t, q)


@settings(max_examples=150, deadline=None)
@given(worlds())
def test_each_freed_slot_goes_to_the_best_waiting_ticket_its_agent_may_take(world):
    queues, agents, tickets, changes = world
    waiting = {t.ticket_id: t for t in tickets}
    loads = {a.id: AgentLoad(by_channel=dict.fromkeys(CHANNELS, 0)) for a in agents}
    by_id = {a.id: a for a in agents}

    def key(t: RoutedTicket) -> tuple:
        return service_key(t, queues[t.queue].routing_priority)

    for index, channel in changes:
        freed = agents[index].id
        a = by_id[freed]
        capacity = {**a.capacity, channel: a.capacity[channel] + 1}
        by_id[freed] = replace(a, capacity=capacity, total_capacity=a.total_capacity + 1)
        before = {i: (by_id[i], loads[i]) for i in by_id}

        given = serve(list(waiting.values()), queues, DispatchPass(now=NOW, pool=pool_of(by_id.values(), loads)))

        assert len(given) <= 1, "one slot appeared, so at most one ticket can be given"
        if given:
            (ticket_id, agent_id) = given[0]
            taken = waiting.pop(ticket_id)
            assert agent_id == freed
            assert _eligible(*before[agent_id], taken, queues)
            better = [u for u in waiting.values() if key(u) < key(taken) and _eligible(*before[agent_id], u, queues)]
            assert better == [], f"{agent_id} took {ticket_id} while {better[0].ticket_id} came first"
            load = loads[agent_id]
            by_channel = {**load.by_channel, taken.channel: load.by_channel[taken.channel] + 1}
            loads[agent_id] = replace(load, by_channel=by_channel, total=load.total + 1)
        # nothing is left that someone with room could take
        for u in waiting.values():
            for i, a in by_id.items():
                assert not _eligible(a, loads[i], u, queues), f"{i} could take {u.ticket_id} but it waits"


def test_a_released_ticket_lowers_its_channel_and_the_total_and_never_below_zero() -> None:
    load = AgentLoad(by_channel={"email": 2, "chat": 0}, total=2, recent_from_queue=5)
    assert released(load, "email") == AgentLoad(by_channel={"email": 1, "chat": 0}, total=1, recent_from_queue=5)
    assert released(load, "chat") == AgentLoad(by_channel={"email": 2, "chat": 0}, total=1, recent_from_queue=5)
    assert released(AgentLoad(), "api") == AgentLoad(by_channel={"api": 0}, total=0)
    assert load.by_channel["email"] == 2, "the load it was given is left as it was"
