"""insights: the support manager's view, derived from the events on Kafka and nothing else.

Why a fifth service rather than queries in the other four: reporting reads every topic (tickets,
routing, sla, escalations) and scans weeks of history, and its queries must never slow routing or
the SLA timers; so it keeps its own projections in its own schema (`insights`), fed by its own
consumer group, and never reads another service's tables. Every projection is a function of the
set of events it has seen (each ticket's and agent's rows are recomputed from its stored events),
so the schema can be dropped and rebuilt from the topics at any time (`switchboard rebuild
insights`) and gives the same figures.
"""
