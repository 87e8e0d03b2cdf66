"""Ingest's handlers: load, decide (pure functions in domain/), save, stage events.

The caller (an HTTP route, the SMTP listener or a Kafka consumer) owns the unit of work
and commits it, so a ticket, its messages and its outbox events land together or not at all.
"""
