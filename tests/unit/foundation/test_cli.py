"""`switchboard --help` and each command's help read cleanly and name the services a command takes."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from shared.cli import app
from shared.migrations import SERVICES

COMMANDS = ("up", "migrate", "topics", "dead-letters", "replay", "rebuild", "report")
SERVICE_COMMANDS = ("dead-letters", "replay")
runner = CliRunner()


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def _assert_clean(text: str) -> None:
    """No Rich boxes or markup; a line indented past 2 continues the entry above, under its description."""
    column: int | None = None
    for line in text.splitlines():
        assert not re.search(r"[│╭╰─]", line), f"box drawing in help: {line!r}"
        assert not re.search(r"\[/?(red|bold|yellow|green)\]", line), f"rich markup shown as text: {line!r}"
        indent = len(line) - len(line.lstrip(" "))
        if indent in (0, 2) or not line.strip():
            entry = re.match(r"  \S.*?\S {2,}(?=\S)", line)
            column = entry.end() if entry else None
        else:
            assert indent == column, f"stray indentation: {line!r}"


def test_the_top_level_help_lists_every_command_on_one_line_and_the_services() -> None:
    text = _help()
    _assert_clean(text)
    listing = text.split("Commands:\n", 1)[1].splitlines()
    for command in COMMANDS:
        (line,) = [line for line in listing if line.startswith(f"  {command} ")]
        assert not line.endswith("..."), f"summary cut short: {line!r}"
    assert f"Services: {', '.join(SERVICES)}." in text


@pytest.mark.parametrize("command", COMMANDS)
def test_each_commands_help_is_clean(command: str) -> None:
    _assert_clean(_help(command))


@pytest.mark.parametrize("command", SERVICE_COMMANDS)
def test_commands_that_take_a_service_list_the_valid_names(command: str) -> None:
    text = _help(command)
    assert f"SERVICE <str>  one of: {', '.join(SERVICES)}" in text
    assert f"{command} [OPTIONS] {{SERVICE}}" in text


@pytest.mark.parametrize("command", SERVICE_COMMANDS)
def test_an_unknown_service_is_refused_with_the_valid_names_before_anything_runs(command: str) -> None:
    result = runner.invoke(app, [command, "ingset"], terminal_width=200)
    assert result.exit_code == 2
    assert (
        "Invalid value for 'SERVICE': 'ingset' is not a service; use one of: ingest, router, sla, escalation, insights"
        in (result.output)
    )
