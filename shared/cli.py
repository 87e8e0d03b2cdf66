"""`switchboard` command line: run the whole system locally, or prepare external infrastructure.

`up` runs Kafka, PostgreSQL, the five services, a demo configuration and the demo's webhook
receiver; `migrate` and `topics`
prepare an external PostgreSQL and Kafka; `dead-letters` and `replay` inspect and resend a
service's quarantined messages; `rebuild insights` replays the topics into emptied projections, and
`report` prints the managers' KPIs from the insights API. The help text is plain (no Rich boxes), so it reads the same in a
terminal, a log or an agent's transcript.
"""

from __future__ import annotations

import secrets
import signal
import threading
import time
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.events.topics import ALL_TOPICS
from shared.messaging.kafka import KafkaSecurity, ensure_topics
from shared.messaging.replay import dead_letters, replay
from shared.migrations import SERVICES
from shared.pg import DatabaseUrlError
from shared.rebuild import REBUILDABLE, progress, start_rebuild, topic_offsets
from shared.report import KPIS, ReportError, demo_manager_key, fetch, kpi_table, summary_table
from shared.stack.config import StackSettings
from shared.stack.demo import load_demo
from shared.stack.local import ServiceProcess, prepare_database, start_infrastructure, start_services, supervise
from shared.stack.ports import StackError, run_async
from shared.stack.provision import database_url
from shared.stack.receiver import WebhookReceiver
from shared.stack.supervisor import Supervisor

HELP = """Run Switchboard on this machine, or prepare external Kafka and PostgreSQL for it.

Services: {services}.

dead-letters, replay and rebuild read DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS, or use the stack
that `switchboard up` runs.""".format(services=", ".join(SERVICES))

app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP, rich_markup_mode=None)
console = Console()


def _service(value: str) -> str:
    if value not in SERVICES:
        raise typer.BadParameter(f"{value!r} is not a service; use one of: {', '.join(SERVICES)}")
    return value


SERVICE = typer.Argument(
    ..., parser=_service, metavar="SERVICE", show_default=False, help=f"one of: {', '.join(SERVICES)}"
)


@app.command(short_help="Run Kafka, PostgreSQL and the five services here until Ctrl-C.")
def up() -> None:
    """Start the whole system on this machine and keep it running until Ctrl-C."""
    settings = StackSettings()
    started = time.monotonic()
    with console.status("starting Kafka and PostgreSQL (first run downloads the Kafka jars)..."):
        try:
            infra = start_infrastructure(settings)
        except (StackError, DatabaseUrlError) as exc:
            console.print(f"[red]infrastructure did not start:[/red] {exc}")
            raise typer.Exit(1) from exc
    services: list[ServiceProcess] = []
    supervisor: Supervisor | None = None
    receiver = WebhookReceiver(
        settings.host, settings.webhook_receiver_port, settings.state_dir / "webhook-receiver.log"
    )
    try:
        receiver.start()
        with console.status("starting ingest, router, sla, escalation and insights..."):
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
    try:
        urls = prepare_database(settings.database_url, settings.db_passwords())
    except DatabaseUrlError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    for service in urls:
        console.print(f"{service}: schema and migrations up to date")


@app.command(short_help="Create the event catalogue's topics (KAFKA_BOOTSTRAP_SERVERS).")
def topics() -> None:
    """Create the catalogue's missing topics (TOPIC_PARTITIONS, TOPIC_REPLICATION_FACTOR); auto-creation stays off."""
    settings = StackSettings()
    if not settings.kafka_bootstrap_servers:
        console.print("[red]set KAFKA_BOOTSTRAP_SERVERS[/red]")
        raise typer.Exit(2)
    security = KafkaSecurity.from_settings(settings)
    created = run_async(
        ensure_topics(
            settings.kafka_bootstrap_servers,
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            security=security,
        ),
        timeout=60,
    )
    console.print("topics: " + ", ".join(ALL_TOPICS))
    if created:
        # existing topics are left as they are: their partitions and replicas are not changed here
        console.print(
            f"created {', '.join(created)} with {settings.topic_partitions} partitions, "
            f"replication factor {settings.topic_replication_factor}"
        )


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


def _rebuildable(value: str) -> str:
    if value not in REBUILDABLE:
        raise typer.BadParameter(f"{value!r} has no projections to rebuild; use one of: {', '.join(REBUILDABLE)}")
    return value


@app.command("rebuild", short_help="Empty a service's projections and replay every topic into them.")
def rebuild(
    service: str = typer.Argument(
        ..., parser=_rebuildable, metavar="SERVICE", show_default=False, help=f"one of: {', '.join(REBUILDABLE)}"
    ),
    timeout: float = typer.Option(600.0, "--timeout", help="stop waiting for the replay after this many seconds"),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="follow the replay until it has caught up"),
) -> None:
    """Truncate the service's projections and move its consumer to a fresh group that reads every topic
    from the earliest offset, then carries on live (the running service does the replay)."""
    settings = StackSettings()
    security = KafkaSecurity.from_settings(settings)
    spec = REBUILDABLE[service]
    started = run_async(start_rebuild(_admin_url(settings), service, datetime.now(UTC)), timeout=60)
    console.print(f"{service}: emptied {', '.join(started.truncated)}; replaying into group {started.group}")
    if not wait:
        return
    offsets = run_async(topic_offsets(_bootstrap(settings), spec.topics, security), timeout=60)
    deadline = time.monotonic() + timeout
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{service}: replaying", total=offsets.total)
        while True:
            done = run_async(progress(_bootstrap(settings), started.group, offsets, security), timeout=60)
            bar.update(task, completed=done)
            if done >= offsets.total:
                break
            if time.monotonic() > deadline:
                console.print(f"[red]{service}: {done} of {offsets.total} records replayed after {timeout:.0f} s[/red]")
                raise typer.Exit(1)
            time.sleep(0.5)
    console.print(f"{service}: rebuilt from {offsets.total} records; its consumer carries on live")


@app.command("report", short_help="Print the managers' KPIs as tables (from the insights API).")
def report(
    start: str = typer.Option(None, "--from", help="ISO-8601 with a zone; default: 7 days before --to"),
    end: str = typer.Option(None, "--to", help="ISO-8601 with a zone; default: now"),
    group_by: str = typer.Option(None, "--group-by", help="channel, brand, queue, priority, tier or agent"),
    kpi: list[str] = typer.Option(None, "--kpi", help=f"one of {', '.join(KPIS)}; repeat for more"),
    interval: str = typer.Option(None, "--interval", help="hour, day or week"),
    url: str = typer.Option(None, "--url", help="the insights API; default: 127.0.0.1 at INSIGHTS_PORT"),
    key: str = typer.Option(
        None, "--key", envvar="SWITCHBOARD_API_KEY", help="manager or admin key; default: the demo manager's"
    ),
) -> None:
    """Print the summary, and each --kpi per group and bucket, as the insights API answers them."""
    settings = StackSettings()
    base = url or f"http://{settings.host}:{settings.insights_port}"
    key = key or demo_manager_key(settings.state_dir) or ""
    if not key:
        console.print("[red]give --key (or SWITCHBOARD_API_KEY): a manager or admin API key[/red]")
        raise typer.Exit(2)
    params = {name: value for name, value in (("from", start), ("to", end)) if value}
    try:
        console.print(summary_table(fetch(base, key, "/v1/kpis/summary", params)))
        extra = {name: value for name, value in (("group_by", group_by), ("interval", interval)) if value}
        for name in kpi or ():
            console.print(kpi_table(fetch(base, key, f"/v1/kpis/{name}", {**params, **extra})))
    except ReportError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _print_summary(
    settings: StackSettings, bootstrap: str, services: list[ServiceProcess], demo: dict[str, str], seconds: float
) -> None:
    table = Table(title=f"Switchboard is up ({seconds:.0f} s)")
    table.add_column("what")
    table.add_column("where")
    for service in services:
        table.add_row(service.name, f"{service.url}/docs   (ready: {service.url}/readyz)")
        if service.name == "insights":
            table.add_row("dashboard", f"{service.url}/dashboard   (sign in with the manager key)")
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
