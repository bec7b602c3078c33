"""Metric trends in the reports: which series are shown, their sentences, the History section.

The series come from real reports (crops of real photos, darker at each run, against one
baseline; see ``_trend_builders``); the sentence tests change the numbers of a real series where
a shape (flat, mixed, missing values) is needed, and derive the expected text from them.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import re
from datetime import timedelta
from pathlib import Path

import pytest

from _trend_builders import GAINS, START, darkening_reports, trend_series
from test_report_data import IMG_PAYLOAD, SCRIPT_NAME
from visiondrift.drift import DriftReport
from visiondrift.drift.trends import TrendSeries, series_from_reports
from visiondrift.errors import ConfigError
from visiondrift.report import (
    _charts,
    describe_trend,
    generate_html_report,
    render_html,
    render_markdown,
    select_trends,
)
from visiondrift.report._format import fmt_num, fmt_share
from visiondrift.report._trends import HEADLINE_METRICS, MAX_TRENDS, run_labels
from visiondrift.report.markdown import _md


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory, photos: list) -> list[DriftReport]:
    return darkening_reports(tmp_path_factory.mktemp("trends"), photos)


@pytest.fixture(scope="module")
def series(reports: list[DriftReport]) -> list[TrendSeries]:
    return trend_series(reports)


def _named(series: list[TrendSeries], name: str) -> TrendSeries:
    return next(s for s in series if s.name == name)


def _with_values(s: TrendSeries, values: list[float | None]) -> TrendSeries:
    """The series with its first ``len(values)`` points, given these values."""
    points = tuple(dataclasses.replace(p, value=v) for p, v in zip(s.points, values, strict=False))
    return dataclasses.replace(s, points=points)


# -- the data behind the tests -------------------------------------------------------------


def test_darker_runs_drift_more(reports: list[DriftReport]) -> None:
    """The runs really darken: brightness falls overall and the last run drifted on it."""
    values = [r.metric("brightness").current for r in reports]
    assert len(reports) == len(GAINS)
    assert values[-1] < values[0]
    assert reports[-1].metric("brightness").status == "drift"
    assert reports[0].metric("brightness").status != "drift"


def test_series_from_reports(reports: list[DriftReport], series: list[TrendSeries]) -> None:
    names = [s.name for s in series]
    assert len(names) == len(set(names))
    assert set(names) == {m.name for r in reports for m in r.metrics}
    brightness = _named(series, "brightness")
    assert [p.value for p in brightness.points] == [r.metric("brightness").current for r in reports]
    assert [p.effect_size for p in brightness.points] == [
        r.metric("brightness").effect_size for r in reports
    ]
    assert [p.current for p in brightness.points] == [False] * (len(reports) - 1) + [True]
    assert [p.ran_at for p in brightness.points] == sorted(p.ran_at for p in brightness.points)
    assert brightness.bands == reports[-1].metric("brightness").bands
    assert brightness.dataset == "camera-1"
    unmarked = series_from_reports(reports[:2], [START, START], current=None)
    assert not any(p.current for s in unmarked for p in s.points)
    assert [p.run_id for p in unmarked[0].points] == ["0", "1"]
    with pytest.raises(ConfigError, match="one time and one run id per report"):
        series_from_reports(reports, [START])


# -- sentences -------------------------------------------------------------------------------


def test_sentence_of_a_real_darkening(series: list[TrendSeries], reports: list) -> None:
    brightness = _named(series, "brightness")
    values = [r.metric("brightness").current for r in reports]
    falls = sum(b < a for a, b in itertools.pairwise(values))
    assert describe_trend(brightness) == (
        f"Brightness {fmt_num(values[0])} → {fmt_num(values[-1])} over {len(values)} runs, "
        f"falling in {falls} of {len(values) - 1} steps."
    )


def test_sentence_rising_and_falling(series: list[TrendSeries]) -> None:
    s = _named(series, "brightness")
    # 0.30 -> 0.42: up, up, down, up, up, up -> rising in 5 of 6 steps
    rising = _with_values(s, [0.30, 0.32, 0.35, 0.33, 0.37, 0.40, 0.42])
    assert describe_trend(rising) == "Brightness 0.300 → 0.420 over 7 runs, rising in 5 of 6 steps."
    # a step with no change goes neither way: up in 2 of 3
    pause = _with_values(s, [0.30, 0.30, 0.35, 0.40])
    assert describe_trend(pause) == "Brightness 0.300 → 0.400 over 4 runs, rising in 2 of 3 steps."
    # 0.91 -> 0.84 with every step down: falling in 6 of 6
    falling = _with_values(s, [0.91, 0.90, 0.89, 0.88, 0.87, 0.86, 0.84])
    assert describe_trend(falling) == (
        "Brightness 0.910 → 0.840 over 7 runs, falling in 6 of 6 steps."
    )
    # two runs: one step, no count to give
    two = _with_values(s, [0.41, 0.30])
    assert describe_trend(two) == "Brightness 0.410 → 0.300 over 2 runs (falling)."


def test_sentence_flat_and_back_where_it_started(series: list[TrendSeries]) -> None:
    s = _named(series, "brightness")
    flat = _with_values(s, [0.5] * 7)
    assert describe_trend(flat) == "Brightness steady at 0.500 over 7 runs."
    # differences below the third significant digit read as steady too
    assert describe_trend(_with_values(s, [0.5, 0.50001, 0.49999])) == (
        "Brightness steady at 0.500 over 3 runs."
    )
    mixed = _with_values(s, [0.5, 0.8, 0.2, 0.5])
    assert describe_trend(mixed) == (
        "Brightness 0.500 → 0.500 over 4 runs, back where it started (between 0.200 and 0.800)."
    )


def test_sentence_with_missing_values(series: list[TrendSeries]) -> None:
    s = _named(series, "brightness")
    # runs 2 and 4 have no value: the steps join the runs that have one (0.4 -> 0.3 -> 0.2 up
    # to 0.25 is down, down, up), and the sentence says what is missing.
    gappy = _with_values(s, [0.4, None, 0.3, float("nan"), 0.2, 0.25])
    assert describe_trend(gappy) == (
        "Brightness 0.400 → 0.250 over 4 runs (2 runs without a value), falling in 2 of 3 steps."
    )
    one = _with_values(s, [None, 0.3, None])
    assert describe_trend(one) == "Brightness 0.300: the only value in 3 stored runs."


def test_sentence_of_one_run_and_of_none(series: list[TrendSeries]) -> None:
    s = _named(series, "brightness")
    single = dataclasses.replace(s, points=s.points[-1:])
    assert describe_trend(single) == (
        f"Brightness {fmt_num(s.points[-1].value)} in the only stored run."
    )
    assert describe_trend(dataclasses.replace(s, points=())) == "Brightness: no stored run."


def test_sentence_of_shares_is_in_percent(series: list[TrendSeries]) -> None:
    s = _named(series, "contamination")
    values = [p.value for p in s.points]
    assert s.unit.startswith("share of")
    assert all(v is not None for v in values)
    assert describe_trend(s).startswith(
        f"Share of atypical images (partial contamination) {fmt_share(values[0])} → "
        f"{fmt_share(values[-1])} over {len(values)} runs"
    )


def test_sentence_of_a_mix_uses_the_effect_size(series: list[TrendSeries]) -> None:
    """A category mix has no value of its own: its distance from the baseline is described."""
    base = _named(series, "brightness")
    s = dataclasses.replace(base, name="format_mix", label="file formats mix")
    mix = dataclasses.replace(
        s,
        points=tuple(
            dataclasses.replace(p, value=None, effect_size=e)
            for p, e in zip(s.points, [0.02, 0.05, 0.04, 0.1], strict=False)
        ),
    )
    # 0.02 -> 0.10: up, down, up -> rising in 2 of 3 steps
    assert describe_trend(mix) == (
        "File formats mix: effect size 0.0200 → 0.100 over 4 runs, rising in 2 of 3 steps."
    )


# -- selection ---------------------------------------------------------------------------------


def test_selection_puts_headline_metrics_first_then_the_drifted(
    series: list[TrendSeries], reports: list[DriftReport]
) -> None:
    last = reports[-1]
    chosen = select_trends(series, last)
    names = [s.name for s in chosen]
    headline = [n for n in HEADLINE_METRICS if any(s.name == n for s in series)]
    assert {"brightness", "sharpness"} <= set(headline)
    assert names[: len(headline)] == headline
    severity = {"none": 0, "low": 1, "medium": 2, "high": 3}
    drifted = sorted(
        (m for m in last.metrics if m.status == "drift" and m.name not in HEADLINE_METRICS),
        key=lambda m: (-severity[m.severity], -abs(m.effect_size)),
    )
    assert drifted  # the darkest run drifted on more than the headline metrics
    assert names[len(headline) :] == [m.name for m in drifted][: MAX_TRENDS - len(headline)]
    # the whole list is shown once: the same order from any order of the input
    assert select_trends(series[::-1], last) == chosen
    assert len(set(names)) == len(names)


def test_selection_limits_and_filters(series: list[TrendSeries], reports: list) -> None:
    last = reports[-1]
    assert [s.name for s in select_trends(series, last, max_series=1)] == ["brightness"]
    assert select_trends(series, last, max_series=0) == []
    # one run is no trend
    short = [dataclasses.replace(s, points=s.points[-1:]) for s in series]
    assert select_trends(short, last) == []
    assert len(select_trends(short, last, min_runs=1)) > 0
    # a series with no finite effect size is left out
    empty = dataclasses.replace(
        series[0],
        points=tuple(dataclasses.replace(p, effect_size=float("nan")) for p in series[0].points),
    )
    assert empty.name not in [s.name for s in select_trends([empty], last)]
    # a second series of the same metric is ignored
    twice = select_trends([*series, dataclasses.replace(series[0], label="again")], last)
    assert [s.label for s in twice].count("again") == 0
    with pytest.raises(ConfigError, match="max_series"):
        select_trends(series, last, max_series=-1)
    with pytest.raises(ConfigError, match="min_runs"):
        select_trends(series, last, min_runs=0)


def test_selection_without_a_report_uses_the_current_points(
    series: list[TrendSeries], reports: list[DriftReport]
) -> None:
    with_report = select_trends(series, reports[-1])
    assert select_trends(series) == with_report  # the current points are the last report's
    # marking the first run as current: it drifted on nothing, only the headline is left
    first = trend_series(reports, current=0)
    assert reports[0].n_drifted == 0
    names = [s.name for s in select_trends(first)]
    assert names == [n for n in HEADLINE_METRICS if any(s.name == n for s in first)]


def test_run_labels(series: list[TrendSeries]) -> None:
    point = _named(series, "brightness").points[0]

    def labels(*offsets: timedelta) -> list[str]:
        return run_labels([dataclasses.replace(point, ran_at=START + o) for o in offsets])

    day, hour = timedelta(days=1), timedelta(hours=1)
    assert START.hour == 6
    assert labels(0 * day, day, 2 * day) == ["20 Nov", "21 Nov", "22 Nov"]
    assert labels(0 * hour, hour, 2 * hour) == ["06:00", "07:00", "08:00"]
    assert labels(0 * hour, hour, day) == ["20 Nov 06:00", "20 Nov 07:00", "21 Nov 06:00"]


# -- the HTML page ---------------------------------------------------------------------------


def test_without_trends_the_page_and_summary_are_unchanged(
    series: list[TrendSeries], reports: list[DriftReport], tmp_path: Path
) -> None:
    last = reports[-1]
    page = render_html(last)
    assert render_html(last, trends=None) == page
    assert render_html(last, trends=[]) == page
    assert 'id="history"' not in page
    assert "#history" not in page
    assert "chart trend" not in page
    text = render_markdown(last)
    assert render_markdown(last, trends=[]) == render_markdown(last, trends=None) == text
    assert "History" not in text
    assert (
        generate_html_report(last, tmp_path / "a.html", trends=[]).read_text(encoding="utf-8")
        == page
    )


def _markers(svg: str) -> list[tuple[str, str, str]]:
    """(fill, stroke, stroke width) of each data point of a trend chart (ticks are 0.6 wide)."""
    found = re.findall(
        r'<use [^>]*style="fill: (#\w+); stroke: (#\w+); stroke-width: ([\d.]+)"', svg
    )
    return [f for f in found if f[2] != "0.6"]


def test_page_has_a_history_section_with_one_chart_per_trend(
    series: list[TrendSeries], reports: list[DriftReport]
) -> None:
    last = reports[-1]
    chosen = select_trends(series, last)
    page = render_html(last, trends=series)
    assert '<a href="#history">History</a>' in page
    section = page.split('<section id="history"', 1)[1].split("</section>", 1)[0]
    assert section.count('<svg class="chart trend"') == len(chosen) >= 5
    assert "camera-1" in section
    figures = section.split('<figure id="history-')[1:]
    assert len(figures) == len(chosen)
    for i, (s, figure) in enumerate(zip(chosen, figures, strict=True)):
        svg = figure.split(f'id="trend-{i}"', 1)[1].split("</svg>", 1)[0]
        # the caption is the sentence, and the label heads the figure
        assert f"<figcaption>{s.label} " in figure
        assert f'<p class="small trend-sentence">{describe_trend(s)}</p>' in figure
        # one point per run, each in its run's severity colour, filled when it drifted;
        # the current run's point is ringed and labelled
        marks = _markers(svg)
        assert len(marks) == len(s.points)
        for p, (fill, stroke, width) in zip(s.points, marks, strict=True):
            colour = _charts.SEVERITY_COLOURS[p.severity]
            assert fill == (colour if p.status == "drift" else "#ffffff")
            assert (stroke, width) == (("#24292f", "1.5") if p.current else (colour, "1.1"))
        assert svg.count(">this run</text>") == 1
        # the runs' dates are the axis (seven runs: every one labelled)
        assert re.findall(r">(\d+ \w{3})</text>", svg) == run_labels(s.points)
        # the numbers are in a table too, the current run marked in words
        rows = figure.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        assert rows.count("<tr") == len(s.points)
        assert rows.count("(this run)") == 1
        current = s.points[-1]
        assert f"{current.ran_at:%Y-%m-%d %H:%M} (this run)" in rows
        assert f'<td class="num">{fmt_num(current.effect_size)}</td>' in rows


def test_history_ids_are_unique_and_references_resolve(
    series: list[TrendSeries], reports: list[DriftReport]
) -> None:
    page = render_html(reports[-1], trends=series)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', page):
        assert ref in ids, ref


def test_many_runs_label_every_kth_back_from_the_newest(series: list[TrendSeries]) -> None:
    s = _named(series, "brightness")
    # 13 runs: the 7 real ones, then the same again a week later
    later = tuple(
        dataclasses.replace(p, ran_at=p.ran_at + timedelta(days=7), current=False)
        for p in s.points[:6]
    )
    long = dataclasses.replace(
        s, points=(*(dataclasses.replace(p, current=False) for p in s.points), *later)
    )
    svg = _charts.trend_chart_svg(long, "t", chart_id="t")
    labels = run_labels(long.points)
    assert re.findall(r">(\d+ \w{3})</text>", svg) == [labels[i] for i in (0, 3, 6, 9, 12)]
    assert ">this run</text>" not in svg  # no point is current
    assert len(_markers(svg)) == 13


def test_history_escapes_labels_and_dataset_names(
    series: list[TrendSeries], reports: list[DriftReport]
) -> None:
    hostile = [
        dataclasses.replace(
            s,
            label=f"{s.label} {SCRIPT_NAME}" if s.name == "brightness" else s.label,
            dataset=IMG_PAYLOAD,
        )
        for s in series
    ]
    page = render_html(reports[-1], trends=hostile)
    assert page.count("<script") == 1
    assert "<img src=x" not in page
    section = page.split('<section id="history"', 1)[1].split("</section>", 1)[0]
    assert html.escape(IMG_PAYLOAD, quote=False) in section
    label = html.escape(f"brightness {SCRIPT_NAME}", quote=False)
    assert f"<figcaption>{label} " in section
    assert f'-title">{label}: effect size' in section
    text = render_markdown(reports[-1], trends=hostile)
    assert "<script" not in text
    assert "&lt;script&gt;" in text


def test_first_run_says_trends_come_later(
    series: list[TrendSeries], reports: list[DriftReport]
) -> None:
    short = [dataclasses.replace(s, points=s.points[-1:]) for s in series]
    page = render_html(reports[-1], trends=short)
    assert 'id="history"' in page
    assert "trends appear from the second run" in page
    assert "chart trend" not in page
    text = render_markdown(reports[-1], trends=short)
    assert "trends appear from the second run" in text


def test_page_size_with_trends(
    series: list[TrendSeries], reports: list[DriftReport], tmp_path: Path
) -> None:
    """A dozen small charts: each well under 16 KB, the page far under its 2 MB budget."""
    many = [
        *series,
        *(dataclasses.replace(s, name=f"{s.name}_copy") for s in series),
    ]
    last = reports[-1]
    relabelled = last.model_copy(
        update={
            "metrics": [
                *last.metrics,
                *(m.model_copy(update={"name": f"{m.name}_copy"}) for m in last.drifted),
            ]
        }
    )
    out = generate_html_report(relabelled, tmp_path / "page.html", trends=many)
    page = out.read_text(encoding="utf-8")
    charts = re.findall(r'<svg class="chart trend".*?</svg>', page, re.S)
    assert len(charts) == MAX_TRENDS
    assert max(len(c.encode()) for c in charts) < 16_000
    assert out.stat().st_size < 2_000_000


# -- the Markdown summary --------------------------------------------------------------------


def test_markdown_has_one_line_per_trend(
    series: list[TrendSeries], reports: list[DriftReport]
) -> None:
    last = reports[-1]
    text = render_markdown(last, trends=series)
    head, history = text.split("\n#### History\n\n", 1)
    assert head == render_markdown(last)
    lines = history.rstrip("\n").split("\n")
    chosen = select_trends(series, last)
    assert lines == [f"- {_md(describe_trend(s))}" for s in chosen]
    assert lines[0].startswith("- Brightness ")


def test_effects_beyond_the_high_band_are_on_the_axis(series: list[TrendSeries]) -> None:
    s = _named(series, "brightness")
    far = -4 * s.bands[2]  # four times the high band
    points = (*s.points[:-1], dataclasses.replace(s.points[-1], effect_size=far))
    svg = _charts.trend_chart_svg(dataclasses.replace(s, points=points), "t", chart_id="t")
    ticks = re.findall(r">([−\d.]+)</text>", svg)
    assert f"{far:.3g}".replace("-", "−") in ticks
    assert "0" in ticks
    assert f"{-s.bands[2]:.3g}".replace("-", "−") in ticks
