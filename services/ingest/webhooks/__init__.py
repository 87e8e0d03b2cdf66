"""The pure webhook layer of ingest: signature checks and per-platform payload mapping (`payloads/`).

No network, no database, no clock: callers pass the raw body, the headers and `now`.
See docs/webhooks.md for the generic shape, the signing schemes and the mappings.
"""

from services.ingest.webhooks.payloads import ADAPTERS, EVENT_HEADERS, Adapter
from services.ingest.webhooks.signatures import (
    SCHEMES,
    SignatureError,
    replay_key,
    sign_chatwoot,
    sign_intercom,
    sign_mailgun,
    sign_standard,
    sign_zendesk,
    verify_chatwoot,
    verify_intercom,
    verify_mailgun,
    verify_standard,
    verify_zendesk,
)

__all__ = [
    "ADAPTERS",
    "EVENT_HEADERS",
    "SCHEMES",
    "Adapter",
    "SignatureError",
    "replay_key",
    "sign_chatwoot",
    "sign_intercom",
    "sign_mailgun",
    "sign_standard",
    "sign_zendesk",
    "verify_chatwoot",
    "verify_intercom",
    "verify_mailgun",
    "verify_standard",
    "verify_zendesk",
]
