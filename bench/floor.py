"""A realistic support floor for the benchmark: queues, rules, agents, and the tickets customers send.

The floor is configured through the router's and ingest's REST APIs as an admin would (queues, a
rule set, 200 agents with teams, skills, languages and per-channel capacity, one API key per agent,
a signed webhook source, a support mailbox). The tickets are the 600 labelled multilingual tickets
of `../shared/data/tickets/helpdesk_customer_tickets.csv` (subject, body, language, priority, tags)
when that corpus is there, else synthetic ones of the same shape; customers get a tier (free, pro,
enterprise) and 2 % are VIPs, so every rule below matches real traffic.
"""

from __future__ import annotations

import csv
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from services.ingest.webhooks import sign_standard
from shared.events.tickets import Requester, TicketReceived

SOURCE = "floor"
SECRET = "bench-floor-secret"
MAILBOX = "support@floor.bench.example"
LANGUAGES = ("en", "de", "es", "fr", "pt")

# queue -> its configuration at the router; triage is the default, vip offers tickets (agents accept)
QUEUES: dict[str, dict[str, Any]] = {
    "vip": {"required_skills": {"vip": 1}, "offer_mode": True, "offer_timeout_s": 30, "routing_priority": -10},
    "tier2": {"required_skills": {"tier2": 3}, "default_priority": "high", "routing_priority": -5},
    "billing": {"required_skills": {"billing": 2}, "strategy": "longest_idle"},
    "technical": {"required_skills": {"technical": 2}},
    "returns": {"required_skills": {"returns": 1}, "strategy": "round_robin"},
    "triage": {},
}

RULES: dict[str, Any] = {
    "rules": [
        {"id": "vip", "name": "VIP customers", "conditions": {"vip": True}, "actions": {"queue": "vip"}},
        {
            "id": "enterprise-urgent",
            "name": "Enterprise outages go to tier 2",
            "conditions": {"tier": ["enterprise"], "tags_any": ["urgent-issue", "service-outage", "critical-failure"]},
            "actions": {"queue": "tier2", "priority": "urgent"},
        },
        {
            "id": "outage-words",
            "name": "Outage words in subject or body",
            "conditions": {"keywords": ["outage", "data loss", "ausfall", "caída", "panne"]},
            "actions": {"queue": "tier2"},
        },
        {
            "id": "billing",
            "name": "Billing",
            "conditions": {
                "tags_any": ["billing-issue", "payment-processing", "refund-request", "billing-and-payments"]
            },
            "actions": {"queue": "billing"},
        },
        {
            "id": "returns",
            "name": "Returns and warranty",
            "conditions": {
                "tags_any": ["returns-and-exchanges", "product-replacement", "warranty-claim", "order-issue"]
            },
            "actions": {"queue": "returns"},
        },
        {
            "id": "technical",
            "name": "Technical",
            "conditions": {
                "tags_any": ["technical-support", "it-support", "software-bug", "hardware-failure", "network-issue"]
            },
            "actions": {"queue": "technical", "add_tags": ["tech"]},
        },
    ],
    "default": {"queue": "triage"},
}

# team -> (share of the floor, skills it has at some level); everyone can do triage
TEAMS: dict[str, tuple[float, tuple[str, ...]]] = {
    "technical": (0.40, ("technical",)),
    "billing": (0.15, ("billing",)),
    "returns": (0.10, ("returns",)),
    "tier2": (0.10, ("tier2", "technical")),
    "vip": (0.05, ("vip", "billing", "technical")),
    "generalist": (0.20, ("billing", "returns")),
}
CAPACITY = {"email": 6, "webhook": 6, "chat": 2, "api": 4}
TOTAL_CAPACITY = 10


@dataclass(frozen=True)
class AgentSpec:
    agent_id: str
    body: dict[str, Any]


def agents(count: int, seed: int = 7) -> list[AgentSpec]:
    """`count` agents split over the teams by share, each with the team's skills at levels 2..8, triage,
    one or two languages, and the floor's capacity per channel."""
    rng = random.Random(seed)
    teams = [team for team, (share, _) in TEAMS.items() for _ in range(max(1, round(share * count)))]
    specs = []
    for n in range(count):
        team = teams[n % len(teams)]
        skills = {skill: rng.randint(2, 8) for skill in TEAMS[team][1]}
        skills["triage"] = 1
        languages = sorted({"en", rng.choice(LANGUAGES)})
        body = {
            "name": f"Agent {n:04d}",
            "team": team,
            "skills": skills,
            "languages": languages,
            "capacity": dict(CAPACITY),
            "total_capacity": TOTAL_CAPACITY,
        }
        specs.append(AgentSpec(f"floor-{n:04d}", body))
    return specs


def slots(count: int) -> dict[str, int]:
    """What `count` agents can hold at once: per channel, and in total."""
    return {**{channel: per * count for channel, per in CAPACITY.items()}, "total": TOTAL_CAPACITY * count}


@dataclass(frozen=True)
class Sample:
    """One customer ticket, independent of how it is sent."""

    subject: str
    body: str
    language: str | None
    priority: str
    tags: tuple[str, ...]


def _slug(tag: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", tag.strip().lower()).strip("-")


def corpus_path() -> Path | None:
    """`shared/data/tickets/helpdesk_customer_tickets.csv` beside the repository (or a worktree's)."""
    for folder in Path(__file__).resolve().parents:
        candidate = folder / "shared" / "data" / "tickets" / "helpdesk_customer_tickets.csv"
        if candidate.is_file():
            return candidate
    return None


def load_samples(path: Path | None = None) -> list[Sample]:
    """The labelled tickets of the corpus, or 600 synthetic ones when it is not there."""
    path = path or corpus_path()
    if path is None:
        return synthetic_samples(600)
    priority = {"high": "high", "medium": "normal", "low": "low"}
    samples = []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            tags = [_slug(row[f"tag_{i}"]) for i in range(1, 10) if row.get(f"tag_{i}")]
            tags.append(_slug(row["queue"]))
            samples.append(
                Sample(
                    subject=(row["subject"] or row["body"][:60] or "(no subject)").strip()[:200],
                    body=row["body"][:4000],
                    language=row["language"] or None,
                    priority=priority.get(row["priority"], "normal"),
                    tags=tuple(dict.fromkeys(t for t in tags if t)),
                )
            )
    return samples


def synthetic_samples(count: int, seed: int = 11) -> list[Sample]:
    rng = random.Random(seed)
    kinds = [
        ("Charged twice for my order", ("billing-issue",)),
        ("Cannot log in after the update", ("technical-support", "login-issue")),
        ("Return a damaged item", ("returns-and-exchanges",)),
        ("Service outage in our region", ("urgent-issue", "service-outage")),
        ("Question about your plans", ("general-inquiry",)),
    ]
    samples = []
    for n in range(count):
        subject, tags = rng.choice(kinds)
        samples.append(Sample(f"{subject} #{n}", f"{subject}. Details follow.", rng.choice(LANGUAGES), "normal", tags))
    return samples


@dataclass
class Customers:
    """Turns samples into tickets from varied customers: tier, VIP flag, channel mix."""

    samples: list[Sample]
    seed: int = 3
    channels: tuple[tuple[str, float], ...] = (("webhook", 0.55), ("email", 0.25), ("chat", 0.1), ("api", 0.1))
    _rng: random.Random = field(init=False)
    _n: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def _requester(self) -> dict[str, Any]:
        n = self._rng.randrange(100_000)
        tier = self._rng.choices(("free", "pro", "enterprise"), weights=(60, 30, 10))[0]
        return {
            "email": f"customer{n}@{tier}.bench.example",
            "name": f"Customer {n}",
            "tier": tier,
            "vip": self._rng.random() < 0.02,
        }

    def next(self) -> tuple[Sample, dict[str, Any], str]:
        """(sample, requester, channel) of the next ticket."""
        self._n += 1
        sample = self.samples[self._rng.randrange(len(self.samples))]
        names, weights = zip(*self.channels, strict=True)
        return sample, self._requester(), self._rng.choices(names, weights=weights)[0]

    def webhook(self) -> dict[str, Any]:
        """A generic `ticket.created` webhook body (the language is given, as platforms report the locale)."""
        sample, requester, channel = self.next()
        return {
            "event": "ticket.created",
            "external_id": f"floor-{uuid.uuid4().hex}",
            "subject": sample.subject,
            "body": sample.body,
            "requester": requester,
            "channel": channel,  # a platform forwards its email and chat tickets by webhook too
            "priority": sample.priority,
            "tags": list(sample.tags),
            "language": sample.language,
        }

    def received(self, ticket_id: str | None = None) -> TicketReceived:
        """A TicketReceived as ingest would announce it, for load that goes straight onto Kafka."""
        sample, requester, channel = self.next()
        ticket_id = ticket_id or f"direct-{uuid.uuid4()}"
        return TicketReceived(
            ticket_id=ticket_id,
            reference=f"SB-{ticket_id[-8:]}",
            channel=channel,  # type: ignore[arg-type]
            subject=sample.subject,
            requester=Requester(**requester),
            priority=sample.priority,  # type: ignore[arg-type]
            language=sample.language,
            tags=sample.tags,
            body_preview=sample.body[:1000],
            received_at=datetime.now(UTC),
        )


def signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    msg_id, now = f"msg_{uuid.uuid4().hex}", int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(now),
        "webhook-signature": sign_standard(SECRET, msg_id, now, raw),
        "content-type": "application/json",
    }
    return raw, headers


def configure(ingest: str, router: str, admin_key: str, agent_count: int) -> tuple[dict[str, str], str]:
    """Queues, rules, agents (offline) at the router; the webhook source, the mailbox, one key per agent
    and a manager's key at ingest. Returns (agent id -> API key, the manager's key)."""
    admin = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(headers=admin, timeout=30) as http:
        for name, config in QUEUES.items():
            _ok(http.put(f"{router}/v1/queues/{name}", json=config))
        _ok(http.put(f"{router}/v1/rules", json=RULES))
        _ok(http.put(f"{ingest}/v1/admin/webhook-sources/{SOURCE}", json={"kind": "generic", "secrets": [SECRET]}))
        _ok(http.put(f"{ingest}/v1/admin/mailboxes/{MAILBOX}", json={"brand": "default"}))
        keys = {}
        for spec in agents(agent_count):
            _ok(http.put(f"{router}/v1/agents/{spec.agent_id}", json=spec.body))
            issued = _ok(
                http.post(
                    f"{ingest}/v1/api-keys", json={"role": "agent", "name": spec.agent_id, "agent_id": spec.agent_id}
                )
            )
            keys[spec.agent_id] = issued["key"]
        manager = _ok(http.post(f"{ingest}/v1/api-keys", json={"role": "manager", "name": "floor-lead"}))
    return keys, manager["key"]


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None
