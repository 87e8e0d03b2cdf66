"""One payload adapter per platform, each turning a decoded payload into inbound commands.

(The folder is `payloads/`, not `adapters/`: in this service `adapters/` is the database.)

Every adapter has the same signature:

    parse(payload, *, source, event=None) -> list[InboundCommand]

- `payload`: the decoded JSON body (or, for a form post, the dict of its fields);
- `source`: the configured webhook source (e.g. "acme-zendesk"), copied into each command;
- `event`: the platform's event name when it travels outside the body (only Groove does
  this, in the header named in `EVENT_HEADERS`); adapters whose body names the event
  ignore it.

Adapters are pure. A structurally broken payload raises `PayloadError(field, detail)`;
an event the adapter does not know, or one with nothing for routing, is returned as
`Ignored(reason)` so the platform still gets a 2xx.
"""

from __future__ import annotations

from typing import Any, Protocol

from services.ingest.domain.inbound import InboundCommand

from . import chatwoot, freshdesk, front, generic, groove, intercom, zendesk


class Adapter(Protocol):
    def __call__(self, payload: Any, *, source: str, event: str | None = None) -> list[InboundCommand]: ...


ADAPTERS: dict[str, Adapter] = {
    "generic": generic.parse,
    "zendesk": zendesk.parse,
    "freshdesk": freshdesk.parse,
    "intercom": intercom.parse,
    "chatwoot": chatwoot.parse,
    "groove": groove.parse,
    "front": front.parse,
}

#: kind -> the (lower-case) request header carrying the event name, for `event=`.
EVENT_HEADERS: dict[str, str] = {"groove": groove.EVENT_HEADER}

__all__ = ["ADAPTERS", "EVENT_HEADERS", "Adapter"]
