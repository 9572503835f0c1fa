"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, and a report to open.

Every request the page makes is recorded, so tests can prove the document is self-contained.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from cnnreport.storage.rundir import RunDir
from tests.helpers import invoke

CHROMIUM = os.environ.get("CNNREPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
HOSTILE_RUN = "<img src=x onerror=alert(1)>"
HOSTILE_COMMAND = "cnnreport train --name '<script>alert(1)</script>'"


@dataclass
class OpenedPage:
    """A page plus everything it did while loading."""

    page: Any
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Any]:
    """open_page(path, width, scripts) -> OpenedPage, loaded, with its requests and console errors recorded."""
    contexts = []

    def opener(path: Path, width: int = 1280, scripts: bool = True) -> OpenedPage:
        context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=scripts)
        contexts.append(context)
        page = context.new_page()
        opened = OpenedPage(page)
        page.on("request", lambda request: opened.requests.append(request.url))
        page.on("requestfailed", lambda request: opened.failed.append(request.url))
        page.on("console", lambda message: opened.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: opened.errors.append(str(error)))
        page.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.resolve().as_uri(), wait_until="load")
        return opened

    yield opener
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def browser_report(trained_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of the session's runs plus a run whose name and recorded command are hostile HTML."""
    runs = tmp_path_factory.mktemp("browser") / "runs"
    shutil.copytree(trained_runs, runs)
    hostile = RunDir(runs / HOSTILE_RUN)
    shutil.copytree(runs / "tiny10", hostile.path)
    hostile.write_config(hostile.read_config(), HOSTILE_COMMAND)
    output = runs.parent / "report.html"
    result = invoke("report", "-o", output, "--runs-dir", runs, "--tsne-samples", "60")
    assert result.exit_code == 0, result.output
    return output
