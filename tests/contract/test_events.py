"""The wire contract: every event in the catalogue is documented, round-trips, and only
changes compatibly within a schema version (snapshots in tests/contract/schemas/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from shared.events import CATALOGUE, Envelope, decode
from shared.events.docs import render
from shared.events.envelope import wrap
from shared.events.examples import AT, EXAMPLES
from shared.events.topics import ALL_TOPICS

REPO = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).parent / "schemas"
EXAMPLE_BY_TYPE = {type(e).TYPE: e for e in EXAMPLES}


def test_every_catalogue_type_has_one_example_and_a_known_topic() -> None:
    assert set(EXAMPLE_BY_TYPE) == set(CATALOGUE)
    assert len(EXAMPLES) == len(CATALOGUE)
    for cls in CATALOGUE.values():
        assert cls.TOPIC in ALL_TOPICS, cls.TYPE


@pytest.mark.parametrize("type_name", sorted(CATALOGUE))
def test_example_round_trips_through_the_wire_format(type_name: str) -> None:
    event = EXAMPLE_BY_TYPE[type_name]
    envelope = wrap(event, id="e-1", source="/switchboard/test", time=AT)
    received = Envelope.from_bytes(envelope.to_bytes())
    assert received == envelope
    assert received.subject == event.subject_id()
    assert received.schema_version == type(event).VERSION
    assert decode(received) == event


def test_a_newer_schema_version_than_this_build_knows_is_rejected() -> None:
    envelope = wrap(EXAMPLES[0], id="e-2", source="/switchboard/test", time=AT)
    newer = envelope.model_copy(update={"dataschema": envelope.dataschema.replace(":v1", ":v9")})
    with pytest.raises(ValueError, match="newer"):
        decode(newer)


def test_unknown_payload_fields_are_ignored_so_adding_fields_is_compatible() -> None:
    envelope = wrap(EXAMPLES[0], id="e-3", source="/switchboard/test", time=AT)
    extended = envelope.model_copy(update={"data": {**envelope.data, "added_in_a_later_release": 1}})
    assert decode(extended) == EXAMPLES[0]


def test_docs_events_md_is_generated_from_the_current_catalogue() -> None:
    committed = (REPO / "docs" / "events.md").read_text()
    assert committed == render(), "docs/events.md is stale: run `python -m shared.events.docs > docs/events.md`"


@pytest.mark.parametrize("type_name", sorted(CATALOGUE))
def test_schema_changes_within_a_version_are_backward_compatible(type_name: str) -> None:
    """Within one version: no field removed or retyped, no new required field.
    New events: run with UPDATE_EVENT_SNAPSHOTS=1 once and commit the snapshot."""
    cls = CATALOGUE[type_name]
    current = cls.model_json_schema()
    path = SNAPSHOTS / f"{type_name}.v{cls.VERSION}.json"
    if os.environ.get("UPDATE_EVENT_SNAPSHOTS") == "1" and not path.exists():
        path.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert path.exists(), f"no schema snapshot for {type_name} v{cls.VERSION}; create it with UPDATE_EVENT_SNAPSHOTS=1"
    snapshot = json.loads(path.read_text())
    for name, prop in snapshot["properties"].items():
        assert name in current["properties"], f"{type_name}: field {name!r} was removed; bump VERSION"
        assert current["properties"][name] == prop, f"{type_name}: field {name!r} changed; bump VERSION"
    added_required = set(current.get("required", ())) - set(snapshot.get("required", ()))
    assert not added_required, f"{type_name}: new required fields {added_required}; make them optional or bump VERSION"
