"""Who may take a waiting ticket, who gets it, and when a ticket should move on. Pure: `now` is a parameter.

* ``requirements``: what the ticket needs right now (skills, team, language, workflow step).
* ``eligibility``: every reason an agent cannot take it (empty: they can).
* ``choose_agent``: affinity to the previous agent first, then the queue's strategy; always
  deterministic (candidates are considered by agent id, whatever order they arrive in).
* ``overflow_action`` / ``offer_expired``: time-based transitions.
* ``waiting_order``: the sort key for serving waiting tickets.
* ``distribution_skew``: how unevenly a queue spread its work (coefficient of variation).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from services.router.domain.model import PRIORITY_RANK, Agent, AgentLoad, Queue, RoutedTicket

GENERAL_POOL = "general pool"
REASON_LISTED = 10  # online agents named in a "none eligible" reason


@dataclass(frozen=True)
class Requirements:
    skills: Mapping[str, int]  # skill -> minimum level
    team: str | None
    language: str | None
    step: str | None  # the workflow step, GENERAL_POOL past the last one, None without a workflow
    explanation: str


@dataclass(frozen=True)
class Candidate:
    agent_id: str
    excluded: tuple[str, ...]  # why not (empty: eligible)
    score: str | None  # for eligible agents, what the strategy looked at: "load 2/8 = 0.25, idle 340 s"


@dataclass(frozen=True)
class AssignmentDecision:
    agent_id: str | None
    requirements: Requirements
    candidates: tuple[Candidate, ...]  # every agent considered (or a shortlist of them: `considered`), by agent id
    reason: str  # why the chosen one won, or why nobody
    considered: int | None = None  # set when `candidates` is a shortlist: how many agents were considered
    excluded_counts: Mapping[str, int] = field(default_factory=dict)  # with a shortlist: per filter, over all


# --- requirements -----------------------------------------------------------------------------


def merge_skills(*requirements: Mapping[str, int]) -> dict[str, int]:
    """Union of skill requirements, keeping the highest level asked for each skill."""
    merged: dict[str, int] = {}
    for skills in requirements:
        for skill, level in skills.items():
            merged[skill] = max(level, merged.get(skill, level))
    return merged


def _seconds(seconds: float) -> str:
    return f"{max(0, int(seconds))} s"


def _describe(team: str | None, skills: Mapping[str, int], language: str | None) -> str:
    parts = []
    if team is not None:
        parts.append(f"team {team}")
    parts.append("skills " + ", ".join(f"{s}>={lvl}" for s, lvl in sorted(skills.items())) if skills else "no skills")
    if language is not None:
        parts.append(f"language {language}")
    return ", ".join(parts)


def _fits(agent: Agent, team: str | None, skills: Mapping[str, int]) -> bool:
    """Team and skills only: whether the agent could ever serve a step, whatever their load."""
    if team is not None and (agent.team is None or agent.team.casefold() != team.casefold()):
        return False
    return all(agent.skills.get(skill, 0) >= level for skill, level in skills.items())


def requirements(queue: Queue, ticket: RoutedTicket, now: datetime, online: Sequence[Agent]) -> Requirements:
    """What an agent needs to take this ticket right now.

    Without a workflow: the queue's skills merged with the ticket's (highest level wins).
    With one, the ticket walks the targets by how long it has waited in the queue: each target
    lasts its timeout (None: for good), a target marked skip_if_unavailable whose team and skills
    no agent in ``online`` has is skipped *and takes no time*, and past the last deadline the
    queue's own requirements apply again (the general pool). The step is recomputed from the
    current state each time, so a skipped step becomes current again when someone fitting it
    comes online while its window is still open. ``skills_widened`` drops every skill
    requirement (the team of a step and the language still apply).
    """
    waited = (now - ticket.waiting_since).total_seconds()
    language = ticket.language if queue.require_language else None
    widened = ticket.skills_widened
    widened_note = "; skill requirement widened after the wait limit" if widened else ""

    def skills_with(base: Mapping[str, int]) -> dict[str, int]:
        return {} if widened else merge_skills(base, ticket.required_skills)

    if not queue.workflow:
        skills = skills_with(queue.required_skills)
        return Requirements(
            skills, None, language, None, f"queue {queue.name}: {_describe(None, skills, language)}{widened_note}"
        )

    notes: list[str] = []
    deadline = 0
    for target in queue.workflow:
        skills = skills_with(target.skills)
        if target.skip_if_unavailable and not any(_fits(agent, target.team, skills) for agent in online):
            notes.append(f"skipped step {target.name} (no online agent fits it)")
            continue
        if target.timeout_s is None:
            why = f"step {target.name}: waited {_seconds(waited)}, no timeout"
        else:
            deadline += target.timeout_s
            if waited >= deadline:
                notes.append(f"step {target.name} timed out")
                continue
            why = f"step {target.name}: waited {_seconds(waited)} of {_seconds(deadline)}"
        explanation = "; ".join([*notes, f"{why}: {_describe(target.team, skills, language)}"]) + widened_note
        return Requirements(skills, target.team, language, target.name, explanation)

    skills = skills_with(queue.required_skills)
    why = f"{GENERAL_POOL}: waited {_seconds(waited)}, past every step of the workflow"
    explanation = "; ".join([*notes, f"{why}: {_describe(None, skills, language)}"]) + widened_note
    return Requirements(skills, None, language, GENERAL_POOL, explanation)


# --- eligibility ------------------------------------------------------------------------------


def primary_subtag(tag: str) -> str:
    return tag.strip().replace("_", "-").split("-")[0].casefold()


def speaks(agent: Agent, language: str) -> bool:
    """Primary subtags match: a "de" agent serves "de-AT" tickets and a "de-CH" agent serves "de"."""
    wanted = primary_subtag(language)
    return any(primary_subtag(spoken) == wanted for spoken in agent.languages)


def eligibility(
    agent: Agent, load: AgentLoad, req: Requirements, ticket: RoutedTicket, queue: Queue
) -> tuple[str, ...]:
    """Every reason this agent cannot take the ticket now, in a fixed order; empty means eligible."""
    reasons: list[str] = []
    if agent.status != "online":
        reasons.append(f"status {agent.status}")
    if req.team is not None and (agent.team is None or agent.team.casefold() != req.team.casefold()):
        reasons.append(f"not in team {req.team} (team {agent.team or 'none'})")
    for skill, level in sorted(req.skills.items()):
        has = agent.skills.get(skill)
        if has is None:
            reasons.append(f"no skill {skill}")
        elif has < level:
            reasons.append(f"skill {skill} {has} < {level}")
    if req.language is not None and not speaks(agent, req.language):
        spoken = ", ".join(agent.languages) or "none"
        reasons.append(f"does not speak {req.language} (speaks {spoken})")
    reasons.extend(no_room(agent, load, ticket))
    limit = queue.fairness_max_per_window
    if limit is not None and load.recent_from_queue >= limit:
        reasons.append(f"fairness limit {limit} per {queue.fairness_window_s} s reached")
    if agent.id in ticket.declined_by:
        reasons.append("declined this ticket")
    if agent.id == ticket.excluded_agent_id:
        reasons.append("transferred this ticket away")
    return tuple(reasons)


def no_room(agent: Agent, load: AgentLoad, ticket: RoutedTicket) -> tuple[str, ...]:
    """Capacity alone: why the agent has no room for one more ticket on its channel (empty: they have)."""
    reasons = []
    channel_cap = agent.capacity.get(ticket.channel, 0)
    channel_used = load.by_channel.get(ticket.channel, 0)
    if channel_used >= channel_cap:
        reasons.append(f"{ticket.channel} full {channel_used}/{channel_cap}")
    if load.total >= agent.total_capacity:
        reasons.append(f"total full {load.total}/{agent.total_capacity}")
    return tuple(reasons)


# --- choosing ---------------------------------------------------------------------------------


def idle_since(agent: Agent) -> datetime | None:
    """The later of the last assignment and the last status change; None when neither is known."""
    assigned, changed = agent.last_assigned_at, agent.status_changed_at
    if assigned is None or changed is None:
        return changed if assigned is None else assigned
    return max(assigned, changed)


# Load ratios are compared as floats: a correctly rounded quotient keeps the order of the exact
# ones, and two different ratios of integers with denominators up to 2**20 differ by at least
# 2**-40, far more than a double's rounding, so equal loads still tie exactly and unequal ones never
# do. Capacities are at most 1,000 (the API's bound). A Fraction gave the same order at several
# times the cost: this key is computed for every agent on every decision.
_EXACT_DENOMINATOR = 2**20


def _ratio(agent: Agent, load: AgentLoad) -> float | Fraction:
    # no capacity at all sorts last (such agents are never eligible anyway)
    if agent.total_capacity <= 0:
        return float(10**9)
    if agent.total_capacity > _EXACT_DENOMINATOR:  # beyond what floats keep exact; the API never allows it
        return Fraction(load.total, agent.total_capacity)
    return load.total / agent.total_capacity


def _idle_key(agent: Agent) -> tuple[int, datetime] | tuple[int]:
    since = idle_since(agent)
    return (0,) if since is None else (1, since)  # unknown sorts first: counts as the longest idle


def _idle_text(agent: Agent, now: datetime) -> str:
    since = idle_since(agent)
    return "idle since unknown" if since is None else f"idle {_seconds((now - since).total_seconds())}"


def _load_text(agent: Agent, load: AgentLoad) -> str:
    ratio = load.total / agent.total_capacity if agent.total_capacity > 0 else float("inf")
    return f"load {load.total}/{agent.total_capacity} = {ratio:.2f}"


def score(agent: Agent, load: AgentLoad, now: datetime) -> str:
    """What a strategy looks at, as text: "load 2/8 = 0.25, idle 340 s"."""
    return f"{_load_text(agent, load)}, {_idle_text(agent, now)}"


def _among(count: int) -> str:
    return "the only eligible agent" if count == 1 else f"among {count} eligible"


def _tie_note(winner_keys: tuple[object, ...], others: Iterable[tuple[object, ...]], second: str) -> str:
    """How the winner was separated from the runner-up: by the first key, the second, or the agent id."""
    others = list(others)
    if not any(key[0] == winner_keys[0] for key in others):
        return ""
    if not any(key[:2] == winner_keys[:2] for key in others):
        return f"; tie broken by {second}"
    return "; tie broken by agent id"


def _load_first(agent: Agent, load: AgentLoad) -> tuple[float | Fraction, tuple[int, datetime] | tuple[int], str]:
    """least_loaded's order: lowest load ratio, then longest idle, then id."""
    return (_ratio(agent, load), _idle_key(agent), agent.id)


def _idle_first(agent: Agent, load: AgentLoad) -> tuple[tuple[int, datetime] | tuple[int], float | Fraction, str]:
    """longest_idle's order: longest idle, then lowest load ratio, then id."""
    return (_idle_key(agent), _ratio(agent, load), agent.id)


def _after(last: str | None) -> Callable[[Agent, AgentLoad], tuple[bool, str]]:
    """round_robin's order: the ids after `last`, then (wrapping around) the rest, each by id."""
    return lambda agent, _load: (last is not None and agent.id <= last, agent.id)


def _least_loaded(eligible: list[tuple[Agent, AgentLoad]], now: datetime) -> tuple[Agent, str]:
    keyed = sorted([(_load_first(a, ld), a, ld) for a, ld in eligible], key=lambda entry: entry[0])
    (key, agent, load), rest = keyed[0], keyed[1:]
    note = _tie_note(key, (k for k, _, _ in rest), "longest idle")
    return (
        agent,
        f"least_loaded: {agent.id} has the lowest load ({score(agent, load, now)}), {_among(len(keyed))}{note}",
    )


def _longest_idle(eligible: list[tuple[Agent, AgentLoad]], now: datetime) -> tuple[Agent, str]:
    keyed = sorted([(_idle_first(a, ld), a, ld) for a, ld in eligible], key=lambda entry: entry[0])
    (key, agent, load), rest = keyed[0], keyed[1:]
    note = _tie_note(key, (k for k, _, _ in rest), "lowest load")
    return (
        agent,
        f"longest_idle: {agent.id} has been idle longest ({score(agent, load, now)}), {_among(len(keyed))}{note}",
    )


def _round_robin(eligible: list[tuple[Agent, AgentLoad]], last: str | None) -> tuple[Agent, str]:
    order = _after(last)
    agent = min(eligible, key=lambda row: order(*row))[0]
    if last is None:
        return agent, f"round_robin: no previous agent, {agent.id} is first by id"
    if agent.id > last:
        return agent, f"round_robin: {agent.id} is next after {last}"
    return agent, f"round_robin: wrapped around to {agent.id} after {last}"


def _strategy_order(strategy: str, last_round_robin_agent: str | None) -> Callable[[Agent, AgentLoad], tuple[Any, ...]]:
    """The order in which the queue's strategy prefers eligible agents (the first is its choice)."""
    if strategy == "round_robin":
        return _after(last_round_robin_agent)
    if strategy == "longest_idle":
        return _idle_first
    return _load_first


def exclusion_kind(reason: str) -> str:
    """An eligibility reason without its numbers: "email full 6/6" -> "email full", "skill billing 1 < 3"
    and "no skill billing" -> "skill billing", "does not speak de (speaks en)" -> "language de"."""
    words = reason.split()
    if reason.startswith("no skill ") or (words[0] == "skill" and len(words) > 1):
        return f"skill {words[2] if words[0] == 'no' else words[1]}"
    if reason.startswith("does not speak "):
        return f"language {words[3]}"
    if len(words) >= 2 and words[1] == "full":
        return f"{words[0]} full"
    if reason.startswith("fairness limit"):
        return "fairness limit"
    if reason.startswith("not in team"):
        return f"team {words[3]}"
    return reason


def none_eligible_reason(online_rows: Sequence[tuple[Agent, Sequence[str]]], count: int) -> str:
    """`count` agents online and none eligible, naming the first of `online_rows` (by id) with their reasons."""
    listed = "; ".join(f"{agent.id}: {', '.join(reasons)}" for agent, reasons in online_rows[:REASON_LISTED])
    more = f"; and {count - REASON_LISTED} more" if count > REASON_LISTED else ""
    return f"{count} online agent{'s' if count != 1 else ''}, none eligible: {listed}{more}"


def choose_agent(
    ticket: RoutedTicket,
    queue: Queue,
    agents: Sequence[tuple[Agent, AgentLoad]],
    now: datetime,
    *,
    last_round_robin_agent: str | None,
    online: Sequence[Agent] | None = None,
    listed: int | None = None,
) -> AssignmentDecision:
    """Pick the agent for a waiting ticket, or nobody, with every candidate's exclusions and score.

    ``online`` (for skip_if_unavailable workflow steps) defaults to the agents whose status is
    online. The previous agent wins when eligible (affinity); otherwise the queue's strategy
    decides (an unknown strategy is read as least_loaded). The result does not depend on the
    order of ``agents``. ``listed``: when an agent is chosen from more candidates than this, only
    that many are kept (see `_shortlist`), so a decision on a floor of hundreds costs what one
    on a floor of twenty does; the others are counted in ``considered`` and ``excluded_counts``.
    """
    rows = sorted(agents, key=lambda row: row[0].id)
    online_agents = list(online) if online is not None else [a for a, _ in rows if a.status == "online"]
    req = requirements(queue, ticket, now, online_agents)
    excluded = [(agent, load, eligibility(agent, load, req, ticket, queue)) for agent, load in rows]
    eligible = [(agent, load) for agent, load, reasons in excluded if not reasons]

    def decided(agent_id: str | None, reason: str) -> AssignmentDecision:
        if agent_id is not None and listed is not None and len(excluded) > listed:
            return _shortlist(req, excluded, agent_id, reason, queue, now, listed, last_round_robin_agent)
        candidates = tuple(
            Candidate(agent.id, reasons, None if reasons else score(agent, load, now))
            for agent, load, reasons in excluded
        )
        return AssignmentDecision(agent_id, req, candidates, reason)

    if not eligible:
        online_rows = [(agent, reasons) for agent, _, reasons in excluded if agent.status == "online"]
        if not online_rows:
            return decided(None, "no agent is online")
        return decided(None, none_eligible_reason(online_rows, len(online_rows)))

    previous = ticket.previous_agent_id
    affinity_note = ""
    if previous is not None:
        if any(agent.id == previous for agent, _ in eligible):
            return decided(previous, f"affinity: previous agent {previous}")
        why_not = next((reasons for agent, _, reasons in excluded if agent.id == previous), None)
        affinity_note = (
            f"; previous agent {previous} not eligible ({', '.join(why_not)})"
            if why_not
            else f"; previous agent {previous} not available"
        )

    if queue.strategy == "round_robin":
        chosen, reason = _round_robin(eligible, last_round_robin_agent)
    elif queue.strategy == "longest_idle":
        chosen, reason = _longest_idle(eligible, now)
    else:
        chosen, reason = _least_loaded(eligible, now)
    return decided(chosen.id, reason + affinity_note)


def _shortlist(
    req: Requirements,
    judged: Sequence[tuple[Agent, AgentLoad, tuple[str, ...]]],
    chosen: str,
    reason: str,
    queue: Queue,
    now: datetime,
    listed: int,
    last_round_robin_agent: str | None,
) -> AssignmentDecision:
    """The decision with `listed` candidates: the chosen agent, the runners-up in the strategy's order,
    then the excluded agents with the fewest reasons; shown by id, like a full list."""
    order = _strategy_order(queue.strategy, last_round_robin_agent)
    runners_up = sorted((row for row in judged if not row[2] and row[0].id != chosen), key=lambda r: order(r[0], r[1]))
    others = sorted((row for row in judged if row[2]), key=lambda row: (len(row[2]), row[0].id))
    first = [row for row in judged if row[0].id == chosen]
    picked = sorted([*first, *runners_up, *others][:listed], key=lambda row: row[0].id)
    candidates = tuple(
        Candidate(agent.id, reasons, None if reasons else score(agent, load, now)) for agent, load, reasons in picked
    )
    counts = Counter(exclusion_kind(r) for _, _, reasons in judged for r in reasons)
    return AssignmentDecision(chosen, req, candidates, reason, considered=len(judged), excluded_counts=counts)


# --- time-based transitions and ordering ------------------------------------------------------


def overflow_action(ticket: RoutedTicket, queue: Queue, now: datetime) -> Literal["move", "widen"] | None:
    """Past the queue's wait limit a waiting ticket moves to the overflow queue, else has its skills widened once."""
    if ticket.status != "waiting" or queue.wait_limit_s is None:
        return None
    if (now - ticket.waiting_since).total_seconds() < queue.wait_limit_s:
        return None
    if queue.overflow_queue and queue.overflow_queue != queue.name:
        return "move"
    if queue.widen_skills_after_wait and not ticket.skills_widened:
        return "widen"
    return None


def offer_expired(ticket: RoutedTicket, now: datetime) -> bool:
    return ticket.status == "offered" and ticket.offer_expires_at is not None and ticket.offer_expires_at <= now


def waiting_order(ticket: RoutedTicket) -> tuple[int, datetime, str]:
    """Sort key: priority (urgent first), then age (oldest received first), then ticket id."""
    return (PRIORITY_RANK.get(ticket.priority, len(PRIORITY_RANK)), ticket.received_at, ticket.ticket_id)


def distribution_skew(counts: Mapping[str, int]) -> float:
    """How unevenly assignments were spread: the coefficient of variation of the per-agent counts.

    Population standard deviation divided by the mean. 0.0 means perfectly even (and is returned
    for no agents, one agent, or nobody assigned anything); {a: 10, b: 0} gives 1.0, and for n
    agents where one got everything it is sqrt(n - 1). Include agents that got nothing: they are
    what makes a distribution skewed.
    """
    values = list(counts.values())
    if len(values) <= 1:
        return 0.0
    mean = sum(values) / len(values)
    if mean == 0:
        return 0.0
    return float(statistics.pstdev(values) / mean)
