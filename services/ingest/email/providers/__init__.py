"""Inbound-parse webhooks of SendGrid, Mailgun and Postmark turned back into RFC 5322 bytes.

Pure: payload in, `ProviderMail(raw, delivery_id, envelope_recipients)` out (a NamedTuple,
so it unpacks as the 3-tuple `accept_raw_email` wants). Every route then goes through
`parse_email` like any other mail, so threading, auto-reply detection and de-duplication
behave the same whichever way a mail came in.

When the provider posts the original message (SendGrid "Send Raw" -> `email`, a Mailgun
route URL ending in ``mime`` -> `body-mime`, Postmark "Include raw email content" ->
`RawEmail`) those bytes are used untouched. Otherwise a message is rebuilt from the parsed
fields (`rebuild.py` says how).

One module per provider (`sendgrid.py`, `mailgun.py`, `postmark.py`: each documents the
payload shape it follows) over the form reader in `forms.py`. Anything a mail cannot be
made of raises `ProviderPayloadError(field, detail)` (the route answers 422 naming the
field).
"""

from .forms import FormData, FormPart, ProviderPayloadError, parse_form
from .mailgun import from_mailgun
from .postmark import from_postmark
from .rebuild import ProviderMail
from .sendgrid import from_sendgrid

__all__ = [
    "FormData",
    "FormPart",
    "ProviderMail",
    "ProviderPayloadError",
    "from_mailgun",
    "from_postmark",
    "from_sendgrid",
    "parse_form",
]
