"""The report in a real browser: headless Chromium (Debian's package) through Playwright.

Skipped where no Chromium is installed; .ci/run installs it and sets GANKIT_BROWSER_TESTS=required, so in CI
a missing browser fails instead. The screenshot goes to $GANKIT_ARTIFACTS (CI keeps it), else the test's
tmp folder.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from gankit import report

CHROMIUM_FLAGS = [  # as root in a closed network: no sandbox, no background connections to refuse
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    path = os.environ.get("GANKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    required = os.environ.get("GANKIT_BROWSER_TESTS") == "required"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        if required:
            pytest.fail("GANKIT_BROWSER_TESTS=required but Chromium or playwright is missing")
        pytest.skip("no Chromium (apt-get install chromium) or no playwright (pip install playwright)")
    return path


class Page:
    """A loaded page and everything it did: console messages, page errors, requests, dialogs."""

    def __init__(self, browser, html: Path):
        self.console, self.errors, self.requests, self.dialogs = [], [], [], []
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = html.resolve().as_uri()
        self.page.goto(self.url, wait_until="load")

    def __getattr__(self, name):
        return getattr(self.page, name)


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("GANKIT_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_the_report_of_real_runs_renders(browser, runs, tmp_path):
    page = Page(browser, report(list(runs), tmp_path / "report.html"))
    images = page.evaluate(
        "[...document.images].map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0 && i.naturalHeight > 0}))"
    )
    assert len(images) == 2 * 3 + 2 * 2 + 1  # 3 grids and 2 charts per run, one comparison chart
    assert all(i["ok"] for i in images), [i["alt"] for i in images if not i["ok"]]
    shown = page.evaluate("[...document.querySelectorAll('img.frame')].filter(i => i.offsetWidth > 0).length")
    assert shown == 2  # one grid per run at a time
    rows = {name: page.locator(f"#run-1 table.{name} tbody tr").count() for name in ("eval-metrics", "checkpoints")}
    metrics = json.loads((runs[0] / "eval.json").read_text())["metrics"]
    assert rows == {"eval-metrics": len(metrics), "checkpoints": len(list((runs[0] / "checkpoints").glob("*.json")))}
    assert page.locator("table.compare-config tbody tr").count() == 2

    slider = page.locator("#run-1 .grids input")
    slider.fill("0")  # moves the range input and fires its input event
    assert page.locator("#run-1 .grids .epoch").inner_text() == "1"
    visible = page.evaluate("[...document.querySelectorAll('#run-1 img.frame')].map(i => !i.hidden)")
    assert visible == [True, False, False]

    page.screenshot(path=str(_artifacts(tmp_path) / "report.png"), full_page=True)
    assert page.console == [] and page.errors == [] and page.dialogs == []
    assert page.requests == [page.url]  # the page itself; images are inline


def test_markup_in_run_strings_does_not_execute(browser, hostile_run, tmp_path):
    from conftest import PAYLOADS

    page = Page(browser, report([hostile_run], tmp_path / "hostile.html"))
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.scripts.length") == 1
    assert page.locator("#run-1 h2").inner_text() == f"#1 {PAYLOADS['folder']}"
    assert PAYLOADS["description"] in page.locator("#run-1 pre").text_content()
    assert PAYLOADS["metric"] in page.locator("#run-1 table.eval-metrics").inner_text()
    assert page.console == [] and page.errors == [] and page.dialogs == []
    assert page.requests == [page.url]  # an <img src=x> that reached the markup would fetch x
