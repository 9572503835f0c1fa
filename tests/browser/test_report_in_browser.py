"""The report opened in headless Chromium: no network, no errors, every image drawn, no injection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnreport.report.document import RunPart, Table
from cnnreport.report.render import render
from tests.browser.conftest import HOSTILE_COMMAND, HOSTILE_RUN

pytestmark = pytest.mark.browser
PHONE_WIDTH = 390
# Scripts other than the report's own (the last element of the body) and its JSON data blocks.
OTHER_SCRIPTS = (
    "() => Array.from(document.scripts).filter(s => s.type !== 'application/json'"
    " && s !== document.body.lastElementChild).length"
)


def screenshot_path(tmp_path: Path, suffix: str = "") -> Path:
    """CNNREPORT_SCREENSHOT when set (CI keeps it), else a temporary file."""
    chosen = Path(os.environ.get("CNNREPORT_SCREENSHOT", tmp_path / "report.png"))
    chosen.parent.mkdir(parents=True, exist_ok=True)
    return chosen.with_name(f"{chosen.stem}{suffix}{chosen.suffix}")


def test_report_loads_offline_without_errors(open_page, browser_report: Path, tmp_path: Path):
    opened = open_page(browser_report)
    assert opened.errors == []
    assert opened.failed == []
    assert all(url.startswith(("data:", "file:")) for url in opened.requests), opened.requests
    images = opened.page.evaluate(
        "() => Array.from(document.images, i => ({src: i.src.slice(0, 22), ok: i.complete && i.naturalWidth > 0}))"
    )
    assert len(images) > 20
    assert all(image["ok"] and image["src"] == "data:image/png;base64," for image in images)
    target = screenshot_path(tmp_path)
    opened.page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


def test_report_fits_a_phone_screen(open_page, browser_report: Path, tmp_path: Path):
    opened = open_page(browser_report, width=PHONE_WIDTH)
    # Wide tables and code scroll inside their own boxes; the page itself never scrolls sideways.
    assert opened.page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_WIDTH
    target = screenshot_path(tmp_path, "-phone")
    opened.page.screenshot(path=str(target), full_page=True)
    assert opened.errors == []


def test_no_option_splits_at_a_line_end_on_a_phone(open_page, browser_report: Path):
    page = open_page(browser_report, width=PHONE_WIDTH).page
    lines_per_word = page.evaluate(
        "() => Array.from(document.querySelectorAll('.word'), w => [w.textContent, w.getClientRects().length])"
    )
    assert len(lines_per_word) > 100  # the commands alone hold dozens of options
    assert [word for word, lines in lines_per_word if lines != 1] == []
    commands = page.evaluate("() => document.querySelector('pre').innerText")
    assert commands.startswith("cnnreport train --dataset mnist --classes 10")  # copies as typed


def test_contents_links_jump_to_their_sections(open_page, browser_report: Path):
    page = open_page(browser_report).page
    missing = page.evaluate(
        "() => Array.from(document.querySelectorAll('nav a'), a => a.getAttribute('href'))"
        ".filter(h => !document.getElementById(h.slice(1)))"
    )
    assert missing == []


def test_contents_box_lists_runs_but_not_their_parts_until_the_sidebar(open_page, browser_report: Path):
    """On a phone the contents sit above the report: each run's parts would push it screens down."""
    visible_links = "() => Array.from(document.querySelectorAll('nav a')).filter(a => a.offsetParent).length"
    top_level = "() => document.querySelectorAll('nav > ol > li').length"
    phone = open_page(browser_report, width=PHONE_WIDTH).page
    assert phone.evaluate(visible_links) == phone.evaluate(top_level)
    desktop = open_page(browser_report, width=1280).page
    assert desktop.evaluate(visible_links) == desktop.evaluate("() => document.querySelectorAll('nav a').length")
    assert desktop.evaluate(visible_links) > desktop.evaluate(top_level)


def test_hostile_run_name_and_command_show_as_text(open_page, browser_report: Path):
    opened = open_page(browser_report)
    page = opened.page
    assert page.evaluate("() => document.querySelectorAll('[onerror], img[src=\"x\"]').length") == 0
    assert page.evaluate(OTHER_SCRIPTS) == 0
    text = page.evaluate("() => document.body.innerText")
    assert HOSTILE_RUN in text and HOSTILE_COMMAND in text
    assert opened.dialogs == []


def test_script_run_name_shows_as_text(open_page, tmp_path: Path):
    name = "<script>alert(1)</script>"
    document = tmp_path / "script.html"
    document.write_text(
        render(
            [RunPart(name, "run-1", [["Status", name]], [f"cnnreport train --name {name}"], [])], Table("", [], []), []
        )
    )
    opened = open_page(document)
    assert opened.page.evaluate(OTHER_SCRIPTS) == 0
    assert name in opened.page.evaluate("() => document.body.innerText")
    assert opened.dialogs == [] and opened.errors == []


def test_study_sections_include_how_far_the_same_budget_goes(open_page, browser_report: Path):
    page = open_page(browser_report).page
    titles = page.evaluate(
        "() => Array.from(document.querySelectorAll('nav a[href^=\"#study-\"]'), a => a.textContent)"
    )
    assert "How far the same budget goes" in titles
    section = page.evaluate("() => document.getElementById('study-budget').innerText")
    assert "cnnreport reproduce --with-tuned" in section  # the browser runs hold no tuned run: it says what to run
