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
    build_model_report,
    build_reports,
)
from visiondrift.drift import DistributionDetails, DriftReport
from visiondrift.report import (
    _charts,
    describe_trend,
    generate_html_report,
    make_thumbnails,
    render_html,
    render_markdown,
    select_trends,
)
from visiondrift.report.html import fmt_num, fmt_p


@pytest.fixture(scope="module")
def report_set(
    tmp_path_factory: pytest.TempPathFactory, photos: list
) -> tuple[DriftReport, DriftReport, Path]:
    return build_reports(tmp_path_factory.mktemp("report_html"), photos)


@pytest.fixture(scope="module")
def model_report(tmp_path_factory: pytest.TempPathFactory) -> DriftReport:
    return build_model_report(tmp_path_factory.mktemp("report_html_model"))


SECTIONS = ("verdict", "explanations", "metrics", "charts", "integrity", "atypical", "provenance")


def test_exports_are_complete() -> None:
    public = {
        name
        for name, value in vars(visiondrift.report).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert set(visiondrift.report.__all__) == public
    assert describe_trend.__module__ == select_trends.__module__ == "visiondrift.report._trends"


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
    assert page.count('<svg class="chart hist"') == 4  # one pixel histogram per channel


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
    assert f'<td class="wrap">{_escaped(EVIL_CLASS)}</td>' in page  # class-mix numbers
    mix = page.split('id="mix-labels"', 1)[1].split("</svg>", 1)[0]
    assert f">{_escaped(EVIL_CLASS)}</text>" in mix  # the class-mix chart's label


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


def _quantiled(report: DriftReport) -> list:
    return [
        m
        for m in report.metrics
        if isinstance(m.details, DistributionDetails) and m.details.baseline_quantiles
    ]


def test_property_metrics_carry_their_percentiles(report_set) -> None:
    plain, _, _ = report_set
    quantiled = _quantiled(plain)
    assert {m.name for m in quantiled} >= {"brightness", "sharpness", "noise", "width"}
    for m in quantiled:
        for key in ("baseline_quantiles", "current_quantiles"):
            q = getattr(m.details, key)
            assert len(q) == 19
            assert all(isinstance(v, float) for v in q)
            assert q == sorted(q), (m.name, key)
        if m.family not in ("pixel_mean", "pixel_std") and m.unit != "share of pixels":
            # the 50th percentile is the median the metric reports
            assert m.details.baseline_quantiles[9] == pytest.approx(m.baseline)
            assert m.details.current_quantiles[9] == pytest.approx(m.current)
    # the JSON form keeps them
    again = DriftReport.from_dict(json.loads(json.dumps(plain.to_dict())))
    assert again.metric("brightness").details == plain.metric("brightness").details


def test_page_draws_the_drifted_property_distributions(report_set) -> None:
    plain, _, _ = report_set
    drifted = [m for m in _quantiled(plain) if m.status == "drift"]
    assert drifted  # the camera change moves image properties
    page = render_html(plain)
    assert "Distributions of the drifted properties" in page
    section = page.split('id="distributions"', 1)[1].split('id="histograms"', 1)[0]
    assert page.count('<svg class="chart hist cdf"') == len(drifted)
    for m in drifted:
        assert f'-title">{m.label}: distribution of per-image values' in section
    # no model on either side: no confidence charts
    assert 'id="confidence"' not in page
    assert "confidence-histogram" not in page
    assert 'id="class-confidence"' not in page


def test_page_without_drift_draws_the_largest_effects(report_set) -> None:
    plain, _, _ = report_set
    calm = plain.model_copy(
        update={"metrics": [m.model_copy(update={"status": "stable"}) for m in plain.metrics]}
    )
    page = render_html(calm)
    assert "Distributions of the properties with the largest effect" in page
    assert page.count('<svg class="chart hist cdf"') == _charts.MAX_DISTRIBUTIONS_WITHOUT_DRIFT
    top = sorted(_quantiled(calm), key=lambda m: -abs(m.effect_size))[0]
    assert f'-title">{top.label}: distribution' in page


def test_page_of_an_older_report_has_no_distributions(report_set) -> None:
    plain, _, _ = report_set
    old = plain.model_copy(
        update={
            "metrics": [
                m.model_copy(
                    update={
                        "details": type(m.details).model_validate(
                            {
                                k: v
                                for k, v in m.details.model_dump().items()
                                if not k.endswith("_quantiles")
                            }
                        )
                    }
                )
                for m in plain.metrics
            ]
        }
    )
    page = render_html(old)
    assert 'id="distributions"' not in page
    assert '<svg class="chart hist cdf"' not in page


def test_page_with_a_model_shows_confidence(model_report: DriftReport) -> None:
    assert model_report.baseline.model is not None
    assert model_report.current.model is not None
    page = render_html(model_report)
    assert '<h3 id="confidence">Model confidence' in page
    assert page.count('<svg class="chart hist" id="confidence-histogram"') == 1
    assert 'id="confidence-summary"' in page
    assert "<td>1st percentile</td>" in page
    base, cur = model_report.baseline.model, model_report.current.model
    mean = f'<td>mean</td><td class="num">{fmt_num(base.confidence_mean)}</td>'
    assert mean + f'<td class="num">{fmt_num(cur.confidence_mean)}</td>' in page
    assert (
        f'<td>50th percentile</td><td class="num">{fmt_num(base.confidence_percentiles["50"])}'
        in page
    )
    bars = page.split('id="class-confidence"', 1)[1].split("</section>", 1)[0]
    chart, table = bars.split("</svg>", 1)
    classes = set(base.confidence_per_class) | set(cur.confidence_per_class)
    assert table.count('<tr><td class="wrap">') == len(classes)
    for name in classes:
        assert f'<td class="wrap">{name}</td>' in table
        assert f">{name}</text>" in chart
        b, c = base.confidence_per_class.get(name), cur.confidence_per_class.get(name)
        assert f">{_charts._fmt(b)} → {_charts._fmt(c)}</text>" in chart
    # property distributions are drawn for a model report too
    assert '<svg class="chart hist cdf"' in page


def test_confidence_needs_a_model_on_both_sides(model_report: DriftReport) -> None:
    one_sided = model_report.model_copy(
        update={"current": model_report.current.model_copy(update={"model": None})}
    )
    page = render_html(one_sided)
    assert 'id="confidence"' not in page
    assert "confidence-histogram" not in page


def test_confidence_rows_order_and_gaps() -> None:
    rows, more = _charts.confidence_rows(
        {"a": 0.9, "b": 0.8, "c": 0.7, "gone": 0.5, "nan": float("nan")},
        {"a": 0.88, "b": 0.4, "c": 0.75, "new": 0.6},
        max_rows=4,
    )
    assert [r.name for r in rows] == ["b", "c", "a", "gone"]
    assert more == 1
    assert rows[-1].current is None
    assert all(r.name != "nan" for r in rows)
    svg = _charts.quantile_cdf_svg([1.0, 1.0], [1.0, 1.0], 0.5, 1.5, "<b>&", chart_id="t")
    assert "&lt;b&gt;&amp;" in svg


def test_charts_are_inline_svg_with_unique_ids(model_report: DriftReport) -> None:
    page = render_html(model_report)
    charts = re.findall(r'<svg class="chart[^"]*" id="([^"]+)"', page)
    # effects, distributions, channel histograms, class/format/mode mixes, confidence charts
    assert {"effect-chart-svg", "confidence-histogram", "class-confidence-chart"} <= set(charts)
    assert any(c.startswith("distribution-") for c in charts)
    assert any(c.startswith("histogram-") for c in charts)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids)), [i for i in set(ids) if ids.count(i) > 1][:5]
    # every in-page reference points at an element of the page
    for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', page):
        assert ref in ids, ref
    # no global style sheet from the charts (it would restyle the whole page)
    assert page.count("<style") == 1
    assert "xlink:" not in page
    assert "<metadata" not in page


def test_rendering_is_reproducible(model_report: DriftReport) -> None:
    assert render_html(model_report) == render_html(model_report)


def test_chart_text_from_the_data_is_literal(report_set) -> None:
    plain, _, _ = report_set
    odd = {"$\\alpha$ & <b>": 5, "50$ note": 3, "x" * 60: 2}
    page = render_html(
        plain.model_copy(
            update={
                "baseline": plain.baseline.model_copy(update={"labels": odd}),
                "current": plain.current.model_copy(update={"labels": odd}),
            }
        )
    )
    mix = page.split('id="mix-labels"', 1)[1].split("</svg>", 1)[0]
    # no math parsing: the dollar signs and backslash stay, nothing is set in italics
    assert ">$\\alpha$ &amp; &lt;b&gt;</text>" in mix
    assert ">50$ note</text>" in mix
    assert "oblique" not in mix
    # a long name is shortened in the chart, whole in the table beside it
    assert f">{'x' * 39}…</text>" in mix
    assert f'<td class="wrap">{"x" * 60}</td>' in page
    # the share of every category is written next to its bars
    assert mix.count(">50.0% → 50.0%</text>") == 1
    assert mix.count(">30.0% → 30.0%</text>") == 1
    assert mix.count(">20.0% → 20.0%</text>") == 1


def test_pages_rendered_in_threads_are_identical(model_report: DriftReport) -> None:
    """matplotlib's settings are global: concurrent renders must not see each other's."""
    from concurrent.futures import ThreadPoolExecutor

    expected = render_html(model_report)
    with ThreadPoolExecutor(max_workers=3) as pool:
        pages = list(pool.map(lambda _: render_html(model_report), range(3)))
    assert all(page == expected for page in pages)
