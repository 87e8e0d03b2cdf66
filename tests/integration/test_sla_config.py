"""SLA configuration over REST: calendars and policies, each save a new version, every refusal naming
its field, deletes that would break a policy refused, concurrent saves all kept."""

from __future__ import annotations

import asyncio

import pytest

from tests.support.db import fetchval
from tests.support.ingest import unique
from tests.support.sla import sla_client

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("sla_from_now")]

OFFICE = {
    "name": "Berlin office",
    "time_zone": "Europe/Berlin",
    "hours": {day: [{"start": "08:00", "end": "17:00"}] for day in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": {"country": "DE", "subdivision": "BE"},
    "closed_dates": ["2026-12-24"],
    "open_days": {"2026-12-27": [{"start": "10:00", "end": "14:00"}]},
}


def _target(**overrides):
    return {"metric": "first_reply", "target_s": 3600, "business_hours": True, "warn_percent": 75, **overrides}


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [error["field"] for error in response.json()["errors"]]


async def test_a_calendar_is_saved_read_listed_and_each_save_is_a_new_version(infra):
    cal = unique("cal")
    async with sla_client(infra) as http:
        saved = await http.put(f"/v1/calendars/{cal}", json=OFFICE)
        assert saved.status_code == 200, saved.text
        body = saved.json()
        assert body["hours"]["mon"] == [{"start": "08:00", "end": "17:00"}]
        assert body["hours"]["sun"] == []
        assert body["holidays"] == {"country": "DE", "subdivision": "BE"}
        again = (await http.put(f"/v1/calendars/{cal}", json={**OFFICE, "name": "renamed"})).json()
        assert again["config_version"] == body["config_version"] + 1
        assert (await http.get(f"/v1/calendars/{cal}")).json()["name"] == "renamed"
        listed = (await http.get("/v1/calendars")).json()
        assert cal in [c["id"] for c in listed["calendars"]]
        assert listed["config_version"] >= again["config_version"]
        snapshot = await fetchval(
            infra, "select snapshot from sla.config_versions where version = $1", again["config_version"]
        )
        assert f'"{cal}"' in snapshot and '"renamed"' in snapshot
        assert (await http.get(f"/v1/calendars/{unique('none')}")).status_code == 404


async def test_a_policy_is_saved_in_order_with_a_default_and_deleted(infra):
    first, second = unique("p"), unique("p")
    async with sla_client(infra) as http:
        one = await http.put(f"/v1/policies/{first}", json={"position": 0, "targets": [_target()], "default": True})
        assert one.status_code == 200, one.text
        two = await http.put(f"/v1/policies/{second}", json={"position": 0, "targets": [_target(target_s=60)]})
        assert two.json()["config_version"] == one.json()["config_version"] + 1
        listed = (await http.get("/v1/policies")).json()
        ids = [p["id"] for p in listed["policies"]]
        assert ids.index(second) == 0 and ids.index(first) == 1
        assert listed["default_policy_id"] == first
        assert listed["config_version"] == two.json()["config_version"]
        shown = (await http.get(f"/v1/policies/{first}")).json()
        assert shown["default"] is True and shown["targets"][0]["warn_percent"] == 75
        assert (await http.delete(f"/v1/policies/{first}")).status_code == 200
        after = (await http.get("/v1/policies")).json()
        assert first not in [p["id"] for p in after["policies"]]
        assert after["default_policy_id"] is None
        assert (await http.delete(f"/v1/policies/{first}")).status_code == 404
        assert (await http.delete(f"/v1/policies/{second}")).status_code == 200


async def test_an_unknown_calendar_is_a_422_naming_calendar_id(infra):
    async with sla_client(infra) as http:
        response = await http.put(
            f"/v1/policies/{unique('p')}", json={"targets": [_target()], "calendar_id": unique("nowhere")}
        )
        assert "calendar_id" in _fields(response)


async def test_overlapping_hours_are_a_422_naming_the_day(infra):
    hours = {"tue": [{"start": "08:00", "end": "12:00"}, {"start": "11:00", "end": "15:00"}]}
    async with sla_client(infra) as http:
        response = await http.put(f"/v1/calendars/{unique('cal')}", json={**OFFICE, "hours": hours})
        fields = _fields(response)
        assert any(field.startswith("hours.tue") for field in fields), fields


@pytest.mark.parametrize("target_s", [0, -5])
async def test_a_target_that_is_not_positive_is_a_422_naming_it(infra, target_s):
    async with sla_client(infra) as http:
        response = await http.put(f"/v1/policies/{unique('p')}", json={"targets": [_target(target_s=target_s)]})
        assert "targets.0.target_s" in _fields(response)


async def test_a_bad_time_zone_and_an_unknown_field_are_422s_naming_them(infra):
    async with sla_client(infra) as http:
        zone = await http.put(f"/v1/calendars/{unique('cal')}", json={**OFFICE, "time_zone": "Mars/Olympus"})
        assert "time_zone" in _fields(zone)
        typo = await http.put(f"/v1/calendars/{unique('cal')}", json={**OFFICE, "hours": {"monday": []}})
        assert "hours.monday" in _fields(typo)
        query = await http.get("/v1/policies", params={"limt": 3})
        assert _fields(query) == ["limt"]


async def test_a_calendar_a_policy_uses_cannot_be_deleted(infra):
    cal, pol = unique("cal"), unique("p")
    async with sla_client(infra) as http:
        assert (await http.put(f"/v1/calendars/{cal}", json=OFFICE)).status_code == 200
        saved = await http.put(f"/v1/policies/{pol}", json={"targets": [_target()], "calendar_id": cal})
        assert saved.status_code == 200, saved.text
        refused = await http.delete(f"/v1/calendars/{cal}")
        assert refused.status_code == 409
        assert pol in refused.json()["detail"]
        assert (await http.delete(f"/v1/policies/{pol}")).status_code == 200
        assert (await http.delete(f"/v1/calendars/{cal}")).status_code == 200
        assert (await http.get(f"/v1/calendars/{cal}")).status_code == 404


async def test_concurrent_saves_each_get_a_version_and_none_is_lost(infra):
    ids = [unique("p") for _ in range(12)]
    async with sla_client(infra) as http:
        answers = await asyncio.gather(*(http.put(f"/v1/policies/{pid}", json={"targets": [_target()]}) for pid in ids))
        assert [a.status_code for a in answers] == [200] * len(ids)
        versions = sorted(a.json()["config_version"] for a in answers)
        assert versions == list(range(versions[0], versions[0] + len(ids)))
        latest = await fetchval(infra, "select snapshot from sla.config_versions where version = $1", versions[-1])
        assert all(f'"{pid}"' in latest for pid in ids)
        for pid in ids:
            await http.delete(f"/v1/policies/{pid}")
