"""Editing the SLA configuration: every save builds the whole would-be configuration, validates it
(calendar arithmetic, policy references, targets) and, only if nothing is wrong, writes the change and
a new version holding a snapshot of everything, under one lock so concurrent saves never lose one.
Re-applying moves every open ticket onto the newest version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.sla.adapters.repository import PolicyRow, SlaRepository
from services.sla.domain.business_time import calendar_problems
from services.sla.domain.model import Calendar, Policy, SlaConfig
from services.sla.domain.policies import config_problems
from services.sla.handlers.evaluation import reevaluate
from services.sla.handlers.tickets import latest_version
from shared.messaging.uow import UnitOfWork

FieldProblems = list[tuple[str, str]]


class InvalidConfig(Exception):
    """The configuration a change would make is invalid; paths are the configuration's own."""

    def __init__(self, problems: FieldProblems, *, policy_index: int | None = None) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems
        self.policy_index = policy_index  # where the policy being saved sits in `policies`


class NotFound(Exception):
    pass


class InUse(Exception):
    pass


@dataclass(frozen=True)
class Saved:
    config: SlaConfig
    position: int | None = None


def default_of(rows: Sequence[PolicyRow]) -> str | None:
    return next((row.policy.id for row in rows if row.is_default), None)


def assemble(calendars: dict[str, Calendar], ordered: Sequence[Policy], default_id: str | None) -> SlaConfig:
    return SlaConfig(version=0, policies=tuple(ordered), default_policy_id=default_id, calendars=calendars)


def problems_of(config: SlaConfig) -> FieldProblems:
    """Every problem of a whole configuration, calendars' under `calendars.<id>.`."""
    found = [
        (f"calendars.{calendar_id}.{path}", message)
        for calendar_id, calendar in config.calendars.items()
        for path, message in calendar_problems(calendar)
    ]
    return found + config_problems(config)


def checked(config: SlaConfig, *, policy_index: int | None = None) -> SlaConfig:
    if problems := problems_of(config):
        raise InvalidConfig(problems, policy_index=policy_index)
    return config


async def current_config(repo: SlaRepository) -> tuple[dict[str, Calendar], list[PolicyRow]]:
    return await repo.calendars(), await repo.policy_rows()


async def save_calendar(uow: UnitOfWork, calendar: Calendar, now: datetime) -> Saved:
    repo = SlaRepository(uow.session)
    await repo.lock_config()
    calendars, rows = await current_config(repo)
    config = checked(assemble({**calendars, calendar.id: calendar}, [r.policy for r in rows], default_of(rows)))
    await repo.put_calendar(calendar, now)
    return Saved(await repo.new_version(config, now))


async def delete_calendar(uow: UnitOfWork, calendar_id: str, now: datetime) -> Saved:
    repo = SlaRepository(uow.session)
    await repo.lock_config()
    calendars, rows = await current_config(repo)
    if calendar_id not in calendars:
        raise NotFound(calendar_id)
    if users := [r.policy.id for r in rows if r.policy.calendar_id == calendar_id]:
        raise InUse(f"calendar {calendar_id!r} is used by policy {', '.join(map(repr, users))}; change those first")
    calendars.pop(calendar_id)
    config = checked(assemble(calendars, [r.policy for r in rows], default_of(rows)))
    await repo.delete_calendar(calendar_id)
    return Saved(await repo.new_version(config, now))


async def save_policy(
    uow: UnitOfWork, policy: Policy, *, position: int | None, make_default: bool, now: datetime
) -> Saved:
    """Add or replace a policy at `position` (default: where it was, or last); the whole set is checked."""
    repo = SlaRepository(uow.session)
    await repo.lock_config()
    calendars, rows = await current_config(repo)
    was = next((i for i, r in enumerate(rows) if r.policy.id == policy.id), None)
    ordered = [r.policy for r in rows if r.policy.id != policy.id]
    index = min(position if position is not None else was if was is not None else len(ordered), len(ordered))
    ordered.insert(index, policy)
    default_id = default_of(rows)
    if make_default:
        default_id = policy.id
    elif default_id == policy.id:
        default_id = None
    config = checked(assemble(calendars, ordered, default_id), policy_index=index)
    await repo.replace_policies(ordered, default_id, now)
    return Saved(await repo.new_version(config, now), index)


async def delete_policy(uow: UnitOfWork, policy_id: str, now: datetime) -> Saved:
    repo = SlaRepository(uow.session)
    await repo.lock_config()
    calendars, rows = await current_config(repo)
    if not any(r.policy.id == policy_id for r in rows):
        raise NotFound(policy_id)
    ordered = [r.policy for r in rows if r.policy.id != policy_id]
    default_id = default_of(rows)
    config = checked(assemble(calendars, ordered, None if default_id == policy_id else default_id))
    await repo.replace_policies(ordered, config.default_policy_id, now)
    return Saved(await repo.new_version(config, now))


async def apply_latest(uow: UnitOfWork, now: datetime) -> tuple[int, int]:
    """Re-pin every open ticket to the newest version and re-evaluate it now; (tickets, version)."""
    repo = SlaRepository(uow.session)
    version = await latest_version(repo, now)
    ticket_ids = await repo.open_tickets()
    for ticket_id in ticket_ids:
        await repo.lock_ticket(ticket_id, pin=version, now=now)
        await repo.repin(ticket_id, version)
        await reevaluate(uow, repo, ticket_id, version, now)
    return len(ticket_ids), version
