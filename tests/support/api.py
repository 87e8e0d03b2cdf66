"""What tests need to call the services' APIs: the bootstrap admin key the fixtures start them with."""

from __future__ import annotations

ADMIN_KEY = "sb_admin_test-bootstrap-key-not-secret"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
