"""Email in over HTTP (raw RFC 5322 upload), the admin view of what came in, and support addresses."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.ingest.adapters.outgoing_emails import OutgoingEmails
from services.ingest.adapters.repository import ConfigRepository, InboundEmailLog
from services.ingest.domain import limits
from services.ingest.domain.mailboxes import base_address
from services.ingest.entrypoints.deps import clock_of, once, read_body, settings_of
from services.ingest.handlers.email import InboundOutcome, handle_inbound_email
from shared.auth import Principal
from shared.auth.web import require
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1", tags=["email"], dependencies=[reject_unknown_query()])


async def accept_raw_email(
    request: Request,
    uow: UnitOfWork,
    raw: bytes,
    *,
    route: str,
    delivery_id: str | None,
    envelope_recipients: tuple[str, ...] = (),
) -> JSONResponse:
    """Shared by every HTTP email route: idempotent on the delivery id, 202 once committed.

    A quarantined or refused mail is still a 202: it is recorded with its reason and raw
    bytes, and a provider must not retry it (a 4xx would make it bounce or retry forever).
    """

    async def work() -> tuple[int, dict]:
        outcome = await handle_inbound_email(
            raw,
            route=route,
            uow=uow,
            clock=clock_of(request),
            settings=settings_of(request),
            envelope_recipients=envelope_recipients,
            delivery_id=delivery_id,
        )
        return 202, outcome.as_dict()

    return await once(uow, clock_of(request), f"email:{route}", delivery_id, work)


@router.post(
    "/inbound/email",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def upload_email(
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("platform")),
    idempotency_key: str | None = Header(None, max_length=200),
) -> JSONResponse:
    """A raw RFC 5322 message as the body (`Content-Type: message/rfc822`)."""
    raw = await read_body(request, settings_of(request).max_email_bytes)
    if not raw or raw.isspace():  # not raw.strip(): that copies a 40 MB body on the event loop
        raise Problem(422, "body: empty; send the raw message", title="Invalid request")
    # hashlib lets go of the GIL on big input: in a thread, a 40 MB body does not stall the loop
    delivery = idempotency_key or "sha256:" + await asyncio.to_thread(lambda: hashlib.sha256(raw).hexdigest())
    return await accept_raw_email(request, uow, raw, route="upload", delivery_id=delivery)


class InboundEmailOut(BaseModel):
    id: str
    route: str
    outcome: str
    reason: str
    from_address: str | None
    recipients: list[str]
    subject: str | None
    message_id: str | None
    ticket_id: str | None
    size: int
    has_raw: bool
    received_at: datetime


@router.get("/inbound/emails", response_model=list[InboundEmailOut])
async def list_inbound(
    outcome: InboundOutcome | None = None,
    limit: int = Query(50, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("manager")),
) -> list[InboundEmailOut]:
    rows = await InboundEmailLog(uow.session).list(outcome=outcome, limit=limit)
    return [
        InboundEmailOut(
            **{k: r[k] for k in InboundEmailOut.model_fields if k != "has_raw"}, has_raw=r["raw"] is not None
        )
        for r in rows
    ]


@router.get("/inbound/emails/{inbound_id}/raw", response_class=Response)
async def raw_inbound(
    inbound_id: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> Response:
    row = await InboundEmailLog(uow.session).get(inbound_id)
    if row is None or row["raw"] is None:
        raise Problem(404, f"no stored raw message for inbound email {inbound_id!r}")
    return Response(row["raw"], media_type="message/rfc822")


class MailboxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand: str = Field(min_length=1, max_length=100)
    tags: list[Annotated[str, Field(max_length=limits.MAX_TAG_CHARS)]] = Field(
        default_factory=list, max_length=20, description="added to every ticket from this address"
    )
    trusted_list_ids: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="List-Id of groups forwarding customer mail here; not treated as bulk",
    )


class MailboxOut(MailboxIn):
    address: str


def _mailbox_address(address: str) -> str:
    address = address.strip().lower()
    if address != "*" and not (address.count("@") == 1 and address.split("@")[1]):
        raise Problem(422, "address: an email address, `*@domain` or `*`", title="Invalid request")
    return address if address.startswith("*") else base_address(address)


@router.put("/admin/mailboxes/{address}", response_model=MailboxOut, tags=["admin"])
async def put_mailbox(
    address: str,
    body: MailboxIn,
    request: Request,
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("admin")),
) -> MailboxOut:
    address = _mailbox_address(address)
    await ConfigRepository(uow.session).put_mailbox(
        address, body.brand, body.tags, clock_of(request).now(), body.trusted_list_ids
    )
    await uow.commit()
    return MailboxOut(address=address, **body.model_dump())


@router.get("/admin/mailboxes", response_model=list[MailboxOut], tags=["admin"])
async def list_mailboxes(
    uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> list[MailboxOut]:
    return [
        MailboxOut(address=a, brand=m["brand"], tags=m["tags"], trusted_list_ids=m["trusted_list_ids"])
        for a, m in (await ConfigRepository(uow.session).mailboxes()).items()
    ]


@router.delete("/admin/mailboxes/{address}", status_code=204, tags=["admin"])
async def delete_mailbox(
    address: str, uow: UnitOfWork = Depends(get_uow), _: Principal = Depends(require("admin"))
) -> None:
    if not await ConfigRepository(uow.session).delete_mailbox(_mailbox_address(address)):
        raise Problem(404, f"no mailbox {address!r}")
    await uow.commit()


class OutgoingEmailOut(BaseModel):
    id: str
    ticket_id: str
    message_id: str
    recipients: list[str]
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


@router.get("/outbound/emails", response_model=list[OutgoingEmailOut])
async def list_outgoing(
    ticket_id: str | None = None,
    status: Literal["queued", "sending", "sent", "failed"] | None = None,
    limit: int = Query(50, ge=1, le=500),
    uow: UnitOfWork = Depends(get_uow),
    _: Principal = Depends(require("manager")),
) -> list[OutgoingEmailOut]:
    """Reply notifications and their delivery state through the SMTP relay."""
    rows = await OutgoingEmails(uow.session).list(ticket_id=ticket_id, status=status, limit=limit)
    return [OutgoingEmailOut(**{k: r[k] for k in OutgoingEmailOut.model_fields}) for r in rows]
