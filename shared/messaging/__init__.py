"""Kafka plumbing: outbox, inbox, relay, consumer runner and dead letters."""
