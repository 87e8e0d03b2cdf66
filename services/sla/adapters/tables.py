"""Tables in the `sla` schema: so far only the messaging tables; the sla issue adds its own."""

from __future__ import annotations

from shared.auth.tables import add_api_keys_table
from shared.db import make_metadata
from shared.messaging.tables import add_messaging_tables

metadata = make_metadata("sla")
messaging = add_messaging_tables(metadata)
api_keys = add_api_keys_table(metadata)
