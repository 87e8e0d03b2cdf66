"""What every sla route needs: the clock, the readers' roles, and configuration errors as problems.

Validation problems come with paths into the whole configuration (`calendars.<id>.weekly.0.1`,
`policies.2.calendar_id`); `field_problem` says them in the request's own terms (`hours.mon.1`,
`calendar_id`), so every 422 names the field the caller sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import Request

from services.sla.entrypoints.schemas import DAYS
from services.sla.handlers.config import InUse, InvalidConfig, NotFound
from services.sla.settings import SlaSettings
from shared.auth.web import require
from shared.web.app import get_runtime
from shared.web.problems import Problem

READERS = ("agent", "manager", "platform")
read_access = require(*READERS)
admin_only = require()
_WEEKDAY = re.compile(r"^weekly\.(\d)(?=\.|$)")
_RENAMED = {"holidays_country": "holidays.country", "holidays_subdivision": "holidays.subdivision"}


def now(request: Request) -> datetime:
    return get_runtime(request).clock.now()


def settings_of(request: Request) -> SlaSettings:
    settings: SlaSettings = request.app.state.settings
    return settings


def calendar_field(path: str) -> str:
    """A Calendar's field path as the request body spells it (`weekly.0.1` is `hours.mon.1`)."""
    path = _WEEKDAY.sub(lambda m: f"hours.{DAYS[int(m.group(1))]}" if int(m.group(1)) < 7 else m.group(0), path)
    head, dot, rest = path.partition(".")
    return _RENAMED.get(head, head) + dot + rest


def config_field(path: str, *, calendar_id: str | None = None, policy_index: int | None = None) -> str:
    """A configuration path relative to the calendar or policy the request is about, if it is in it."""
    if calendar_id is not None and path.startswith(f"calendars.{calendar_id}."):
        return calendar_field(path.removeprefix(f"calendars.{calendar_id}."))
    if match := re.match(r"^calendars\.([^.]+)\.(.*)$", path):
        return f"calendars.{match.group(1)}.{calendar_field(match.group(2))}"
    if policy_index is not None and path.startswith(f"policies.{policy_index}."):
        return path.removeprefix(f"policies.{policy_index}.")
    if policy_index is not None and path == "default_policy_id":
        return "default"
    return path


@contextmanager
def config_problems(*, calendar_id: str | None = None, draft: bool = False) -> Iterator[None]:
    """A refused configuration change as the problem the caller sees, naming fields as the request does
    (a draft's paths stay whole-configuration paths)."""
    try:
        yield
    except InvalidConfig as exc:
        index = None if draft else exc.policy_index
        errors = [
            {"field": config_field(path, calendar_id=calendar_id, policy_index=index), "message": message}
            for path, message in exc.problems
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:10])
        raise Problem(422, detail, title="Invalid SLA configuration", errors=errors) from None
    except NotFound as exc:
        raise Problem(404, f"no such calendar or policy: {exc}") from None
    except InUse as exc:
        raise Problem(409, str(exc)) from None
