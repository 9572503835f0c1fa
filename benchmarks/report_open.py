"""How fast a report opens in Chromium, and how big it is, against the goals: under 1 s, at most 6 MB.

Opens the file --repeat times in a fresh headless Chromium page (Debian's /usr/bin/chromium, driven
by Playwright) and takes, from the navigation timing, the time until the load event has finished:
parsing, decoding every embedded image and running the report's script (the explorers, sorting,
the sidebar's marker). It also counts network requests and console errors, which must be 0.
The report of the write-up's five runs plus the tuned run (`cnnreport reproduce --with-tuned`)
is the one the goals are for.

    python benchmarks/report_open.py report.html [--repeat 5] [--width 1440]
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

GOAL_SECONDS = 1.0
GOAL_BYTES = 6_000_000
CHROMIUM = os.environ.get("CNNREPORT_CHROMIUM", "/usr/bin/chromium")
LOADED = "() => { const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd - t.startTime; }"


def open_times(report: Path, repeat: int, width: int) -> tuple[list[float], list[str], list[str]]:
    """Seconds to the end of the load event, each in a fresh page; and every request and error seen."""
    from playwright.sync_api import sync_playwright

    times, requests, errors = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(report.resolve().as_uri(), wait_until="load")
            times.append(page.evaluate(LOADED) / 1000)
            page.close()
        browser.close()
    return times, requests, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--width", type=int, default=1440)
    args = parser.parse_args()
    times, requests, errors = open_times(args.report, args.repeat, args.width)
    size = args.report.stat().st_size
    median = statistics.median(times)
    fastest = min(times)
    print(f"opened in {median:.3f} s median, {fastest:.3f} s best of {len(times)}: {median / GOAL_SECONDS:.2f} of 1 s")
    print(f"size {size / 1e6:.2f} MB: {size / GOAL_BYTES:.2f} of the 6 MB goal")
    network = [url for url in requests if not url.startswith(("file:", "data:"))]
    print(f"network requests {len(network)}, console errors {len(errors)}")
    for line in network + errors:
        print(f"  {line}")


if __name__ == "__main__":
    main()
