"""What every insights route shares: the managers' access, the clock, ranges and field problems."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from services.insights.domain.windows import Interval, bucket_count
from services.insights.entrypoints.session import dashboard_or_key_principal
from services.insights.settings import InsightsSettings
from shared.web.app import get_runtime
from shared.web.problems import Problem

# a manager's or admin's API key, or (for the dashboard's page) its session cookie; the routes only read
managers = dashboard_or_key_principal
DEFAULT_RANGE = timedelta(days=7)


def now(request: Request) -> datetime:
    return get_runtime(request).clock.now()


def invalid(field: str, message: str) -> Problem:
    return Problem(422, f"{field}: {message}", title="Invalid request", errors=[{"field": field, "message": message}])


def time_range(
    request: Request, start: datetime | None, end: datetime | None, interval: Interval | None = None
) -> tuple[datetime, datetime]:
    """[from, to): `to` defaults to now, `from` to 7 days before `to`; bounded by the settings."""
    settings: InsightsSettings = request.app.state.settings
    end = end or now(request)
    try:
        start = start or end - DEFAULT_RANGE
    except OverflowError:
        raise invalid("from", "is needed: 7 days before `to` is out of range") from None
    if start >= end:
        raise invalid("from", "must be before `to`")
    if end - start > timedelta(days=settings.max_range_days):
        raise invalid("from", f"the range may span at most {settings.max_range_days} days")
    if bucket_count(start, end, interval) > settings.max_buckets:
        raise invalid("interval", f"cuts the range into more than {settings.max_buckets} buckets; use a longer one")
    return start, end


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def csv_response(rows: Sequence[dict[str, Any]], filename: str) -> Response:
    """The rows as text/csv, one column per field (group and bucket first), empty cells for None."""
    out = io.StringIO()
    columns: list[str] = list(dict.fromkeys(name for row in rows for name in row)) or ["group", "bucket"]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in columns])
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )
