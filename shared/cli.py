"""`switchboard` command line: run the whole system locally, or prepare external infrastructure.

`up` runs Kafka, PostgreSQL, the four services, a demo configuration and the demo's webhook receiver; `migrate` and `topics`
prepare an external PostgreSQL and Kafka; `dead-letters` and `replay` inspect and resend a
service's quarantined messages. The help text is plain (no Rich boxes), so it reads the same in a
terminal, a log or an agent's transcript.
"""

from __future__ import annotations

import secrets
import signal
import threading
import time

import typer
from rich.console import Console
from rich.table import Table

from shared.events.topics import ALL_TOPICS
from shared.messaging.kafka import KafkaSecurity, ensure_topics
from shared.messaging.replay import dead_letters, replay
from shared.migrations import SERVICES
from shared.stack.config import StackSettings
from shared.stack.demo import load_demo
from shared.stack.local import ServiceProcess, prepare_database, start_infrastructure, start_services, supervise
from shared.stack.ports import StackError, run_async
from shared.stack.provision import database_url
from shared.stack.receiver import WebhookReceiver
from shared.stack.supervisor import Supervisor

HELP = """Run Switchboard on this machine, or prepare external Kafka and PostgreSQL for it.

Services: {services}.

dead-letters and replay read DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS, or use the stack that
`switchboard up` runs.""".format(services=", ".join(SERVICES))

app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP, rich_markup_mode=None)
console = Console()


def _service(value: str) -> str:
    if value not in SERVICES:
        raise typer.BadParameter(f"{value!r} is not a service; use one of: {', '.join(SERVICES)}")
    return value


SERVICE = typer.Argument(
    ..., parser=_service, metavar="SERVICE", show_default=False, help=f"one of: {', '.join(SERVICES)}"
)


@app.command(short_help="Run Kafka, PostgreSQL and the four services here until Ctrl-C.")
def up() -> None:
    """Start the whole system on this machine and keep it running until Ctrl-C."""
    settings = StackSettings()
    started = time.monotonic()
    with console.status("starting Kafka and PostgreSQL (first run downloads the Kafka jars)..."):
        try:
            infra = start_infrastructure(settings)
        except StackError as exc:
            console.print(f"[red]infrastructure did not start:[/red] {exc}")
            raise typer.Exit(1) from exc
    services: list[ServiceProcess] = []
    supervisor: Supervisor | None = None
    receiver = WebhookReceiver(
        settings.host, settings.webhook_receiver_port, settings.state_dir / "webhook-receiver.log"
    )
    try:
        receiver.start()
        with console.status("starting ingest, router, sla and escalation..."):
            ports = {name: settings.port_of(name) for name in SERVICES}
            # a fresh bootstrap admin key each run; the demo's own keys are issued with it
            admin_key = "sb_bootstrap_" + secrets.token_urlsafe(24)
            extra_env = {
                "SMTP_PORT": str(settings.smtp_port),
                "BOOTSTRAP_ADMIN_KEY": admin_key,
                # here only: escalation may then deliver to loopback, where the demo's receiver listens
                "ALLOW_PRIVATE_TARGETS": "true",
            }
            log_dir = settings.state_dir / "logs"
            services = start_services(infra, ports, log_dir=log_dir, extra_env=extra_env)
        demo = load_demo(services, settings.state_dir, admin_key, receiver)
        _print_summary(settings, infra.bootstrap_servers, services, demo, time.monotonic() - started)
        supervisor = supervise(infra, services, log_dir=log_dir, extra_env=extra_env, notify=_say)
        _run_until_stop_signal(supervisor)
    except StackError as exc:
        console.print(f"[red]a service did not start:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        console.print("stopping services, Kafka and PostgreSQL...")
        for service in services:
            service.stop()
        if supervisor is not None:
            supervisor.stop_all()  # the replacements started since
        receiver.stop()
        infra.stop()
        console.print("stopped.")


@app.command(short_help="Create roles and schemas, migrate each service (DATABASE_URL).")
def migrate() -> None:
    """Create roles and schemas and apply every service's migrations (DATABASE_URL = an admin role)."""
    settings = StackSettings()
    if not settings.database_url:
        console.print("[red]set DATABASE_URL to a role that may create roles and schemas[/red]")
        raise typer.Exit(2)
    urls = prepare_database(settings.database_url, settings.db_passwords())
    for service in urls:
        console.print(f"{service}: schema and migrations up to date")


@app.command(short_help="Create the event catalogue's topics (KAFKA_BOOTSTRAP_SERVERS).")
def topics() -> None:
    """Create every topic of the event catalogue (auto-creation stays off)."""
    settings = StackSettings()
    if not settings.kafka_bootstrap_servers:
        console.print("[red]set KAFKA_BOOTSTRAP_SERVERS[/red]")
        raise typer.Exit(2)
    security = KafkaSecurity.from_settings(settings)
    run_async(
        ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions, security=security),
        timeout=60,
    )
    console.print("topics: " + ", ".join(ALL_TOPICS))


def _admin_url(settings: StackSettings) -> str:
    admin = settings.database_url or f"postgresql://postgres@127.0.0.1:{settings.postgres_port}/postgres"
    return database_url(admin)


def _bootstrap(settings: StackSettings) -> str:
    return settings.kafka_bootstrap_servers or f"127.0.0.1:{settings.kafka_port}"


@app.command("dead-letters", short_help="List a service's quarantined messages and why.")
def list_dead_letters(
    service: str = SERVICE,
    replayed: bool = typer.Option(False, "--replayed", show_default=False, help="include those already replayed"),
) -> None:
    """List a service's quarantined messages with the reason each was set aside."""
    rows = run_async(dead_letters(_admin_url(StackSettings()), service, include_replayed=replayed), timeout=30)
    table = Table(title=f"{service}: {len(rows)} dead letter(s)")
    for column in ("id", "consumer", "topic@offset", "key", "error", "when", "replayed"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["consumer"],
            f"{r['topic']}[{r['partition']}]@{r['offset']}",
            r["key"] or "",
            r["error"][:120],
            r["created_at"].isoformat(timespec="seconds"),
            r["replayed_at"].isoformat(timespec="seconds") if r["replayed_at"] else "",
        )
    console.print(table)


@app.command("replay", short_help="Send a service's quarantined messages back to their topic.")
def replay_dead_letters(
    service: str = SERVICE,
    id: list[int] = typer.Option(
        None,
        "--id",
        metavar="ID",
        help="only the dead letter with this id; repeat for more (default: all not replayed)",
    ),
) -> None:
    """Send quarantined messages back to their topic, unchanged (same event id, so nothing applies twice)."""
    settings = StackSettings()
    count = run_async(
        replay(
            _admin_url(settings),
            _bootstrap(settings),
            service,
            id or None,
            security=KafkaSecurity.from_settings(settings),
        ),
        timeout=120,
    )
    console.print(f"{service}: replayed {count} dead letter(s)")


def _print_summary(
    settings: StackSettings, bootstrap: str, services: list[ServiceProcess], demo: dict[str, str], seconds: float
) -> None:
    table = Table(title=f"Switchboard is up ({seconds:.0f} s)")
    table.add_column("what")
    table.add_column("where")
    for service in services:
        table.add_row(service.name, f"{service.url}/docs   (ready: {service.url}/readyz)")
    table.add_row("SMTP", f"127.0.0.1:{settings.smtp_port}")
    table.add_row("Kafka", bootstrap)
    table.add_row("logs", str((settings.state_dir / "logs").resolve()))
    for label, value in demo.items():
        table.add_row(label, value)
    console.print(table)
    console.print("Press Ctrl-C to stop everything.")


def _say(message: str) -> None:
    console.print(f"[yellow]{message}[/yellow]")


def _run_until_stop_signal(supervisor: Supervisor) -> None:
    """Restart services that die until SIGINT/SIGTERM; Kafka and PostgreSQL stay up meanwhile."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    supervisor.run(stop.wait, interval_s=0.5)


if __name__ == "__main__":
    app()
