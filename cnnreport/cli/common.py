"""What every command shares: the Typer app, option types, and the funnel that turns every
error into one line and an exit code."""

from __future__ import annotations

import contextlib
import errno
import os
import select
import shlex
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperArgument

from cnnreport import console
from cnnreport.config import ExperimentConfig, range_text
from cnnreport.errors import BadInput, CnnReportError, WorkFailed, from_os_error, os_reason
from cnnreport.presets import preset_config

click_errors: Any
try:  # typer 0.2x carries its own copy of Click; older ones use Click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts show defaults in [brackets], not Rich markup
    help=(
        "Re-run, inspect and report the small-CNN MNIST study.\n\n"
        "Start here: `cnnreport reproduce --quick` trains the five experiments briefly and writes report.html; "
        "`cnnreport reproduce` is the full study.\n\n"
        "Data: the four MNIST IDX files are read from --data-dir, else $CNNREPORT_DATA_DIR, else ./data "
        "(with internet, missing files are downloaded there).\n\n"
        "Exit codes: 0 ok, 1 failure, 2 bad input, 130 interrupted."
    ),
)
err = console.plain_console(stderr=True)


def _argument_type(self: Any, ctx: Any) -> str | None:
    """An argument with a metavar (RUN, FILE.toml) is shown by it alone, not followed by `<list[str]>`."""
    return None if self.metavar else _typer_argument_type(self, ctx)


_typer_argument_type = TyperArgument.display_type_rich
TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
# user text (names, paths, file contents) is never markup

RunsDirOption = Annotated[
    Optional[Path],
    typer.Option(
        "--runs-dir", metavar="DIR", help="Folder of run directories [env CNNREPORT_RUNS_DIR; default ./runs]."
    ),
]
DataDirOption = Annotated[
    Optional[Path],
    typer.Option(
        "--data-dir", metavar="DIR", help="Folder with the IDX files [env CNNREPORT_DATA_DIR; default ./data]."
    ),
]
DatasetOption = Annotated[
    Optional[str],
    typer.Option(
        "--dataset", metavar="DATASET", help="mnist, fashion-mnist or kmnist [train: mnist; others: the run's]."
    ),
]
DeviceOption = Annotated[str, typer.Option("--device", metavar="auto|cpu|cuda", help="Where to compute.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object to stdout instead of tables.")]
RunArgument = Annotated[
    str, typer.Argument(metavar="RUN", help="A run name (inside --runs-dir) or a run directory path.")
]


SIGPIPE_EXIT = 141  # 128 + SIGPIPE: what a shell reports for a tool a closed pipe ended
STREAM_ERRNOS = (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT)  # a full or failing device behind stdout
INTERRUPTED = "interrupted: stopped before finishing; files already written are complete, run the command again"


@contextlib.contextmanager
def user_errors(interrupted: str = INTERRUPTED) -> Iterator[None]:
    """Turn every error into one line on stderr and an exit code of 1, 2 or 130; never a traceback.

    A reader of stdout that has gone (`cnnreport list | head -1`) ends the command quietly
    with 141, as SIGPIPE ends other Unix tools.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # library warnings are not for our users; errors say it all
            yield
            sys.stdout.flush()  # printed results reach their file now, while a full disk is still our error
    except (typer.Exit, typer.Abort, click_errors.ClickException):
        raise
    except CnnReportError as exc:
        console.error(err, str(exc))
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # one nobody expected: still cnnreport's words, exit 2 or 1
        if isinstance(exc, BrokenPipeError) and stdout_reader_gone():
            drop_stdout()
            raise typer.Exit(SIGPIPE_EXIT) from None
        error = output_failure(exc) or from_os_error(exc)
        console.error(err, str(error))
        raise typer.Exit(error.exit_code) from None
    except KeyboardInterrupt:
        console.line(err, interrupted)
        raise typer.Exit(130) from None
    except Exception as exc:  # noqa: BLE001 - a bug still ends as one line, exit 1
        first_line = (str(exc).strip().splitlines() or [""])[0]
        console.error(err, f"unexpected {type(exc).__name__}: {first_line}")
        raise typer.Exit(1) from None


def stdout_reader_gone() -> bool:
    """Whether stdout is a pipe whose reader has gone (and not some other pipe of ours that broke)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (OSError, ValueError):  # no file descriptor (tests capture stdout in memory)
        return False


def output_failure(exc: OSError) -> CnnReportError | None:
    """The error when standard output could not take the results (`> /dev/full`); None for other errors.

    Files cnnreport writes name themselves in their errors; a nameless write error is the output
    stream's.
    """
    if exc.filename is not None or exc.errno not in STREAM_ERRNOS:
        return None
    drop_stdout()
    return WorkFailed(f"cannot write the results to standard output: {os_reason(exc)}")


def drop_stdout() -> None:
    """Point stdout at /dev/null, dropping what is buffered: Python's own flush at exit must not fail."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def command_line() -> str:
    return shlex.join(["cnnreport", *sys.argv[1:]])


def build_config(preset: str | None, **options: Any) -> ExperimentConfig:
    """The preset (or the defaults) with every option the user gave laid over it."""
    base = preset_config(preset) if preset is not None else ExperimentConfig()
    return base.replace(**{k: v for k, v in options.items() if v is not None})


def parse_widths(text: str | None) -> tuple[int, ...] | None:
    """`--widths 12,10,8` as a tuple; the config checks count and range."""
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise BadInput(f"--widths must be three whole numbers separated by commas, like 16,8,4, not {text!r}") from None


OutputOption = Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write the HTML report.")]
TsneSamplesOption = Annotated[
    int,
    typer.Option(
        metavar="N", help=f"Test images in each run's t-SNE, {range_text('--tsne-samples')} (cached per setting)."
    ),
]
RayOption = Annotated[
    Optional[str],
    typer.Option(
        "--ray",
        metavar="auto|HOST:PORT",
        help="Run on a Ray cluster: auto (the one on this machine) or HOST:PORT of its head.",
    ),
]


def show_version(asked: bool) -> None:
    if asked:
        from cnnreport import __version__

        print(f"cnnreport {__version__}")
        raise typer.Exit()


@app.callback()
def app_options(
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    # The app's help is Typer(help=...) above; this callback only adds --version.
    pass
