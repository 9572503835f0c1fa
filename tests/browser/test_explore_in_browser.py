"""Exploring the report in headless Chromium: what a reader clicks, points at and sorts, with and without scripts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cnnreport.analyses.thumbnails import CELL_CAP
from cnnreport.report.document import RunPart, Section, Table
from cnnreport.report.explore import sprite
from cnnreport.report.render import render

pytestmark = pytest.mark.browser
# Shown to the reader: inside a closed <details> an element keeps its box but is not rendered.
VISIBLE = "s => { const n = document.querySelector(s); return !!n && n.checkVisibility(); }"
THUMB_WIDTH = "([s, w]) => document.querySelector(s)?.getBoundingClientRect().width === w"


def run_anchors(page) -> list[str]:
    return page.evaluate("() => Array.from(document.querySelectorAll('section.run'), s => s.id)")


def test_clicking_a_confusion_cell_shows_that_cells_test_images(open_page, browser_report: Path):
    opened = open_page(browser_report)
    page, first = opened.page, run_anchors(opened.page)[0]
    explorer = f"#{first}-confusion .explorer"
    assert page.evaluate(VISIBLE, explorer)
    cell = page.locator(f"{explorer} .cell.diagonal").first
    count = int(cell.inner_text().replace(",", ""))
    true_class = page.locator(f"{explorer} tbody th").first.inner_text()
    cell.click()
    thumbs = page.locator(f"{explorer} .cell-images .thumbs li")
    assert thumbs.count() == min(count, CELL_CAP)
    titles = [thumbs.nth(i).get_attribute("title") for i in range(thumbs.count())]
    assert all(t.startswith(f"true {true_class}, predicted {true_class} (") for t in titles), titles
    confidences = [int(thumbs.nth(i).locator(".thumb-label").inner_text().rstrip(" %")) for i in range(thumbs.count())]
    assert confidences == sorted(confidences, reverse=True)  # most confident first
    image = page.eval_on_selector(f"{explorer} .thumb", "t => getComputedStyle(t).backgroundImage")
    assert image.startswith('url("data:image/png;base64,')
    assert opened.errors == [] and opened.failed == []


def test_pointing_at_a_tsne_point_shows_its_image_label_and_prediction(open_page, browser_report: Path):
    opened = open_page(browser_report)
    page, first = opened.page, run_anchors(opened.page)[0]
    card = f"#{first}-tsne .point-card"
    assert page.locator(f"{card} .thumb").count() == 0
    page.locator(f"#{first}-tsne .tsne-chart circle").last.hover()
    assert page.evaluate(VISIBLE, f"{card} .thumb")
    text = page.locator(card).inner_text()
    assert "True " in text and "Predicted " in text and "Test image #" in text
    # 28 px, 3 times. Waited for: moving the hovered dot on top of its neighbours can hand the
    # pointer to the same dot again, and the card is then drawn once more.
    page.wait_for_function(THUMB_WIDTH, arg=[f"{card} .thumb", 84], timeout=5000)
    assert opened.errors == []


def test_a_table_sorts_by_the_column_clicked(open_page, browser_report: Path):
    page = open_page(browser_report).page
    table = f"#{run_anchors(page)[0]}-per-class table"
    column = "ps => Array.from(document.querySelectorAll(ps + ' tbody tr'), r => parseFloat(r.cells[3].textContent))"
    page.locator(f"{table} th button", has_text="F1").click()
    ascending = page.evaluate(column, table)
    assert ascending == sorted(ascending) and len(ascending) > 2
    page.locator(f"{table} th button", has_text="F1").click()
    assert page.evaluate(column, table) == sorted(ascending, reverse=True)
    assert page.get_attribute(f"{table} th:nth-child(4)", "aria-sort") == "descending"


def test_a_runs_parts_open_and_close_the_first_runs_open(open_page, browser_report: Path):
    page = open_page(browser_report).page
    first, second = run_anchors(page)[:2]
    assert page.evaluate(VISIBLE, f"#{first}-confusion")
    assert not page.evaluate(VISIBLE, f"#{second}-confusion")  # closed: a reader scrolls past it in one screen
    page.click(f"#{second} > details > summary")
    assert page.evaluate(VISIBLE, f"#{second}-confusion")
    page.click(f"#{second} > details > summary")
    assert not page.evaluate(VISIBLE, f"#{second}-confusion")


def test_a_contents_link_into_a_closed_run_opens_it_and_the_sidebar_marks_it(open_page, browser_report: Path):
    page = open_page(browser_report).page
    target = f"{run_anchors(page)[1]}-confusion"
    page.click(f'nav a[href="#{target}"]')
    assert page.evaluate(VISIBLE, f"#{target}")
    page.wait_for_function(
        "t => { const a = document.querySelector('nav a.current'); return a && a.getAttribute('href') === '#' + t; }",
        arg=target,
    )
    assert page.get_attribute(f'nav a[href="#{target}"]', "aria-current") == "location"


def test_part_headings_name_their_run(open_page, browser_report: Path):
    page = open_page(browser_report).page
    heading = page.locator(f"#{run_anchors(page)[0]}-confusion h3").inner_text()
    name = page.get_attribute("section.run", "data-name")
    assert heading == f"Confusion matrix — {name}"


def test_the_learning_curves_of_every_run_show_values_on_hover(open_page, browser_report: Path):
    opened = open_page(browser_report)
    page = opened.page
    names = page.evaluate("() => Array.from(document.querySelectorAll('section.run'), s => s.dataset.name)")
    assert page.locator("svg.curves-chart polyline").count() == len(names)  # one line a run, on one chart
    assert page.locator("#curves .legend li").all_inner_texts() == names
    page.locator("svg.curves-chart").hover()
    tip = page.locator("#curves .curves-tip")
    assert tip.is_visible()
    text = tip.inner_text()
    assert text.startswith("Epoch ") and all(name in text for name in names)
    assert opened.errors == []


def test_two_runs_side_by_side(open_page, browser_report: Path):
    page = open_page(browser_report).page
    names = page.evaluate("() => Array.from(document.querySelectorAll('section.run'), s => s.dataset.name)")
    assert page.evaluate(VISIBLE, "#compare")
    page.locator("#compare select").nth(1).select_option(str(len(names) - 1))
    columns = page.locator("#compare .compare-column")
    assert columns.count() == 2
    assert [columns.nth(i).locator(".compare-name").inner_text() for i in range(2)] == [names[0], names[-1]]
    for i in range(2):
        assert columns.nth(i).locator(".facts").count() == 1
        assert columns.nth(i).locator("img").count() >= 2  # learning curves and confusion matrix
    assert page.evaluate(
        "() => new Set(Array.from(document.querySelectorAll('[id]'), n => n.id)).size"
    ) == page.evaluate(
        "() => document.querySelectorAll('[id]').length"
    )  # the copies carry no id: every id stays unique


def test_without_scripts_every_static_part_still_reads(open_page, browser_report: Path):
    opened = open_page(browser_report, scripts=False)
    page, first = opened.page, run_anchors(opened.page)[0]
    assert page.evaluate("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate(VISIBLE, f"#{first}-confusion img")
    assert page.evaluate(VISIBLE, "svg.curves-chart")  # the chart of every run is static SVG
    assert page.locator(".explorer:visible, #compare:visible, .thumb").count() == 0
    assert "Per-class precision, recall and F1" in page.locator(f"#{first}").inner_text()
    target = f"{run_anchors(page)[1]}-confusion"
    page.click(f'nav a[href="#{target}"]')  # the browser itself opens a fold a link points into
    page.wait_for_function(VISIBLE, arg=f"#{target}")
    assert opened.errors == [] and opened.failed == []


def test_the_explorers_fit_a_phone(open_page, browser_report: Path):
    page = open_page(browser_report, width=390).page
    page.locator(f"#{run_anchors(page)[0]}-confusion .cell.diagonal").first.click()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    smallest = page.evaluate(
        "() => Math.min(...Array.from(document.querySelectorAll('.explorer *, .curves-tip *, .legend li'))"
        ".filter(n => n.checkVisibility() && n.textContent.trim()).map(n => parseFloat(getComputedStyle(n).fontSize)))"
    )
    assert smallest >= 10
    chart_text = page.evaluate(  # SVG text scales with its drawing: its size on screen is what counts
        "() => { const svg = document.querySelector('svg.curves-chart');"
        " const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;"
        " const sizes = Array.from(svg.querySelectorAll('text'), t => parseFloat(getComputedStyle(t).fontSize));"
        " return Math.min(...sizes) * scale; }"
    )
    assert chart_text >= 10


def hostile_part(name: str, anchor: str) -> RunPart:
    """A run whose name and class label are script: its explorer data holds both."""
    data = {
        "name": name,
        "names": [name, "b"],
        "columns": 20,
        "side": 28,
        "sprite": sprite(np.zeros((1, 28, 28), np.uint8)),
        "confusion": {"matrix": [[1, 0], [0, 0]], "cells": {"0,0": [[0, 90, 5, 0, 0]]}},
        "evaluated_with_thumbnails": True,
    }
    return RunPart(name, anchor, [["Status", name]], [], [Section("confusion", "Confusion matrix")], explore=data)


def test_a_script_name_in_embedded_data_stays_text(open_page, tmp_path: Path):
    name = "</script><script>alert(1)</script>"
    curves = [
        {"name": name, "anchor": "run-1", "epoch": [1], "test_accuracy": [0.5], "test_loss": [1.0], "train_loss": [1.0]}
    ]
    document = tmp_path / "hostile.html"
    parts = [hostile_part(name, "run-1"), hostile_part(name + "2", "run-2")]
    html = render(parts, Table("", [], []), [], curves=curves)
    document.write_text(html)
    opened = open_page(document)
    page = opened.page
    assert opened.dialogs == [] and opened.errors == []
    assert json.loads(page.inner_text("#data-run-1"))["names"][0] == name  # the data arrives intact
    page.locator("#run-1-confusion .cell").first.click()
    assert page.get_attribute("#run-1-confusion .thumbs li", "title").startswith(f"true 0 {name}, predicted {name} (")
    assert page.locator("#compare option").first.inner_text() == name
    assert opened.dialogs == []
