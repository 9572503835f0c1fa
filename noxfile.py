"""Developer sessions: `nox -l` lists them, `nox -s tests` runs the test suite.

Sessions use pip-based virtual environments that are reused between runs, so torch is
installed once per session venv (pip takes it from its cache) and never resolved by uv.
"""

from __future__ import annotations

import os
import shutil

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

TORCH = ["torch>=2.4,<=2.14.1", "torchvision>=0.19,<=0.29.1"]
SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "shared", "data")


def install(session: nox.Session, *extras: str) -> None:
    """Install torch first (pinned range, from pip's cache), then the package itself."""
    session.install(*TORCH)
    session.install("-e", f".[{','.join(('dev', *extras))}]" if extras else ".[dev]")


def data_env() -> dict[str, str]:
    """Point at the offline MNIST copy when the caller has not chosen a data folder."""
    if "CNNREPORT_DATA_DIR" not in os.environ and os.path.isdir(SHARED_DATA):
        return {"CNNREPORT_DATA_DIR": os.path.abspath(SHARED_DATA)}
    return {}


@nox.session
def tests(session: nox.Session) -> None:
    """Unit and end-to-end tests (CliRunner on synthetic IDX data; real MNIST when present)."""
    install(session)
    session.run("pytest", "-q", "--ignore=tests/faults", *session.posargs, env=data_env())


@nox.session
def faults(session: nox.Session) -> None:
    """Interruption, locking, hostile files and full disks: real subprocesses killed mid-run."""
    install(session)
    session.run("pytest", "-q", "tests/faults", *session.posargs)


@nox.session
def browser(session: nox.Session) -> None:
    """Render a report and open it in headless Chromium (Debian's package; installed if missing)."""
    if not shutil.which("chromium"):
        session.run("apt-get", "update", "-qq", external=True)
        quiet = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True, env=quiet)
    install(session)
    session.run("pytest", "-q", "-m", "browser", "tests/browser", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the package."""
    install(session)
    session.run("mypy", "cnnreport")


@nox.session
def reproduce(session: nox.Session) -> None:
    """The main job: re-run the whole write-up and render report.html (arguments pass through)."""
    install(session)
    session.run("cnnreport", "reproduce", *session.posargs, env=data_env())
