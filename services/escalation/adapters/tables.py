"""Tables in the `escalation` schema: so far only the messaging tables; the escalation issue adds its own."""

from __future__ import annotations

from shared.auth.tables import add_api_keys_table
from shared.db import make_metadata
from shared.messaging.tables import add_messaging_tables

metadata = make_metadata("escalation")
messaging = add_messaging_tables(metadata)
api_keys = add_api_keys_table(metadata)
