"""Figures read on a phone: no figure text under 10 px at 390 px wide, measured in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnreport.report.document import READABLE_PX

pytestmark = pytest.mark.browser
PHONE_WIDTH, DESKTOP_WIDTH = 390, 1440

# Each figure's smallest text as shown: its size in the PNG's pixels, scaled by how wide the image is drawn.
SHOWN_TEXT = """() => Array.from(document.querySelectorAll('figure img'), img => ({
    alt: img.alt.slice(0, 60),
    text: img.getBoundingClientRect().width / img.naturalWidth * parseFloat(img.dataset.textPx),
}))"""


def test_no_figure_text_is_under_10_px_on_a_phone(open_page, browser_report: Path) -> None:
    opened = open_page(browser_report, width=PHONE_WIDTH)
    shown = opened.page.evaluate(SHOWN_TEXT)
    assert len(shown) > 20 and all(item["text"] == item["text"] for item in shown)  # every image says its text size
    too_small = [(item["alt"], round(item["text"], 1)) for item in shown if item["text"] < READABLE_PX - 0.05]
    assert too_small == []
    # A figure wider than the screen scrolls inside its own box; the page itself never scrolls sideways.
    assert opened.page.evaluate("() => document.documentElement.scrollWidth") <= PHONE_WIDTH
    assert opened.errors == []


def test_figures_shrink_to_the_screen_on_a_desktop(open_page, browser_report: Path) -> None:
    page = open_page(browser_report, width=DESKTOP_WIDTH).page
    overflowing = page.evaluate(
        "() => Array.from(document.querySelectorAll('figure img')).filter(img => img.scrollWidth > "
        "img.parentElement.clientWidth + 1).length"
    )
    assert overflowing == 0  # the phone layout's minimum width applies to phones only


def test_the_cost_tables_accuracy_column_is_on_screen_at_1440_px(open_page, browser_report: Path) -> None:
    page = open_page(browser_report, width=DESKTOP_WIDTH).page
    right = page.evaluate(
        "() => { const cells = Array.from(document.querySelectorAll('#study-efficiency thead th'));"
        " const cell = cells.find(th => th.textContent.trim() === 'test accuracy');"
        " return cell ? cell.getBoundingClientRect().right : null; }"
    )
    assert right is not None and right <= DESKTOP_WIDTH
