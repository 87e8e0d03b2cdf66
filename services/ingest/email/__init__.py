"""Pure parsing of inbound support mail: bytes in, `ParsedEmail` out, no I/O.

* `parse_email` / `EmailParseError` / `ParsedEmail` (parse.py): MIME, headers, body text,
  attachments metadata, de-duplication hash;
* `automated_reason` (classify.py): auto-replies, bounces, lists, our own loops;
* `html_to_text` (html_text.py) and `trim_reply` (quotes.py): the text helpers parse uses.
"""

from .classify import automated_reason
from .html_text import html_to_text
from .parse import CLASSIFICATION_HEADERS, EmailParseError, ParsedEmail, content_hash, parse_email
from .quotes import trim_reply

__all__ = [
    "CLASSIFICATION_HEADERS",
    "EmailParseError",
    "ParsedEmail",
    "automated_reason",
    "content_hash",
    "html_to_text",
    "parse_email",
    "trim_reply",
]
