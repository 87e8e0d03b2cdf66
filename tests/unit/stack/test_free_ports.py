"""Ports for a stack's services: each free a moment ago, and never two alike."""

from __future__ import annotations

import socket

from shared.migrations import SERVICES
from shared.stack.local import free_ports
from shared.stack.ports import distinct_free_ports


def test_many_ports_asked_for_at_once_are_all_different_and_free_again_after() -> None:
    ports = distinct_free_ports(200)
    assert len(set(ports)) == 200
    for port in ports[:20]:  # released: a service can bind each
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_every_service_gets_a_port_of_its_own() -> None:
    for _ in range(50):
        ports = free_ports()
        assert set(ports) == set(SERVICES)
        assert len(set(ports.values())) == len(SERVICES)
