"""Router handlers. Every one that touches assignments or capacity first takes the routing lock
(`RoutingRepository.lock_routing`), so replicas apply routing changes one at a time; the
database constraints (one assignment row per ticket, conditional capacity updates) are the
second line of defence. The caller (consumer loop, HTTP route, sweeper) commits.
"""
