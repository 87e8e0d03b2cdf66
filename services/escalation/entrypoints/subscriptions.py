"""Webhook subscriptions (admin): where events are POSTed, signed Standard Webhooks style.

A subscription's secret is shown once, in the answer that created it (generated when none is
given); reads never return it. A URL on a loopback, private, link-local, multicast or
unspecified address (literally, or by what its host resolves to) is refused unless the
`allow_private_targets` setting says otherwise.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.escalation.adapters import subscriptions as store
from services.escalation.adapters.transport import target_problem, url_problem
from services.escalation.domain.deliveries import WHSEC_PREFIX, secret_problem, withheld_because
from services.escalation.settings import as_escalation_settings
from shared.auth import Principal
from shared.auth.web import require
from shared.events.catalogue import CATALOGUE
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_runtime, get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"], dependencies=[reject_unknown_query()])


def _known_type(name: str) -> str:
    if name not in CATALOGUE:
        raise ValueError(f"unknown event type {name!r}; the types are listed in docs/events.md")
    topic = CATALOGUE[name].TOPIC
    if (why := withheld_because(topic)) is not None:
        raise ValueError(f"{name!r} is never sent to webhooks: it is on {topic}, which {why}")
    return name


def _usable_url(url: str) -> str:
    if (problem := url_problem(url)) is not None:
        raise ValueError(problem)
    return url


def _usable_secret(secret: str) -> str:
    if (problem := secret_problem(secret)) is not None:
        raise ValueError(problem)
    return secret


def _distinct(types: list[str]) -> list[str]:
    return list(dict.fromkeys(types))


Url = Annotated[str, Field(min_length=1, max_length=2048), AfterValidator(_usable_url)]
Secret = Annotated[str, Field(max_length=200), AfterValidator(_usable_secret)]
EventType = Annotated[str, Field(max_length=200), AfterValidator(_known_type)]
EventTypes = Annotated[list[EventType], Field(max_length=100), AfterValidator(_distinct)]
Description = Annotated[str, Field(max_length=1000)]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url
    secret: Secret | None = Field(None, description="`whsec_<base64>`; generated (and returned once) when left out")
    event_types: EventTypes = Field(
        [], description="the event types to send; empty: every type (never access events or dead letters)"
    )
    description: Description | None = None


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    secret: Secret | None = Field(None, description="a new secret (rotation); never returned")
    event_types: EventTypes | None = None
    description: Description | None = None
    active: bool | None = None


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    description: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="shown this once: verify our `webhook-signature` with it")


def new_secret() -> str:
    return WHSEC_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


async def _check_target(request: Request, url: str) -> None:
    allow = as_escalation_settings(get_runtime(request).settings).allow_private_targets
    if (problem := await target_problem(url, allow_private=allow)) is not None:
        raise Problem(422, f"url: {problem}", title="Invalid request", errors=[{"field": "url", "message": problem}])


def _now(request: Request) -> datetime:
    return get_runtime(request).clock.now()


@router.post("", status_code=201, response_model=SubscriptionCreated)
async def create_subscription(
    body: SubscriptionIn, request: Request, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require())
) -> dict[str, Any]:
    """Subscribe a URL to event types; the answer carries the signing secret, this once."""
    await _check_target(request, body.url)
    secret = body.secret or new_secret()
    created = await store.create_subscription(
        uow.session,
        url=body.url,
        secret=secret,
        event_types=body.event_types,
        description=body.description,
        now=_now(request),
    )
    await uow.commit()
    return {**created, "secret": secret}


@router.get("", response_model=list[SubscriptionOut])
async def list_subscriptions(
    uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require())
) -> list[dict[str, Any]]:
    """Every subscription, oldest first (without secrets)."""
    return await store.list_subscriptions(uow.session)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(
    subscription_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require())
) -> dict[str, Any]:
    found = await store.get_subscription(uow.session, subscription_id)
    if found is None:
        raise Problem(404, f"no subscription {subscription_id!r}")
    return found


@router.patch("/{subscription_id}", response_model=SubscriptionOut)
async def patch_subscription(
    subscription_id: str,
    body: SubscriptionPatch,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require()),
) -> dict[str, Any]:
    """Change what is given (`null` leaves a field as it is); deliveries still waiting follow a new url or secret."""
    changes = body.model_dump(exclude_none=True)
    if "url" in changes:
        await _check_target(request, changes["url"])
    updated = await store.update_subscription(uow.session, subscription_id, changes, _now(request))
    if updated is None:
        raise Problem(404, f"no subscription {subscription_id!r}")
    await uow.commit()
    return updated


@router.delete("/{subscription_id}", status_code=204)
async def delete_subscription(
    subscription_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require())
) -> None:
    """Delete it; its deliveries still waiting are marked failed, the history stays."""
    if not await store.delete_subscription(uow.session, subscription_id):
        raise Problem(404, f"no subscription {subscription_id!r}")
    await uow.commit()
