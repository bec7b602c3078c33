"""The HTML page in a real headless Chromium: offline, safe, readable at 1440 and 375 px.

Needs Playwright (``pip install playwright``) and Debian's ``chromium`` (never
``playwright install``); skips cleanly when either is absent. Screenshots go to
``test-artifacts/`` at the repository root.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _trend_builders import darkening_reports, trend_series
from test_report_data import (
    EVIL_CLASS,
    EVIL_FILE,
    IMG_PAYLOAD,
    SCRIPT_NAME,
    build_model_report,
    build_reports,
)
from visiondrift.report import generate_html_report, select_trends

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium)", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
SECTIONS = ("verdict", "explanations", "metrics", "charts", "integrity", "atypical", "provenance")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def page_file(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Path:
    root = tmp_path_factory.mktemp("report_browser")
    _, hostile, folder = build_reports(root, photos)
    return generate_html_report(hostile, root / "report.html", image_root=folder)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def _open(browser: Any, path: Path, width: int) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    console: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, console, requests


@pytest.mark.parametrize("width", [1440, 375])
def test_page_in_chromium(browser: Any, page_file: Path, width: int) -> None:
    page, console, requests = _open(browser, page_file, width)
    try:
        assert console == []
        assert requests == [page_file.as_uri()]
        # Nothing from the data ran, and no image from the data was injected.
        assert page.evaluate("window.__pwned === undefined")
        assert page.evaluate("document.querySelectorAll('img[onerror], img[src=x]').length") == 0
        assert page.evaluate("document.scripts.length") == 1
        for section in SECTIONS:
            assert page.locator(f"#{section}").is_visible(), section
        assert page.locator("#verdict .word").inner_text() in (
            "Low drift",
            "Medium drift",
            "High drift",
        )
        text = page.locator("body").inner_text()
        for payload in (SCRIPT_NAME, IMG_PAYLOAD, EVIL_CLASS, EVIL_FILE):
            assert payload in text
        # Thumbnails decoded (data: URIs are allowed by the page's policy).
        loaded = page.evaluate(
            "Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length"
        )
        assert loaded == page.evaluate("document.images.length") > 0
        if width == 375:
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-{width}.png"), full_page=True)
    finally:
        page.close()


@pytest.fixture(scope="module")
def model_page_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report_browser_model")
    return generate_html_report(build_model_report(root), root / "report.html")


@pytest.mark.parametrize("width", [1440, 375])
def test_model_page_in_chromium(browser: Any, model_page_file: Path, width: int) -> None:
    page, console, requests = _open(browser, model_page_file, width)
    try:
        assert console == []
        assert requests == [model_page_file.as_uri()]
        for chart in ("#confidence-histogram", "#class-confidence", "#distributions"):
            assert page.locator(chart).is_visible(), chart
        box = page.locator("#confidence-histogram").bounding_box()
        assert box is not None
        assert box["width"] >= 250
        # Chart text is readable: its size on screen (font size times the SVG's scale).
        sizes = page.evaluate(
            "Array.from(document.querySelectorAll('svg.chart text'))"
            ".map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
        )
        assert len(sizes) > 50
        assert min(sizes) >= 8.0, min(sizes)
        assert max(sizes) <= 17.0, max(sizes)
        rights = page.evaluate(
            "Array.from(document.querySelectorAll('svg.chart'))"
            ".map(s => s.getBoundingClientRect().right)"
        )
        assert max(rights) <= width
        if width == 375:
            assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-model-{width}.png"), full_page=True)
    finally:
        page.close()


@pytest.fixture(scope="module")
def trends_page_file(tmp_path_factory: pytest.TempPathFactory, photos: list) -> tuple[Path, int]:
    """The page of the darkest of seven real runs, with the history of all seven."""
    root = tmp_path_factory.mktemp("report_browser_trends")
    reports = darkening_reports(root, photos)
    series = trend_series(reports)
    page = generate_html_report(reports[-1], root / "report.html", trends=series)
    return page, len(select_trends(series, reports[-1]))


@pytest.mark.parametrize("width", [1440, 375])
def test_trends_page_in_chromium(
    browser: Any, trends_page_file: tuple[Path, int], width: int
) -> None:
    path, n_trends = trends_page_file
    page, console, requests = _open(browser, path, width)
    try:
        assert console == []
        assert requests == [path.as_uri()]
        assert page.locator("#history").is_visible()
        charts = page.locator("#history svg.chart.trend")
        assert charts.count() == n_trends > 0
        for i in range(n_trends):
            assert page.locator(f"#trend-{i}").is_visible()
        # every table of numbers opened: still no sideways scrolling of the page
        page.evaluate("document.querySelectorAll('#history details').forEach(d => d.open = true)")
        sizes = page.evaluate(
            "Array.from(document.querySelectorAll('#history svg.chart text'))"
            ".map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"
        )
        assert min(sizes) >= 8.0, min(sizes)
        rights = page.evaluate(
            "Array.from(document.querySelectorAll('#history svg.chart'))"
            ".map(s => s.getBoundingClientRect().right)"
        )
        assert max(rights) <= width
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#history").screenshot(path=str(ARTIFACTS / f"report-trends-{width}.png"))
    finally:
        page.close()


def test_metrics_table_sorts(browser: Any, page_file: Path) -> None:
    page, console, _ = _open(browser, page_file, 1440)
    try:
        header = page.locator("#metrics-table thead th[data-col='4'] button")
        header.click()
        header.click()  # descending: the largest effect first
        cells = page.locator("#metrics-table tbody tr td:nth-child(5)")
        values = [float(v) for v in cells.evaluate_all("cs => cs.map(c => c.dataset.sort)")]
        assert values == sorted(values, reverse=True)
        assert console == []
    finally:
        page.close()


def test_page_works_without_javascript(browser: Any, page_file: Path) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        page.goto(page_file.as_uri())
        # The whole table is there without the script (it only adds sorting).
        rows = page.locator("#metrics-table tbody tr").count()
        assert rows > 0
        assert page.locator("#verdict").is_visible()
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 375
    finally:
        context.close()
