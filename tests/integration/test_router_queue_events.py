"""The router tells other services which queues exist: `queue.updated` on PUT, DELETE and at start."""

from __future__ import annotations

import pytest

from shared.events import topics
from shared.events.catalogue import decode
from shared.events.routing import QueueUpdated
from tests.support.ingest import unique
from tests.support.kafka import about, read_all
from tests.support.router import router_client

pytestmark = pytest.mark.integration


def _updates(records, queue: str) -> list[QueueUpdated]:
    found = [decode(e) for e in about(records, queue) if e.type == QueueUpdated.TYPE]
    return [e for e in found if isinstance(e, QueueUpdated)]


async def test_put_and_delete_of_a_queue_are_published_and_the_default_queue_is_announced_at_start(infra):
    name = unique("tier2")
    default = unique("default")
    async with router_client(infra, default_queue=default) as http:
        assert (await http.put(f"/v1/queues/{name}", json={})).status_code == 200
        assert (await http.delete(f"/v1/queues/{name}")).status_code == 204
        records = await read_all(
            infra.bootstrap_servers,
            topics.ROUTING,
            until=lambda rs: any(u.deleted for u in _updates(rs, name)) and bool(_updates(rs, default)),
        )
    # the start-up announcement of every queue may run after the PUT and announce it once more (not deleted)
    updates = _updates(records, name)
    put, deleted = updates[0], updates[-1]
    assert (put.deleted, deleted.deleted) == (False, True)
    assert [u.deleted for u in updates].count(True) == 1
    assert deleted.updated_at >= put.updated_at
    assert [u.deleted for u in _updates(records, default)] == [False]
