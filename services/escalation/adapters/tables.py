"""Tables in the `escalation` schema: so far only the plumbing; the escalation issue adds its own on `metadata`."""

from __future__ import annotations

from shared.skeleton import service_tables

tables = service_tables("escalation")
metadata = tables.metadata
