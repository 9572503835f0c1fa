"""The command line: parse options, build a config, call one library function, show results.

An adapter only: library code stays quiet; everything printed (through console.py), and
every exit code, is decided here. Commands import their library code when they run, so
`cnnreport --help` never loads torch.
"""

from __future__ import annotations

import sys

import typer

from cnnreport import console
from cnnreport.cli import export_commands, run_commands, study_commands  # noqa: F401 - importing them registers the commands
from cnnreport.cli.common import app, click_errors, err

__all__ = ["app", "main"]


def main() -> None:
    """The console script: Click's usage errors become one `error:` line too (exit 2)."""
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # bare `cnnreport`: the help, as before
        exc.show()
        code = exc.exit_code
    except click_errors.UsageError as exc:
        hint = f"; see '{exc.ctx.command_path} --help'" if exc.ctx else ""
        message = exc.format_message().rstrip(".") + hint
        console.error(err, message)
        code = exc.exit_code
    except click_errors.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except typer.Abort:
        err.print("Aborted!", highlight=False)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
