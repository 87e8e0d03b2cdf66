"""The email an agent's public reply sends to the requester, built so the answer threads back. Pure.

Threading survives every mail client we know of because three independent clues are set:
`In-Reply-To`/`References` name the customer's messages (and ours), the subject carries
`[SB-1042]`, and `Reply-To` is the ticket's own `support+<token>@` address. `X-Switchboard-Loop`
lets ingest recognise its own mail if it ever comes back (auto-forwarders, misconfigured relays).
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from services.ingest.domain.model import Message, Ticket


def reply_subject(ticket: Ticket) -> str:
    subject = ticket.subject or "(no subject)"
    tag = f"[{ticket.reference}]"
    if tag not in subject:
        subject = f"{subject} {tag}"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def reply_address(ticket: Ticket, support_address: str) -> str:
    local, _, domain = support_address.partition("@")
    return f"{local}+{ticket.email_token}@{domain}" if ticket.email_token else support_address


def compose_reply(
    ticket: Ticket, reply: Message, thread: list[Message], *, support_address: str, brand_name: str, now: datetime
) -> tuple[EmailMessage, list[str]]:
    """The notification and its recipients (the requester first, then the others on the ticket)."""
    if not reply.email_message_id:
        raise ValueError("the reply needs its Message-ID before it can be sent")
    requester = (ticket.requester.email or "").lower()
    recipients = [a for a in dict.fromkeys([requester, *ticket.participants]) if a and a != support_address]
    known_ids = [m.email_message_id for m in thread if m.email_message_id and m.id != reply.id]
    customer_ids = [m.email_message_id for m in thread if m.email_message_id and m.author_kind == "customer"]

    mail = EmailMessage()
    mail["From"] = formataddr((f"{reply.author_name or 'Support'} ({brand_name})", support_address))
    mail["To"] = recipients[0] if recipients else requester
    if len(recipients) > 1:
        mail["Cc"] = ", ".join(recipients[1:])
    mail["Reply-To"] = reply_address(ticket, support_address)
    mail["Subject"] = reply_subject(ticket)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{reply.email_message_id}>"
    if customer_ids:
        mail["In-Reply-To"] = f"<{customer_ids[-1]}>"
    if known_ids:
        mail["References"] = " ".join(f"<{i}>" for i in known_ids[-20:])  # RFC 5322 allows more; keep headers sane
    mail["X-Switchboard-Loop"] = ticket.reference
    mail["X-Switchboard-Ticket"] = ticket.id
    mail.set_content(reply.body)
    return mail, recipients
