"""The README and the docs pages against the CLI: every option documented and none invented,
the command reference regenerated, and every example run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from cnnreport.cli import app
from cnnreport.cli.reference import leaves, reference
from tests.doc_pages import (
    COMMAND_NAME,
    GENERATED,
    NOT_RUN_REASONS,
    PAGES,
    README,
    SHELL_LIKE,
    Block,
    blocks,
    command_lines,
    documented_options,
    sections,
    table_rows,
)
from tests.helpers import invoke
from tests.idx_files import write_dataset

CLI = typer.main.get_command(app)
# Every command that does work, by its full name: a group's commands as `export tensorboard`.
COMMANDS = sorted(title.removeprefix("cnnreport ") for title, _, _ in leaves("cnnreport", CLI, None))
GUIDE = GENERATED.parent / "guide.md"


def option_pages(name: str) -> dict[Path, str]:
    """The pages whose option tables must match the command, each with its sections' heading level:
    the reference always; the guide for a top-level command, docs/GROUP.md for a group's (`export`)."""
    group, _, sub = name.rpartition(" ")
    return {GENERATED: "##", (GENERATED.parent / f"{group}.md" if group else GUIDE): "###"}


PAGE_COMMANDS = {
    (page, level): sorted(name for name in COMMANDS if option_pages(name).get(page) == level)
    for name in COMMANDS
    for page, level in option_pages(name).items()
}


def cli_options(name: str) -> set[str]:
    """Every spelling of every option the command accepts, --help aside (every command takes it)."""
    command = CLI
    for word in name.split():
        command = command.commands[word]  # type: ignore[attr-defined]
    params = command.params
    options = {opt for p in params if p.param_type_name == "option" for opt in [*p.opts, *p.secondary_opts]}
    return options - {"--help"}


@pytest.mark.parametrize(("page", "level"), PAGE_COMMANDS, ids=lambda value: getattr(value, "name", value))
def test_every_command_has_a_section(page: Path, level: str) -> None:
    assert sorted(sections(page.read_text(), level)) == PAGE_COMMANDS[page, level]


@pytest.mark.parametrize("name", COMMANDS)
def test_option_table_names_every_option_and_no_other(name: str) -> None:
    actual = cli_options(name)
    for page, level in option_pages(name).items():
        documented = documented_options(sections(page.read_text(), level)[name]) - {"--help"}
        assert not actual - documented, f"{page.name}: undocumented options of {name}: {sorted(actual - documented)}"
        assert not documented - actual, f"{page.name}: options of {name} the CLI lacks: {sorted(documented - actual)}"


def test_the_readme_command_table_names_every_command_and_option() -> None:
    rows = table_rows(README.read_text(), "| command | options |")
    named = {re.search(rf"`({COMMAND_NAME})", cells[0]).group(1): cells[1] for cells in rows}  # type: ignore[union-attr]
    assert sorted(named) == COMMANDS
    for name, cell in named.items():
        documented = {option for option in cell.replace("`", " ").replace("/", " ").split()}
        assert documented == cli_options(name), f"README's row for {name}: {sorted(documented ^ cli_options(name))}"


def test_the_checker_sees_a_missing_and_an_invented_option() -> None:
    section = sections(GUIDE.read_text(), "###")["report"]
    assert "--output" in documented_options(section)
    trimmed = "\n".join(line for line in section.splitlines() if "`--output`" not in line)
    assert "--output" not in documented_options(trimmed)
    invented = section.replace("| `--output`", "| `--no-such-option`, `--output`")
    assert documented_options(invented) - cli_options("report") == {"--no-such-option"}


def test_the_command_reference_is_the_clis_own() -> None:
    """docs/commands.md is what `python -m cnnreport.cli.reference` writes now; rerun it after a CLI change."""
    assert GENERATED.read_text() == reference(app), "docs/commands.md is stale: python -m cnnreport.cli.reference"


def test_a_new_command_or_option_changes_the_reference() -> None:
    grown = typer.Typer(help=app.info.help)
    grown.registered_commands = list(app.registered_commands)
    grown.registered_callback = app.registered_callback

    @grown.command()
    def export(to: str = typer.Option("tensorboard", "--to", metavar="FORMAT", help="Where to.")) -> None:
        """Export runs."""

    page = reference(grown)
    assert "## `cnnreport export`" in page and "| `--to FORMAT` | `tensorboard` | Where to. |" in page
    assert page != GENERATED.read_text()


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder for every page, as one reader's: a run a page trains, a later page may only re-render."""
    folder = tmp_path_factory.mktemp("reader")
    write_dataset(folder / "data", layout="torchvision", gz=True)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_example_runs(page: Path, reader_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each page's examples, in order, where ./data holds small synthetic MNIST files (README first)."""
    in_the_folder(reader_folder, monkeypatch)
    run_examples(blocks(page))


def in_a_fresh_folder(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dataset(folder / "data", layout="torchvision", gz=True)
    in_the_folder(folder, monkeypatch)


def in_the_folder(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(folder)
    for name in ("CNNREPORT_DATA_DIR", "CNNREPORT_RUNS_DIR"):  # the defaults, ./data and ./runs, as a reader's
        monkeypatch.delenv(name, raising=False)


def run_examples(page_blocks: list[Block]) -> None:
    for block in page_blocks:
        where = f"{block.page.name}:{block.line}"
        if block.marker and block.marker[0] == "not run":
            assert block.marker[1] in NOT_RUN_REASONS, f"{where}: not run for an unknown reason {block.marker[1]!r}"
        elif block.marker:  # a file the following examples read
            Path(block.marker[1]).write_text(block.text + "\n")
        elif block.language == "bash":
            for args in command_lines(block):
                result = invoke(*args)
                shown = f"{where}: cnnreport {' '.join(args)} -> exit {result.exit_code}\n{result.output}"
                assert result.exit_code == 0 and "Traceback" not in result.output, shown
        elif block.language == "python":
            exec(compile(block.text, where, "exec"), {})  # noqa: S102 - the page's own example
        else:
            assert block.language not in SHELL_LIKE or not block.text.lstrip().startswith(("cnnreport", "$")), (
                f"{where}: a command in a ```{block.language} block is never run; make it ```bash"
            )


def example_page(folder: Path, text: str) -> list[Block]:
    page = folder / "page.md"
    page.write_text(text)
    return blocks(page)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("```bash\ncnnreport train --epochs 0\n```\n", "exit 2"),
        ("```bash\nrm -rf runs\n```\n", "is not a cnnreport command"),
        ("<!-- not run: later -->\n```bash\ncnnreport list\n```\n", "unknown reason"),
        ("```\n$ cnnreport list\n```\n", "is never run"),
    ],
)
def test_a_failing_or_unrunnable_example_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, complaint: str
) -> None:
    in_a_fresh_folder(tmp_path, monkeypatch)
    with pytest.raises(AssertionError, match=complaint):
        run_examples(example_page(tmp_path, text))


def test_marked_examples_are_skipped_and_files_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    in_a_fresh_folder(tmp_path, monkeypatch)
    page = "<!-- not run: gpu -->\n```bash\ncnnreport train --device cuda\n```\n"
    page += '<!-- file: grid.toml -->\n```toml\nname = "g"\n```\n'
    run_examples(example_page(tmp_path, page))
    assert (tmp_path / "grid.toml").read_text() == 'name = "g"\n' and not (tmp_path / "runs").exists()
