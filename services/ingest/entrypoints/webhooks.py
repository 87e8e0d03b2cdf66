"""`POST /v1/webhooks/{source}`: signed, idempotent, answered 202 as soon as the change is committed.

Authentication, in order: the platform's own signature (Zendesk, Chatwoot, Intercom), else a
Standard Webhooks signature (`webhook-id`/`webhook-timestamp`/`webhook-signature`), else a
platform API key issued for this very source (for platforms that can only send a static
header, such as Freshdesk, Groove or Front). Every secret of the source is tried, so a secret
can be rotated with two valid at once.

Delivery id for idempotency: `webhook-id`, else `Idempotency-Key`, else the platform's own
delivery header, else a hash of the body (a byte-identical repost is a retry). The id is used
whole, however long (the delivery log stores a long one as its hash). A request authenticated
by the platform's own signature is also known by what that signature covers (`replay_key`):
those headers are unsigned, so a captured request replayed with a fresh `webhook-id` inside
the window (Zendesk, Chatwoot) or at any time (Intercom, which signs no timestamp) is
answered like a retry, with the stored first answer and `Idempotent-Replayed: true`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.ingest.adapters.repository import ConfigRepository
from services.ingest.domain.inbound import PayloadError
from services.ingest.entrypoints.deps import clock_of, invalid_fields, once, read_body, settings_of
from services.ingest.handlers.inbound import apply_commands
from services.ingest.metrics import WEBHOOK_COMMANDS
from services.ingest.webhooks import ADAPTERS, EVENT_HEADERS, SignatureError
from services.ingest.webhooks import signatures as sig
from shared.auth import Principal
from shared.auth.web import authenticate, presented_key, require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["webhooks"], dependencies=[reject_unknown_query()])
Kind = Literal[
    "generic", "zendesk", "freshdesk", "intercom", "chatwoot", "groove", "front", "sendgrid", "mailgun", "postmark"
]
#: inbound-email sources: they post to `/v1/inbound/email/{source}` (entrypoints/providers.py), not here
EMAIL_KINDS = ("sendgrid", "mailgun", "postmark")

NATIVE = {
    "zendesk": (sig.ZENDESK_SIGNATURE, sig.verify_zendesk),
    "chatwoot": (sig.CHATWOOT_SIGNATURE, sig.verify_chatwoot),
    "intercom": (sig.INTERCOM_SIGNATURE, sig.verify_intercom),
}
DELIVERY_HEADERS = ("webhook-id", "idempotency-key", "x-zendesk-webhook-invocation-id", "x-chatwoot-delivery")


async def _authenticate(request: Request, source: dict, body: bytes) -> str | None:
    """Returns the replay key when the platform's own signature authenticated the request (see
    `signatures.replay_key`), else None; raises a 401/403 problem when nothing authenticates it."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    now = clock_of(request).now()
    tolerance = timedelta(seconds=settings_of(request).webhook_tolerance_s)
    try:
        native = NATIVE.get(source["kind"])
        if native and native[0] in headers:
            native[1](source["secrets"], headers, body, now, tolerance)
            return sig.replay_key(source["kind"], headers, body)
        if sig.STANDARD_SIGNATURE in headers:
            sig.verify_standard(source["secrets"], headers, body, now, tolerance)  # it signs its webhook-id
            return None
    except SignatureError as exc:
        raise Problem(401, f"webhook signature rejected: {exc}", title="Unauthorized") from None
    if presented_key(request):
        principal = await authenticate(request)
        if principal.role == "admin" or (principal.role == "platform" and principal.source == source["name"]):
            return None
        raise Problem(403, f"this key may not post to source {source['name']!r}", title="Forbidden")
    raise Problem(
        401,
        "missing signature: send Standard Webhooks headers (webhook-id, webhook-timestamp, "
        "webhook-signature), the platform's own signature, or a platform API key",
        title="Unauthorized",
    )


def _delivery_id(request: Request, body: bytes) -> str:
    for name in DELIVERY_HEADERS:
        if value := request.headers.get(name):
            return f"{name}:{value}"  # whole: the delivery log hashes a long id, never cuts it
    return "sha256:" + hashlib.sha256(body).hexdigest()


@router.post("/webhooks/{source_name}", status_code=202, tags=["webhooks"])
async def receive_webhook(source_name: str, request: Request, uow: UnitOfWork = Depends(get_uow)) -> JSONResponse:
    settings = settings_of(request)
    source = await ConfigRepository(uow.session).source(source_name)
    if source is None:
        raise Problem(404, f"no webhook source {source_name!r} is configured")
    if source["kind"] in EMAIL_KINDS:
        raise Problem(
            404, f"source {source_name!r} is an inbound email source: post to /v1/inbound/email/{source_name}"
        )
    body = await read_body(request, settings.max_webhook_bytes)
    replay = await _authenticate(request, source, body)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Problem(422, f"body: not valid JSON ({exc})", title="Invalid request") from None
    adapter = ADAPTERS[source["kind"]]
    event_header = EVENT_HEADERS.get(source["kind"])
    try:
        commands = adapter(
            payload, source=source_name, event=request.headers.get(event_header) if event_header else None
        )
    except PayloadError as exc:
        raise invalid_fields(exc.problems) from None

    async def work() -> tuple[int, dict]:
        applied = await apply_commands(
            commands,
            uow=uow,
            clock=clock_of(request),
            reference_prefix=settings.reference_prefix,
            brand=source["brand"],
            via=f"webhook:{source_name}",
        )
        for result in applied:
            WEBHOOK_COMMANDS.labels(source["kind"], result.action).inc()
        return 202, {"source": source_name, "results": [a.as_dict() for a in applied]}

    scope = f"webhook:{source_name}"
    try:
        return await once(
            uow, clock_of(request), scope, _delivery_id(request, body), work, also_known_as=[replay] if replay else []
        )
    except PayloadError as exc:  # a command's field over its bound (domain/limits.py), found before any write
        raise invalid_fields(exc.problems) from None


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    secrets: list[str] = Field(
        min_length=1,
        max_length=2,
        description=(
            "one, or two while rotating. mailgun: the HTTP webhook signing key. sendgrid, postmark: not used "
            "(they authenticate with a platform API key for this source) but required: put any placeholder"
        ),
    )
    brand: str = Field("default", min_length=1, max_length=100)


class SourceOut(BaseModel):
    name: str
    kind: str
    brand: str
    secrets: int = Field(description="how many secrets are valid (they are never shown)")


@router.put("/admin/webhook-sources/{name}", response_model=SourceOut, tags=["admin"])
async def put_source(
    name: str,
    body: SourceIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("admin")),
) -> SourceOut:
    if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 100:
        raise Problem(422, "name: letters, digits, - and _ only, at most 100", title="Invalid request")
    for secret in body.secrets:
        try:
            sig.standard_key(secret)
        except ValueError as exc:
            raise Problem(422, f"secrets: {exc}", title="Invalid request") from None
    await ConfigRepository(uow.session).put_source(name, body.kind, body.secrets, body.brand, clock_of(request).now())
    await uow.commit()
    return SourceOut(name=name, kind=body.kind, brand=body.brand, secrets=len(body.secrets))


@router.get("/admin/webhook-sources", response_model=list[SourceOut], tags=["admin"])
async def list_sources(uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))) -> list[SourceOut]:
    return [
        SourceOut(name=s["name"], kind=s["kind"], brand=s["brand"], secrets=len(s["secrets"]))
        for s in await ConfigRepository(uow.session).sources()
    ]


@router.delete("/admin/webhook-sources/{name}", status_code=204, tags=["admin"])
async def delete_source(
    name: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> None:
    if not await ConfigRepository(uow.session).delete_source(name):
        raise Problem(404, f"no webhook source {name!r}")
    await uow.commit()
