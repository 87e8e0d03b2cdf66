"""API keys with roles, accepted by every service.

Ingest issues and revokes keys (it publishes `ApiKeyIssued`/`ApiKeyRevoked`); every service
keeps its own `api_keys` table in its own schema, fed by those events, and checks requests
against it. Only key hashes are stored or sent; the secret is shown once at creation.
"""

from shared.auth.keys import ROLES, Principal, generate_secret, hash_key

__all__ = ["ROLES", "Principal", "generate_secret", "hash_key"]
