"""The HTML page and the Markdown summary: content, escaping, self-containment, thumbnails."""

from __future__ import annotations

import base64
import hashlib
import inspect
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

import visiondrift.report
from test_report_data import (
    EVIL_CLASS,
    EVIL_FILE,
    IMG_PAYLOAD,
    SCRIPT_NAME,
    build_reports,
)
from visiondrift.drift import DriftReport
from visiondrift.report import generate_html_report, make_thumbnails, render_html, render_markdown
from visiondrift.report.html import fmt_num, fmt_p


@pytest.fixture(scope="module")
def report_set(
    tmp_path_factory: pytest.TempPathFactory, photos: list
) -> tuple[DriftReport, DriftReport, Path]:
    return build_reports(tmp_path_factory.mktemp("report_html"), photos)


SECTIONS = ("verdict", "explanations", "metrics", "charts", "integrity", "atypical", "provenance")


def test_exports_are_complete() -> None:
    public = {
        name
        for name, value in vars(visiondrift.report).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(visiondrift.report.__all__) == public


def test_page_shows_verdict_sections_and_every_metric(report_set) -> None:
    plain, _, _ = report_set
    page = render_html(plain)
    for section in SECTIONS:
        assert f'id="{section}"' in page
    word = {"low": "Low drift", "medium": "Medium drift", "high": "High drift"}[plain.severity]
    assert f'<p class="word">{word}</p>' in page
    assert f"<strong>{plain.n_drifted}</strong> of {plain.n_tests} metrics drifted" in page
    assert f"{plain.current.n_images} current images" in page
    rows = re.findall(r"<tr class=\"(drift|negligible|insufficient_evidence|stable)\">", page)
    assert len(rows) == len(plain.metrics)
    for metric in plain.metrics:
        assert f"<strong>{metric.label}</strong>" in page
    for sentence in plain.explanations:
        assert f"<li>{sentence}</li>" in page
    assert page.count('<svg class="hist"') == 4


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def test_every_data_string_is_escaped(report_set) -> None:
    _, hostile, _ = report_set
    page = render_html(hostile)
    # Only the page's own script tag exists, and no tag from the data.
    assert page.count("<script") == 1
    assert "<img src=x" not in page
    assert not re.search(r"<img[^>]*onerror", page)
    for payload in (SCRIPT_NAME, IMG_PAYLOAD, EVIL_CLASS, EVIL_FILE):
        assert _escaped(payload) in page
    assert f"broken {_escaped(IMG_PAYLOAD)}.jpg" in page  # bad file name
    assert f'<div class="name">{_escaped(EVIL_CLASS)}</div>' in page  # class-mix row


def test_page_makes_no_external_reference(report_set) -> None:
    plain, _, folder = report_set
    page = render_html(plain, thumbnails=make_thumbnails(["cat/x.jpg"], folder))
    for attr in re.findall(r"\b(?:src|href|action|srcset|poster)\s*=\s*\"([^\"]*)\"", page):
        assert attr.startswith(("#", "data:image/jpeg;base64,")), attr
    assert not re.search(r"url\((?!#)", page)
    assert "@import" not in page
    assert "http://" not in page
    assert "https://" not in page


def test_csp_pins_the_only_script(report_set) -> None:
    plain, _, _ = report_set
    page = render_html(plain)
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp is not None
    assert f"script-src 'sha256-{digest}'" in csp.group(1)
    assert "default-src 'none'" in csp.group(1)


def test_generate_embeds_thumbnails_of_atypical_images(report_set, tmp_path: Path) -> None:
    _, hostile, folder = report_set
    out = generate_html_report(hostile, tmp_path / "sub" / "page.html", image_root=folder)
    page = out.read_text(encoding="utf-8")
    n_found = sum((folder / a.name).is_file() for a in hostile.atypical_images)
    assert n_found >= 2  # the hostile-named file and the engine's own picks
    assert page.count('src="data:image/jpeg;base64,') == n_found
    assert out.stat().st_size < 2_000_000
    assert [p.name for p in out.parent.iterdir()] == ["page.html"]  # no temporary file left

    names_only = generate_html_report(
        hostile, tmp_path / "names.html", image_root=folder, thumbnails=False
    ).read_text(encoding="utf-8")
    assert "data:image" not in names_only
    assert "Thumbnails are off" in names_only
    assert _escaped(EVIL_FILE) in names_only


def test_thumbnails_skip_missing_outside_and_broken_files(report_set, tmp_path: Path) -> None:
    _, hostile, folder = report_set
    outside = tmp_path / "secret.jpg"
    outside.write_bytes((folder / hostile.atypical_images[0].name).read_bytes())
    real = hostile.atypical_images[0].name
    thumbs = make_thumbnails(
        [real, "missing.jpg", "../secret.jpg", str(outside), f"cat/broken {IMG_PAYLOAD}.jpg"],
        folder,
    )
    assert list(thumbs) == [real]
    with Image.open(io.BytesIO(thumbs[real])) as image:
        assert image.format == "JPEG"
        assert max(image.size) <= 128


def test_generate_accepts_a_path_or_a_mapping(report_set, tmp_path: Path) -> None:
    plain, _, _ = report_set
    saved = plain.save(tmp_path / "report.json")
    from_path = generate_html_report(saved, tmp_path / "a.html").read_text(encoding="utf-8")
    data = json.loads(saved.read_text(encoding="utf-8"))
    from_map = generate_html_report(data, tmp_path / "b.html").read_text(encoding="utf-8")
    assert from_path == from_map == render_html(DriftReport.load(saved))


def test_no_drift_page(report_set) -> None:
    plain, _, _ = report_set
    quiet = plain.model_copy(
        update={
            "overall_drift_detected": False,
            "severity": "none",
            "status": "no_drift",
            "n_drifted": 0,
            "explanations": [],
            "atypical_images": [],
        }
    )
    page = render_html(quiet)
    assert '<p class="word">No drift</p>' in page
    assert "No metric changed enough to matter" in page
    assert "No image stands out" in page


def test_markdown_summary(report_set) -> None:
    plain, hostile, _ = report_set
    text = render_markdown(plain, max_metrics=3)
    assert text.splitlines()[0].endswith(plain.severity.capitalize() + " drift")
    assert f"**{plain.n_drifted} of {plain.n_tests}** metrics drifted" in text
    assert text.count("\n| ") == 1 + min(3, plain.n_drifted)
    top = max(plain.drifted, key=lambda m: ("none", "low", "medium", "high").index(m.severity))
    assert text.splitlines().index(next(x for x in text.splitlines() if x.startswith("| ")))
    assert f"| {top.label} |" in text

    evil = render_markdown(hostile)
    assert "<script" not in evil
    assert "<img" not in evil
    assert "&lt;script&gt;" in evil


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0"), (0.5039, "0.504"), (1300.07, "1,300"), (-0.0713, "−0.0713"), (None, "–")],
)
def test_numbers_for_people(value: float | None, text: str) -> None:
    assert fmt_num(value) == text


def test_p_values() -> None:
    assert fmt_p(1e-9) == "< 0.0001"
    assert fmt_p(0.0123) == "0.012"
    assert fmt_p(0.004) == "0.0040"
