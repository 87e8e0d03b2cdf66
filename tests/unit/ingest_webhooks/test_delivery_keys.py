"""How the delivery log stores a delivery id: whole when short, hashed (never cut) when long."""

from __future__ import annotations

import hashlib

import pytest

from services.ingest.adapters.repository import DeliveryLog


@pytest.mark.parametrize("delivery_id", ["webhook-id:msg_1", "sha256:" + "0" * 64, "x" * DeliveryLog.MAX_STORED_ID])
def test_a_short_id_is_stored_as_it_is(delivery_id: str) -> None:
    assert DeliveryLog.key(delivery_id) == delivery_id


def test_long_ids_sharing_a_prefix_get_different_keys() -> None:
    prefix = "webhook-id:" + "x" * 300
    first, second = DeliveryLog.key(prefix + "a"), DeliveryLog.key(prefix + "b")
    assert first != second
    assert first == "sha256:" + hashlib.sha256((prefix + "a").encode()).hexdigest()
    assert len(first) <= DeliveryLog.MAX_STORED_ID
