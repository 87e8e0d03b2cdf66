"""`switchboard report`: the managers' KPIs as tables, read from the insights API (never its tables).

The API is the one place the KPIs are defined; the command is its client, so it prints exactly what
a dashboard shows, with a manager's (or admin's) key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

KPIS = ("volume", "first-reply", "resolution", "sla", "escalations", "fcr", "csat", "occupancy", "reopens")


class ReportError(Exception):
    """The API refused or could not be reached; the message says why."""


def demo_manager_key(state_dir: Path) -> str | None:
    path = state_dir / "demo-keys.json"
    if not path.exists():
        return None
    key = json.loads(path.read_text()).get("manager")
    return str(key) if key else None


def fetch(base_url: str, key: str, path: str, params: dict[str, str]) -> dict[str, Any]:
    try:
        response = httpx.get(
            f"{base_url.rstrip('/')}{path}", params=params, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
    except httpx.HTTPError as exc:
        raise ReportError(f"{base_url}: {exc}") from exc
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise ReportError(f"{path}: {response.status_code} {detail}")
    answer: dict[str, Any] = response.json()
    return answer


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def summary_table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"Summary {summary['from']} .. {summary['to']}")
    table.add_column("KPI")
    table.add_column("value", justify="right")
    for name, value in summary.items():
        if name in ("from", "to"):
            continue
        if isinstance(value, dict) and name in ("first_reply", "resolution"):
            for part, seconds in value.items():
                table.add_row(f"{name} {part}", _cell(seconds))
        else:
            table.add_row(name, _cell(value))
    return table


def kpi_table(answer: dict[str, Any]) -> Table:
    rows = answer["rows"]
    title = f"{answer['kpi']} {answer['from']} .. {answer['to']}"
    if answer.get("group_by"):
        title += f" by {answer['group_by']}"
    table = Table(title=title)
    columns = list(dict.fromkeys(name for row in rows for name in row)) or ["group", "bucket"]
    for name in columns:
        table.add_column(name, justify="left" if name in ("group", "bucket") else "right")
    for row in rows:
        table.add_row(*(_cell(row.get(name)) for name in columns))
    return table
