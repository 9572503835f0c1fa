"""Reading the README and the docs pages: their option tables and their example blocks."""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
GENERATED = DOCS / "commands.md"  # usage lines, not examples; compared whole with the CLI instead
PAGES = [README, *sorted(p for p in DOCS.glob("*.md") if p != GENERATED)]

OPTION = re.compile(r"`(--?[a-z][a-z-]*)")
MARKER = re.compile(r"<!-- (not run|file): ([\w.-]+) -->")
NOT_RUN_REASONS = {"gpu", "cluster", "setup", "server"}  # a GPU, a Ray cluster, installing/copying/nox/
# benchmarks, or starting a long-running server (a tracker's own UI)
FENCE = re.compile(r"^( *)```(\w*)\s*$")
SHELL_LIKE = {"", "sh", "shell", "console"}  # must not hide a command the test would then skip

COMMAND_NAME = r"[a-z]+(?: [a-z]+)*"  # `train`, `export mlflow`: lower-case words; arguments are upper case


def split_cells(row: str) -> list[str]:
    """A Markdown table row's cells: a pipe escaped as \\| or inside a code span does not split."""
    cells, current, in_code, previous = [], "", False, ""
    for char in row:
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code and previous != "\\":
            cells.append(current)
            current = ""
        else:
            current += char
        previous = char
    return [*cells, current]


def sections(text: str, level: str) -> dict[str, str]:
    """Each heading `<level> `cnnreport NAME`` of a page and its text, by command name
    (a group's command by both words: `export tensorboard`)."""
    heading = re.compile(rf"^{level} `cnnreport ({COMMAND_NAME})", re.MULTILINE)
    following = re.compile(rf"^#{{1,{len(level)}}} ", re.MULTILINE)
    found = {}
    for match in heading.finditer(text):
        end = following.search(text, match.end())
        found[match.group(1)] = text[match.start() : end.start() if end else len(text)]
    return found


def table_rows(text: str, header: str) -> list[list[str]]:
    """The body rows, as cells, of the first table whose header starts with `header`."""
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith(header)), None)
    assert first is not None, f"no table starting {header!r}"
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), lines[first:]))
    return [split_cells(row)[1:-1] for row in rows[2:]]


def documented_options(section: str) -> set[str]:
    """The options named in the first column of the section's option table."""
    return {option for cells in table_rows(section, "| option |") for option in OPTION.findall(cells[0])}


@dataclass
class Block:
    page: Path
    line: int
    language: str
    text: str
    marker: tuple[str, str] | None  # ("not run", reason) or ("file", name), from the line above the fence


def blocks(page: Path) -> list[Block]:
    """Every fenced block of a page, with the marker comment just above it, if any."""
    lines, found, index = page.read_text().splitlines(), [], 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        indent, start = len(fence.group(1)), index
        end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
        above = next((lines[i].strip() for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.fullmatch(above)
        body = "\n".join(line[indent:] for line in lines[start + 1 : end])
        found.append(Block(page, start + 1, fence.group(2), body, marker.groups() if marker else None))
        index = end + 1
    return found


def command_lines(block: Block) -> list[list[str]]:
    """A bash example's commands as argument lists after `cnnreport`; any other line is an error."""
    joined = block.text.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "cnnreport":
            commands.append(words[1:])
        elif words[:3] == ["python", "-m", "cnnreport"]:
            commands.append(words[3:])
        else:
            where = f"{block.page.name}:{block.line}"
            raise AssertionError(f"{where}: {line!r} is not a cnnreport command; mark the block <!-- not run: ... -->")
    return commands
