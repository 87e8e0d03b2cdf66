"""Developer tool: autogenerate a service's next Alembic revision against a throw-away PostgreSQL.

    python -m shared.stack.revision ingest "add webhook sources"

Starts a temporary server, applies the service's current migrations, lets Alembic compare
them with the service's tables, writes the new revision file, stops the server. Read the
file before committing it: autogenerate does not see sequences or data changes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from shared.migrations import SERVICES, alembic_config
from shared.stack.local import prepare_database
from shared.stack.ports import free_port
from shared.stack.postgres import start_postgres
from shared.stack.provision import default_password


def main(service: str, message: str) -> None:
    if service not in SERVICES:
        raise SystemExit(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_postgres(Path(tmp) / "pg", port=free_port(), fast=True)
        try:
            urls = prepare_database(server.admin_url, {s: default_password(s) for s in SERVICES})
            cfg = alembic_config(service, urls[service])
            versions = Path(cfg.get_main_option("script_location") or "") / "versions"
            number = len(list(versions.glob(f"{service}_*.py"))) + 1
            command.revision(cfg, message=message, autogenerate=True, rev_id=f"{service}_{number:04d}")
        finally:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
