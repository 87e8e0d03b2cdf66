"""Router handlers. No lock serialises them: each locks the rows it changes (the ticket, the agent),
reservations never wait for a lock (`RoutingRepository.reserve`), and `wakeups` closes the gap two
concurrent changes could leave between a waiting ticket and an agent with room. The database
constraints (one assignment row per ticket, conditional capacity updates) have the last word.
The caller (consumer loop, HTTP route, sweeper) commits.
"""
