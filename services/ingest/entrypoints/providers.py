"""`POST /v1/inbound/email/{source}`: the inbound-parse webhooks of SendGrid, Mailgun and Postmark.

The source is a webhook source (`PUT /v1/admin/webhook-sources/{name}`) of kind
`sendgrid`, `mailgun` or `postmark`; its brand is not used here (mail is routed by its
recipient mailbox, like every other email route).

Authentication:

* mailgun: the `timestamp`/`token`/`signature` form fields, HMAC-SHA256 with the source's
  secret (the Mailgun HTTP webhook signing key; two while rotating), within
  `WEBHOOK_TOLERANCE_S`. The token is the delivery id: a replayed post gets the stored
  answer (`Idempotent-Replayed: true`) and changes nothing.
* sendgrid, postmark: they sign nothing, so the URL carries a platform API key issued for
  this source (or an admin key) as HTTP Basic credentials, `https://any:KEY@host/...`
  (the password is the key); `Authorization: Bearer` and `X-Api-Key` work too. The
  source's `secrets` are not used for these kinds (the field is required: put anything).

The body is read once (`MAX_EMAIL_BYTES`, else 413), converted by
`services.ingest.email.providers` into RFC 5322 bytes (422 naming the field if a mail
cannot be made of it) and handed to `accept_raw_email` with route = the provider kind:
the answer is the same 202 as for any inbound mail. Mailgun only posts the raw MIME
(`body-mime`) to URLs ending in ``mime``, hence the `/{source}/mime` alias.
"""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from services.ingest.adapters.repository import ConfigRepository
from services.ingest.email.providers import (
    ProviderMail,
    ProviderPayloadError,
    from_mailgun,
    from_postmark,
    from_sendgrid,
    parse_form,
)
from services.ingest.entrypoints.deps import clock_of, invalid_fields, read_body, settings_of
from services.ingest.entrypoints.email import accept_raw_email
from services.ingest.webhooks.signatures import SignatureError, verify_mailgun
from shared.auth.web import authenticate, presented_key
from shared.messaging.uow import UnitOfWork
from shared.web.app import get_uow
from shared.web.problems import Problem
from shared.web.query import reject_unknown_query

router = APIRouter(prefix="/v1/inbound/email", tags=["email"], dependencies=[reject_unknown_query()])

KINDS = ("sendgrid", "mailgun", "postmark")
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "description": "SendGrid Inbound Parse or a Mailgun route"}
            },
            "application/x-www-form-urlencoded": {
                "schema": {"type": "object", "description": "a Mailgun route without attachments"}
            },
            "application/json": {"schema": {"type": "object", "description": "Postmark inbound webhook"}},
        },
    }
}


def _invalid(exc: ProviderPayloadError) -> Problem:
    return invalid_fields([(exc.field, exc.detail)])


async def _require_key(request: Request, source: dict) -> None:
    if not presented_key(request):
        raise Problem(
            401,
            f"an API key is required: put a platform key issued for source {source['name']!r} in the "
            "URL (https://any:KEY@host/...), or send `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
            title="Unauthorized",
            headers={"WWW-Authenticate": 'Basic realm="switchboard"'},
        )
    principal = await authenticate(request)
    if principal.role == "admin" or (principal.role == "platform" and principal.source == source["name"]):
        return
    raise Problem(403, f"this key may not post to source {source['name']!r}", title="Forbidden")


def _verify_mailgun(request: Request, source: dict, fields: dict[str, str | None]) -> None:
    tolerance = timedelta(seconds=settings_of(request).webhook_tolerance_s)
    try:
        verify_mailgun(source["secrets"], fields, clock_of(request).now(), tolerance)
    except SignatureError as exc:
        raise Problem(401, f"Mailgun signature rejected: {exc}", title="Unauthorized") from None


async def _convert(request: Request, source: dict, body: bytes) -> ProviderMail:
    kind = source["kind"]
    if kind == "postmark":
        await _require_key(request, source)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise Problem(
                422,
                f"body: not valid JSON ({exc})",
                title="Invalid request",
                errors=[{"field": "body", "message": "not valid JSON"}],
            ) from None
        return from_postmark(payload)
    if kind == "sendgrid":
        await _require_key(request, source)
    form = parse_form(body, request.headers.get("content-type"))
    if kind == "mailgun":
        _verify_mailgun(request, source, {name: form.text(name) for name in ("timestamp", "token", "signature")})
        return from_mailgun(form)
    return from_sendgrid(form)


@router.post("/{source_name}", status_code=202, openapi_extra=_BODY)
@router.post("/{source_name}/mime", status_code=202, openapi_extra=_BODY, include_in_schema=False)
async def receive_provider_email(
    source_name: str, request: Request, uow: UnitOfWork = Depends(get_uow)
) -> JSONResponse:
    """One mail from SendGrid Inbound Parse, a Mailgun route, or Postmark's inbound webhook."""
    source = await ConfigRepository(uow.session).source(source_name)
    if source is None or source["kind"] not in KINDS:
        raise Problem(
            404, f"no inbound email source {source_name!r} is configured (a webhook source of kind {', '.join(KINDS)})"
        )
    body = await read_body(request, settings_of(request).max_email_bytes)
    try:
        mail = await _convert(request, source, body)
    except ProviderPayloadError as exc:
        raise _invalid(exc) from None
    return await accept_raw_email(
        request,
        uow,
        mail.raw,
        route=source["kind"],
        delivery_id=mail.delivery_id,
        envelope_recipients=mail.envelope_recipients,
    )
