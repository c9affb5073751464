"""Every CLI command is documented: help text in the CLI, a section in the README.

In the manner of sqlite-utils' ``tests/test_docs.py``: the commands are discovered by walking
``partner_forecast.cli.main.commands``, so a new command fails here until it is documented.
The README section of command ``<command>`` is a Markdown heading (level 2 to 4) reading
``partner-forecast <command>``, with or without backticks and optionally followed by more words,
e.g. ``### partner-forecast forecast`` or ``### `partner-forecast report`: the executive report``.
"""

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = sorted(main.commands)
HEADING = re.compile(r"^#{2,4}\s+`?partner-forecast\s+([a-z][a-z0-9_-]*)\b", re.MULTILINE)


def readme_sections() -> set[str]:
    """Commands that have a ``partner-forecast <command>`` heading in the README."""
    return set(HEADING.findall(README.read_text(encoding="utf-8")))


def expected_heading(command: str) -> str:
    """The heading the README tour should carry for ``command``."""
    return f"### partner-forecast {command}"


def test_commands_are_discovered():
    assert {"forecast", "report", "validate", "sample"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_help(command):
    cmd = main.commands[command]
    assert cmd.help and len(cmd.help.strip()) > 20, f"{command} has no help text"
    for param in cmd.params:
        if isinstance(param, click.Option):
            assert param.help, f"{command} {param.opts[0]} has no help text"
    r = CliRunner().invoke(main, [command, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output and f" {command} " in r.output


def test_heading_pattern():
    text = ("## Tour\n### partner-forecast forecast\n#### `partner-forecast report`: the report\n"
            "### partner-forecastfoo\n# partner-forecast sample\nsee partner-forecast kpis\n")
    assert set(HEADING.findall(text)) == {"forecast", "report"}


@pytest.mark.parametrize("command", COMMANDS)
def test_command_has_a_readme_section(command):
    assert command in readme_sections(), (
        f"README.md has no section for `partner-forecast {command}`: add the heading "
        f"'{expected_heading(command)}'")


def test_readme_documents_no_command_that_does_not_exist():
    assert readme_sections() <= set(COMMANDS)


if __name__ == "__main__":  # print the headings the README tour needs
    missing = [c for c in COMMANDS if c not in readme_sections()]
    print("\n".join(expected_heading(c) for c in missing) or "README documents every command")
