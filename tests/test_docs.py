"""The README's option tables against the CLI: every option documented, none invented."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
import typer

from cnnreport.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
CLI = typer.main.get_command(app)
DOCS = README.parent / "docs"
# A command group (`cnnreport export ...`) is documented in its own page, docs/<group>.md.
GROUPS = {name: command for name, command in CLI.commands.items() if hasattr(command, "commands")}  # type: ignore[attr-defined]
COMMANDS = sorted(name for name in CLI.commands if name not in GROUPS)  # type: ignore[attr-defined]
SECTION = re.compile(r"^### `cnnreport (\w+)", re.MULTILINE)
HEADING = re.compile(r"^##+ ", re.MULTILINE)
OPTION = re.compile(r"`(--?[a-z][a-z-]*)")
CELL_BORDER = re.compile(r"(?<!\\)\|")  # a pipe that is not escaped as \|


def readme_sections(path: Path = README, heading: re.Pattern[str] = SECTION) -> dict[str, str]:
    """Each `### cnnreport NAME` section of the README (or `heading`'s of another page), by command name."""
    text = path.read_text()
    sections = {}
    for match in heading.finditer(text):
        following = HEADING.search(text, match.end())
        sections[match.group(1)] = text[match.start() : following.start() if following else len(text)]
    return sections


def documented_options(section: str) -> set[str]:
    """The options named in the first column of the section's (first) option table."""
    lines = section.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith("|")), len(lines))
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[first:]))
    assert len(rows) > 2 and rows[0].startswith("| option |"), "no option table"
    return {option for row in rows[2:] for option in OPTION.findall(CELL_BORDER.split(row)[1])}


def cli_options(name: str, group: str | None = None) -> set[str]:
    """Every spelling of every option the command accepts, --help aside (README: every command takes it)."""
    command = CLI.commands[name] if group is None else GROUPS[group].commands[name]  # type: ignore[attr-defined]
    params = command.params
    options = {opt for p in params if p.param_type_name == "option" for opt in [*p.opts, *p.secondary_opts]}
    return options - {"--help"}


def test_every_command_has_a_section() -> None:
    assert sorted(readme_sections()) == COMMANDS


@pytest.mark.parametrize("name", COMMANDS)
def test_option_table_names_every_option_and_no_other(name: str) -> None:
    documented, actual = documented_options(readme_sections()[name]), cli_options(name)
    assert not actual - documented, f"undocumented options of {name}: {sorted(actual - documented)}"
    assert not documented - actual, f"options of {name} the CLI does not have: {sorted(documented - actual)}"


def test_the_checker_sees_a_missing_and_an_invented_option() -> None:
    section = readme_sections()["report"]
    assert "--output" in documented_options(section)
    trimmed = "\n".join(line for line in section.splitlines() if "`--output`" not in line)
    assert "--output" not in documented_options(trimmed)
    invented = section.replace("| `--output`", "| `--no-such-option`, `--output`")
    assert documented_options(invented) - cli_options("report") == {"--no-such-option"}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_each_command_group_has_a_page_with_every_option_and_no_other(group: str) -> None:
    sections = readme_sections(DOCS / f"{group}.md", re.compile(rf"^### `cnnreport {group} (\w+)", re.MULTILINE))
    assert sorted(sections) == sorted(GROUPS[group].commands)  # type: ignore[attr-defined]
    for name, section in sections.items():
        assert documented_options(section) == cli_options(name, group), name
