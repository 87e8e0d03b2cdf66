"""Tables in the `sla` schema: so far only the plumbing; the sla issue adds its own on `metadata`."""

from __future__ import annotations

from shared.skeleton import service_tables

tables = service_tables("sla")
metadata = tables.metadata
