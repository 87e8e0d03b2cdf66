"""Which configured support address a mail was sent to. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Mailbox:
    address: str  # exact `support@acme.example`, a domain `*@acme.example`, or `*` for any
    brand: str
    tags: tuple[str, ...] = ()
    # List-Id values of groups that forward customer mail here (e.g. a Google Group as support@):
    # their list headers do not make a mail "bulk"
    trusted_list_ids: tuple[str, ...] = ()


def base_address(address: str) -> str:
    """`support+a1b2@acme.example` -> `support@acme.example`."""
    local, at, domain = address.lower().partition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}"


def match_mailbox(recipients: Iterable[str], mailboxes: Iterable[Mailbox]) -> tuple[Mailbox, str] | None:
    """The first recipient that is a support address, most specific rule first; with the address matched."""
    boxes = list(mailboxes)
    exact = {m.address: m for m in boxes if "*" not in m.address}
    domains = {m.address[2:]: m for m in boxes if m.address.startswith("*@")}
    anything = next((m for m in boxes if m.address == "*"), None)
    recipients = [base_address(r) for r in recipients if r and "@" in r]
    for rule in (exact.get, lambda r: domains.get(r.partition("@")[2])):
        for recipient in recipients:
            if (box := rule(recipient)) is not None:
                return box, recipient
    if anything is not None and recipients:
        return anything, recipients[0]
    return None


def is_own_address(address: str | None, mailboxes: Iterable[Mailbox]) -> bool:
    """True for an exact support address (a wildcard never makes a customer "us")."""
    return bool(address) and any(base_address(address or "") == m.address for m in mailboxes if "*" not in m.address)
