"""Key material and the caller identity a request is authorised as."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

ROLES = ("admin", "manager", "agent", "platform")


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    name: str
    agent_id: str | None = None
    source: str | None = None


def generate_secret(role: str) -> str:
    """`sb_<role>_` plus 192 random bits: recognisable in logs and secret scanners, unguessable."""
    return f"sb_{role}_{secrets.token_urlsafe(24)}"


def hash_key(secret: str) -> str:
    # a plain hash is enough: the secret has 192 bits of entropy, so nothing can be brute-forced
    return hashlib.sha256(secret.encode()).hexdigest()
