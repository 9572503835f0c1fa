"""Developer sessions: `nox -l` lists them, `nox -s tests` runs the test suite.

torch is 5.8 GB installed, and tests, faults, browser, typecheck and reproduce all need it.
Rather than one copy per session venv (four copies filled a CI disk), those sessions share a
single pip-built environment, `.nox/torch-env`, that pip only tops up on later runs. uv is
never asked to resolve torch. `lint` and `docs` need no torch and keep ordinary session venvs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "lint", "typecheck"]

ROOT = Path(__file__).parent
TORCH = ["torch>=2.4,<=2.14.1", "torchvision>=0.19,<=0.29.1"]
TORCH_ENV = ROOT / ".nox" / "torch-env"
SHARED_DATA = ROOT.parent / "shared" / "data"


def install_torch_env(session: nox.Session, extras: str = "dev") -> None:
    """Create the shared environment, or let pip top it up (seconds when nothing changed)."""
    python = TORCH_ENV / "bin" / "python"
    if not python.exists():
        session.run(sys.executable, "-m", "venv", str(TORCH_ENV), external=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    session.run(*pip, *TORCH, external=True)  # first, so pip takes the pinned range from its cache
    session.run(*pip, "-e", f"{ROOT}[{extras}]", external=True)


def run_in_torch_env(session: nox.Session, tool: str, *args: str, data: bool = False, extras: str = "dev") -> None:
    """Install, then run one of the shared environment's tools with that environment first on PATH."""
    install_torch_env(session, extras)
    bin_dir = TORCH_ENV / "bin"
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(TORCH_ENV)}
    if data and "CNNREPORT_DATA_DIR" not in os.environ and SHARED_DATA.is_dir():
        env["CNNREPORT_DATA_DIR"] = str(SHARED_DATA.resolve())  # the offline MNIST copy, unless chosen
    # Only 0 passes: pytest's 5 (no test collected) must fail a session, never look like success.
    session.run(str(bin_dir / tool), *args, env=env, external=True, success_codes=[0])


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """Unit and end-to-end tests (CliRunner on synthetic IDX data; real MNIST when present)."""
    run_in_torch_env(
        session,
        "pytest",
        "-q",
        "--ignore=tests/faults",
        "--ignore=tests/cluster",
        "--ignore=tests/trackers",
        *session.posargs,
        data=True,
    )


@nox.session(venv_backend="none")
def faults(session: nox.Session) -> None:
    """Interruption, locking, hostile files and full disks: real subprocesses killed mid-run."""
    run_in_torch_env(session, "pytest", "-q", "tests/faults", *session.posargs, extras="dev,ray")  # --ray's refusals


@nox.session(venv_backend="none")
def browser(session: nox.Session) -> None:
    """Render a report and open it in headless Chromium (Debian's package; installed if missing)."""
    if not shutil.which("chromium"):
        session.run("apt-get", "update", "-qq", external=True)
        quiet = {"DEBIAN_FRONTEND": "noninteractive"}
        session.run("apt-get", "install", "-y", "-qq", "chromium", external=True, env=quiet)
    run_in_torch_env(session, "pytest", "-q", "-m", "browser", "tests/browser", *session.posargs)


@nox.session(venv_backend="none")
def cluster(session: nox.Session) -> None:
    """Sweeps on a real two-node Ray cluster on 127.0.0.1 (the `ray` extra): same results as locally, a killed worker.

    The tests start the cluster in a network namespace that holds only the loopback device
    (this needs root or user namespaces) and stop every process of it afterwards, also on failure.
    """
    run_in_torch_env(session, "pytest", "-q", "-m", "cluster", "tests/cluster", *session.posargs, extras="dev,ray")


@nox.session(venv_backend="none")
def trackers(session: nox.Session) -> None:
    """`cnnreport export` to TensorBoard and MLflow (the `trackers` extra), read back with their own readers.

    One test starts a real `mlflow server` on 127.0.0.1 and stops it afterwards, also on failure.
    """
    run_in_torch_env(
        session, "pytest", "-q", "-m", "trackers", "tests/trackers", *session.posargs, extras="dev,trackers"
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy over the package."""
    run_in_torch_env(session, "mypy", "cnnreport")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site: mkdocs build --strict (any broken link or reference fails), offline, into site/.

    Only the `docs` extra's tools are installed, not cnnreport: mkdocstrings reads the library's
    docstrings from the source, so this session never needs torch.
    """
    session.install(*nox.project.load_toml(ROOT / "pyproject.toml")["project"]["optional-dependencies"]["docs"])
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"), env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(venv_backend="none")
def reproduce(session: nox.Session) -> None:
    """The main job: re-run the whole write-up and render report.html (arguments pass through)."""
    run_in_torch_env(session, "cnnreport", "reproduce", *session.posargs, data=True)
