"""The demo configuration `make up` loads: one API key per role, support addresses, a webhook source,
triage and billing queues with a rule, an online agent for each queue, SLA policies on a business
calendar (tighter, around-the-clock targets for urgent and VIP tickets), and an escalation policy:
a first-reply breach goes to the tier2 queue at urgent and pages the local webhook receiver.

It talks to the running services over their public REST API with the bootstrap admin key,
exactly as an administrator would, and writes the keys to `<state>/demo-keys.json`
(`.local/` is git-ignored). Running it again reuses keys that still work.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx

from shared.stack.local import ServiceProcess
from shared.stack.ports import StackError
from shared.stack.receiver import WebhookReceiver

DEMO_DOMAIN = "demo.switchboard.local"
DEMO_SOURCE = "demo"
MAILBOXES = {
    f"support@{DEMO_DOMAIN}": {"brand": "demo", "tags": []},
    f"billing@{DEMO_DOMAIN}": {"brand": "demo-billing", "tags": ["billing"]},
}
KEYS = {
    "admin": {"name": "demo admin"},
    "manager": {"name": "demo manager"},
    "agent": {"name": "demo agent", "agent_id": "demo-agent"},
    "platform": {"name": "demo platform", "source": DEMO_SOURCE},
}


# router: a billing queue for the billing@ mailbox's tag and triage for the rest, each worked by its own
# agent (scoped by skill, so triage mail never fills the billing agent's slots), with room for far more
# tickets than a walkthrough sends; one rule
QUEUES = {
    "triage": {"required_skills": {"triage": 1}},
    "billing": {
        "required_skills": {"billing": 1},
        "default_priority": "normal",
        "wait_limit_s": 900,
        "overflow_queue": "triage",
    },
    "tier2": {"required_skills": {"tier2": 1}},  # where breached tickets are escalated to
}
_ROOM = {"capacity": {"email": 50, "webhook": 50, "api": 50, "chat": 4}, "total_capacity": 100}
AGENTS = {
    "demo-agent": {"name": "Demo Agent", "team": "support", "skills": {"billing": 3}, "languages": ["en"], **_ROOM},
    "demo-triage": {"name": "Demo Triage", "team": "support", "skills": {"triage": 2}, "languages": ["en"], **_ROOM},
    "demo-tier2": {"name": "Demo Tier 2", "team": "tier2", "skills": {"tier2": 3}, "languages": ["en"], **_ROOM},
}
RULES = [
    {
        "id": "billing-tag",
        "name": "Billing mail to the billing queue",
        "conditions": {"tags_any": ["billing"]},
        "actions": {"queue": "billing"},
    }
]

# sla: a business calendar and three policies, first match wins; warnings at 75 % of each target
DEMO_CALENDAR = "demo-business-hours"
CALENDAR = {
    "name": "Demo business hours (Mon-Fri 08:00-18:00 UTC, US holidays)",
    "time_zone": "UTC",
    "hours": {day: [{"start": "08:00", "end": "18:00"}] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "US", "subdivision": None},
}


def _targets(first_reply_s: int, next_reply_s: int, resolution_s: int, *, business_hours: bool) -> list[dict[str, Any]]:
    return [
        {"metric": metric, "target_s": seconds, "business_hours": business_hours, "warn_percent": 75}
        for metric, seconds in (
            ("first_reply", first_reply_s),
            ("next_reply", next_reply_s),
            ("resolution", resolution_s),
        )
    ]


HOUR = 3600
POLICIES: dict[str, dict[str, Any]] = {
    "urgent": {
        "name": "Urgent: around the clock",
        "conditions": {"priority": ["urgent"]},
        "targets": _targets(HOUR, 2 * HOUR, 8 * HOUR, business_hours=False),
        "calendar_id": None,
    },
    "vip": {
        "name": "VIP customers: around the clock",
        "conditions": {"vip": True},
        "targets": _targets(2 * HOUR, 4 * HOUR, 24 * HOUR, business_hours=False),
        "calendar_id": None,
    },
    "standard": {
        "name": "Everyone else: business hours",
        "conditions": {},
        "targets": _targets(8 * HOUR, 8 * HOUR, 30 * HOUR, business_hours=True),
        "calendar_id": DEMO_CALENDAR,
        "default": True,
    },
}


# escalation: a first-reply breach moves the ticket to tier2 at urgent and pages the demo receiver
ESCALATION_POLICY = "first-reply-breach"


def escalation_policy(receiver_url: str, secret: str) -> dict[str, Any]:
    page = {"type": "notify", "channel": "webhook", "target": receiver_url, "secret": secret}
    return {
        "name": "First reply breached: tier 2 at urgent, page the receiver",
        "triggers": [{"kind": "sla_breached", "metrics": ["first_reply"]}],
        "levels": [
            {
                "delay_s": 0,
                "actions": [
                    {"type": "raise_priority", "priority": "urgent"},
                    {"type": "move_to_queue", "queue": "tier2"},
                    page,
                ],
            }
        ],
    }


def load_demo(
    services: list[ServiceProcess], state_dir: Path, admin_key: str, receiver: WebhookReceiver
) -> dict[str, str]:
    ingest = next(s for s in services if s.name == "ingest")
    router = next(s for s in services if s.name == "router")
    sla = next(s for s in services if s.name == "sla")
    escalation = next(s for s in services if s.name == "escalation")
    keys_path, demo_path = state_dir / "demo-keys.json", state_dir / "demo.json"
    with httpx.Client(base_url=ingest.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=10) as http:
        keys = _reuse(http, keys_path) or _issue(http)
        keys_path.write_text(json.dumps(keys, indent=2) + "\n")
        keys_path.chmod(0o600)
        for address, box in MAILBOXES.items():
            _ok(http.put(f"/v1/admin/mailboxes/{address}", json=box))
        previous = json.loads(demo_path.read_text()) if demo_path.exists() else {}
        # the Standard Webhooks form: whsec_ + base64 of the key bytes
        webhook_secret = previous.get("webhook_secret") or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
        _ok(
            http.put(
                f"/v1/admin/webhook-sources/{DEMO_SOURCE}",
                json={"kind": "generic", "secrets": [webhook_secret], "brand": "demo"},
            )
        )
    with httpx.Client(base_url=router.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=10) as http:
        for name, queue in QUEUES.items():
            _ok(http.put(f"/v1/queues/{name}", json=queue))
        for agent_id, agent in AGENTS.items():
            _ok(http.put(f"/v1/agents/{agent_id}", json=agent))
            _ok(http.put(f"/v1/agents/{agent_id}/status", json={"status": "online"}))
        _ok(http.put("/v1/rules", json={"rules": RULES, "default": {"queue": "triage"}}))
    with httpx.Client(base_url=sla.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=10) as http:
        _ok(http.put(f"/v1/calendars/{DEMO_CALENDAR}", json=CALENDAR))
        for position, (policy_id, policy) in enumerate(POLICIES.items()):
            _ok(http.put(f"/v1/policies/{policy_id}", json={**policy, "position": position}))
    receiver.secret = previous.get("receiver_secret") or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    with httpx.Client(base_url=escalation.url, headers={"Authorization": f"Bearer {admin_key}"}, timeout=10) as http:
        _put_when_queue_known(http, f"/v1/escalation-policies/{ESCALATION_POLICY}", receiver)
    demo_path.write_text(
        json.dumps(
            {
                "webhook_source": DEMO_SOURCE,
                "webhook_secret": webhook_secret,
                "mailboxes": list(MAILBOXES),
                "receiver_url": receiver.url,
                "receiver_secret": receiver.secret,
            },
            indent=2,
        )
        + "\n"
    )
    demo_path.chmod(0o600)
    return {
        "API keys": f"{keys_path.resolve()} (admin, manager, agent, platform)",
        **{f"{role} key": key for role, key in keys.items()},
        "support mail": ", ".join(MAILBOXES),
        "webhook": f"{ingest.url}/v1/webhooks/{DEMO_SOURCE} (secret in {demo_path.resolve()})",
        "routing": "queues triage + billing (tag billing) + tier2 (escalations), agents demo-triage, demo-agent "
        "(billing) and demo-tier2 (tier2) online",
        "sla": f"policies urgent, vip, standard (default, {DEMO_CALENDAR}); clocks at {sla.url}/v1/tickets/<id>/sla",
        "escalation": f"policy {ESCALATION_POLICY}: first-reply breach -> urgent, queue tier2 (demo-tier2), page",
        "webhook receiver": f"{receiver.url} (each delivery appended to {receiver.log_path.resolve()})",
    }


def _put_when_queue_known(http: httpx.Client, path: str, receiver: WebhookReceiver, timeout_s: float = 30.0) -> None:
    """Escalation learns the router's queues from its events: until tier2's has arrived the policy is a 422."""
    assert receiver.secret is not None
    body = escalation_policy(receiver.url, receiver.secret)
    deadline = time.monotonic() + timeout_s
    while True:
        response = http.put(path, json=body)
        if response.status_code != 422 or "tier2" not in response.text or time.monotonic() > deadline:
            _ok(response)
            return
        time.sleep(0.3)


def _reuse(http: httpx.Client, path: Path) -> dict[str, str] | None:
    if not path.exists():
        return None
    keys = json.loads(path.read_text())
    if set(keys) != set(KEYS):
        return None
    check = http.get("/v1/api-keys", headers={"Authorization": f"Bearer {keys['admin']}"})
    return keys if check.status_code == 200 else None


def _issue(http: httpx.Client) -> dict[str, str]:
    return {role: _ok(http.post("/v1/api-keys", json={"role": role, **scope}))["key"] for role, scope in KEYS.items()}


def _ok(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 300:
        raise StackError(
            f"demo configuration failed: {response.request.method} {response.request.url} -> "
            f"{response.status_code} {response.text}"
        )
    body: dict[str, Any] = response.json()
    return body
