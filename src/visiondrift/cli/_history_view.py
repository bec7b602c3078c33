"""What the ``history`` commands print and write: run tables, a run's record, trend charts in
the terminal, and the long export table.

Rendering only: the records come from :class:`visiondrift.store.HistoryStore`; nothing here
opens a store. May import: click, rich (when printing), the store's plain records and (when
writing Parquet) pyarrow.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from visiondrift.drift.trends import TrendSeries
    from visiondrift.store import MetricRow, StoredRun

__all__ = [
    "EXPORT_COLUMNS",
    "console",
    "export_rows",
    "plain",
    "print_run",
    "print_runs",
    "print_trend",
    "run_record",
    "sorted_metrics",
    "trend_record",
    "write_export",
]

#: Rich colour of each severity (as in the monitor's verdict line).
SEVERITY_COLOURS: Final = {"none": "green", "low": "yellow", "medium": "dark_orange", "high": "red"}
#: Order of metric statuses in ``history show``: drifted first.
STATUS_ORDER: Final = {"drift": 0, "insufficient_evidence": 1, "negligible": 2, "stable": 3}
SEVERITY_ORDER: Final = {"high": 0, "medium": 1, "low": 2, "none": 3}
#: Cells of the bar in ``history trend``, at most and at least.
CHART_WIDTH: Final = 32
MIN_CHART_WIDTH: Final = 10
#: Columns ``history trend`` needs beside the bar and the run ids (times, numbers, marker).
TREND_COLUMNS: Final = 66
#: Width of the output when it is not a terminal (a file or a pipe): wide enough for a table.
PIPED_WIDTH: Final = 160
#: Run ids are shown by their first characters (``history show`` takes any unique prefix).
ID_SHOWN: Final = 12

#: The columns of ``history export``: the run's fields, then the metric's.
EXPORT_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("run_id", "string"),
    ("dataset", "string"),
    ("ran_at", "timestamp"),
    ("window_start", "timestamp"),
    ("window_end", "timestamp"),
    ("run_status", "string"),
    ("run_drift", "bool"),
    ("run_severity", "string"),
    ("alpha", "float"),
    ("correction", "string"),
    ("n_tests", "int"),
    ("n_drifted", "int"),
    ("n_images", "int"),
    ("n_bad", "int"),
    ("baseline_hash", "string"),
    ("model_name", "string"),
    ("metric", "string"),
    ("label", "string"),
    ("family", "string"),
    ("test", "string"),
    ("status", "string"),
    ("severity", "string"),
    ("statistic", "float"),
    ("p_value", "float"),
    ("p_adjusted", "float"),
    ("effect_size", "float"),
    ("effect_unit", "string"),
    ("unit", "string"),
    ("baseline_value", "float"),
    ("current_value", "float"),
    ("band_low", "float"),
    ("band_medium", "float"),
    ("band_high", "float"),
    ("n_baseline", "int"),
    ("n_current", "int"),
)


def console() -> Console:
    """A rich console on standard output; wide when piped, so tables do not wrap."""
    from rich.console import Console

    tty = sys.stdout.isatty()
    width = None if tty or os.environ.get("COLUMNS") else PIPED_WIDTH
    return Console(highlight=False, width=width)


def plain(value: Any) -> Any:
    """A record as JSON-ready data: datetimes in ISO 8601, a window as ``{start, end}``."""
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


def run_record(run: StoredRun) -> dict[str, Any]:
    """A stored run as ``--json`` prints it (the window as ``window_start`` / ``window_end``)."""
    data: dict[str, Any] = plain(run)
    window = data.pop("window")
    data["window_start"] = None if window is None else window[0]
    data["window_end"] = None if window is None else window[1]
    return data


def _when(value: datetime, *, seconds: bool = False) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _window(run: StoredRun) -> str:
    if run.window is None:
        return "-"
    start, end = run.window
    return f"{_when(start)} → {_when(end)}"


def _verdict(status: str) -> str:
    return {"drift": "DRIFT", "no_drift": "no drift", "insufficient_evidence": "inconclusive"}.get(
        status, status
    )


def _severity(severity: str) -> str:
    return f"[{SEVERITY_COLOURS.get(severity, 'default')}]{severity}[/]"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def print_runs(runs: Sequence[StoredRun], out: Console) -> None:
    """The table of ``history list``: one row per run, newest first."""
    from rich.table import Table

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name, justify in (
        ("run", "left"),
        ("dataset", "left"),
        ("ran at (UTC)", "left"),
        ("window (UTC)", "left"),
        ("images", "right"),
        ("bad", "right"),
        ("verdict", "left"),
        ("severity", "left"),
        ("drifted", "right"),
        ("model", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name in ("run", "ran at (UTC)"))  # type: ignore[arg-type]
    for run in runs:
        table.add_row(
            run.run_id[:ID_SHOWN],
            run.dataset or "-",
            _when(run.ran_at),
            _window(run),
            str(run.n_images),
            str(run.n_bad),
            _verdict(run.status),
            _severity(run.severity),
            f"{run.n_drifted}/{run.n_tests}",
            run.model_name or "-",
        )
    out.print(table)


def sorted_metrics(rows: Sequence[MetricRow]) -> list[MetricRow]:
    """Drifted first, then inconclusive, negligible and stable; by severity and p-value."""
    return sorted(
        rows,
        key=lambda r: (
            STATUS_ORDER.get(r.status, 9),
            SEVERITY_ORDER.get(r.severity, 9),
            1.0 if r.p_adjusted is None else r.p_adjusted,
            r.name,
        ),
    )


def print_run(
    run: StoredRun, rows: Sequence[MetricRow], explanations: Sequence[str] | None, out: Console
) -> None:
    """``history show``: the run's record, its metric rows (drifted first), its explanations."""
    from rich.markup import escape
    from rich.table import Table

    bad = ", ".join(f"{reason} {count}" for reason, count in run.bad_counts.items())
    fields = [
        ("dataset", escape(run.dataset or "-")),
        (
            "ran at",
            f"{_when(run.ran_at, seconds=True)} UTC (started "
            f"{_when(run.started_at, seconds=True)})",
        ),
        ("window", _window(run) + (" UTC" if run.window else "")),
        (
            "verdict",
            f"{_verdict(run.status)}, severity {_severity(run.severity)}: {run.n_drifted} of "
            f"{run.n_tests} metrics drifted",
        ),
        ("decision", f"alpha {run.alpha:g}, {run.correction} correction, mode {run.mode}"),
        (
            "images",
            f"{run.n_images} measured of {run.n_files} files; {run.n_bad} unusable"
            + (f" ({escape(bad)})" if bad else ""),
        ),
        ("baseline", f"{escape(run.baseline_name)} (sha256 {run.baseline_hash[:ID_SHOWN]})"),
        (
            "model",
            "-"
            if run.model_name is None
            else f"{escape(run.model_name)} (sha256 {(run.model_hash or '')[:ID_SHOWN]})",
        ),
        ("visiondrift", run.package_version),
        (
            "stored",
            f"report {'yes' if run.has_report else 'no (pruned)'}, batch profile "
            f"{'yes' if run.has_profile else 'no'}",
        ),
    ]
    out.print(f"[bold]Run {run.run_id}[/]")
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for name, value in fields:
        head.add_row(name, value)
    out.print(head)
    table = Table(box=None, header_style="bold", pad_edge=False, title_justify="left")
    for name, justify in (
        ("metric", "left"),
        ("baseline", "right"),
        ("current", "right"),
        ("p", "right"),
        ("p adj.", "right"),
        ("effect", "right"),
        ("severity", "left"),
        ("status", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in sorted_metrics(rows):
        table.add_row(
            escape(row.name),
            _num(row.baseline_value),
            _num(row.current_value),
            _num(row.p_value),
            _num(row.p_adjusted),
            _num(row.effect_size),
            _severity(row.severity),
            row.status,
        )
    out.print()
    out.print(
        f"[bold]Metrics[/] ({len(rows)}, drifted first; each effect size in its metric's unit, "
        "the tests and units in --json)"
    )
    out.print(table)
    out.print()
    if explanations is None:
        out.print("Explanations: the report was pruned; only its metric rows remain.")
    elif explanations:
        out.print("[bold]Explanations[/]")
        for line in explanations:
            out.print(f"  - {escape(line)}")
    else:
        out.print("Explanations: none (nothing drifted).")


# ------------------------------------------------------------------ trend


def trend_record(series: TrendSeries) -> dict[str, Any]:
    """A trend as ``history trend --json`` prints it."""
    return {
        "metric": series.name,
        "label": series.label,
        "family": series.family,
        "unit": series.unit,
        "effect_unit": series.effect_unit,
        "dataset": series.dataset,
        "bands": dict(zip(("low", "medium", "high"), series.bands, strict=True)),
        "points": [
            {
                "run_id": p.run_id,
                "ran_at": p.ran_at.isoformat(),
                "value": p.value,
                "baseline": p.baseline,
                "effect_size": p.effect_size,
                "p_adjusted": p.p_adjusted,
                "severity": p.severity,
                "status": p.status,
            }
            for p in series.points
        ],
    }


def _scale(series: TrendSeries) -> float:
    largest = max(abs(p.effect_size) for p in series.points)
    return max(series.bands[2] * 1.25, largest) or 1.0


def _cell(value: float, scale: float, width: int) -> int:
    return min(width - 1, max(0, round(value / scale * width)))


def _bar(effect: float, severity: str, bands: Sequence[float], scale: float, width: int) -> Text:
    """``|effect|`` as a bar in the severity's colour, the band edges marked behind it."""
    from rich.text import Text

    filled = round(abs(effect) / scale * width)
    if abs(effect) > 0 and filled == 0:
        filled = 1
    marks = {
        _cell(b, scale, width): SEVERITY_COLOURS[name]
        for b, name in zip(bands, ("low", "medium", "high"), strict=True)
    }
    text = Text()
    for i in range(width):
        if i < filled:
            text.append("█", style=SEVERITY_COLOURS.get(severity, "default"))
        elif i in marks:
            text.append("┆", style=marks[i])
        else:
            text.append("·", style="grey50")
    return text


def _chart_header(bands: Sequence[float], scale: float, width: int) -> Text:
    from rich.text import Text

    cells = [" "] * width
    for b, letter in zip(bands, "LMH", strict=True):
        cells[_cell(b, scale, width)] = letter
    return Text("".join(cells))


def print_trend(series: TrendSeries, out: Console, *, datasets: Sequence[str | None] = ()) -> None:
    """``history trend``: one row per run, oldest first, a bar of the effect size against the
    low (L), medium (M) and high (H) bands, the latest run marked; then first -> last.

    The bar takes the width the other columns leave (:data:`CHART_WIDTH` at most); on a
    narrow terminal the run ids are left out.
    """
    from rich.markup import escape
    from rich.table import Table

    points = series.points
    scale = _scale(series)
    low, medium, high = series.bands
    where = f" of dataset {series.dataset!r}" if series.dataset is not None else ""
    unit = f"; value in {series.unit}" if series.unit else ""
    out.print(
        f"[bold]{escape(series.label)}[/] ({escape(series.name)}){escape(where)}: "
        f"{len(points)} run{'s' if len(points) != 1 else ''}, oldest first{escape(unit)}"
    )
    if len(set(datasets)) > 1:
        shown = ", ".join(
            repr(d) if d is not None else "(none)" for d in sorted(set(datasets), key=str)
        )
        out.print(
            f"[yellow]Runs of several datasets ({escape(shown)}) are mixed; --dataset NAME "
            "shows one.[/]"
        )
    with_ids = out.width >= TREND_COLUMNS + ID_SHOWN + 1 + MIN_CHART_WIDTH
    width = out.width - TREND_COLUMNS - (ID_SHOWN + 1 if with_ids else 0)
    width = max(MIN_CHART_WIDTH, min(CHART_WIDTH, width))
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("time (UTC)", no_wrap=True)
    if with_ids:
        table.add_column("run", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("effect", justify="right", no_wrap=True)
    table.add_column("p adj.", justify="right", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column(_chart_header(series.bands, scale, width), no_wrap=True)
    table.add_column("", no_wrap=True)
    for i, p in enumerate(points):
        latest = i == len(points) - 1
        cells = [
            _when(p.ran_at),
            *([p.run_id[:ID_SHOWN]] if with_ids else []),
            _num(p.value),
            f"{p.effect_size:.3g}",
            _num(p.p_adjusted),
            _severity(p.severity),
            _bar(p.effect_size, p.severity, series.bands, scale, width),
            "◀ latest" if latest else "",
        ]
        table.add_row(*cells, style="bold" if latest else None)
    out.print(table)
    effect_unit = escape(series.effect_unit)
    out.print(
        f"Bar: |effect size| ({effect_unit}) from 0 to {scale:.3g}; bands L low {low:g}, "
        f"M medium {medium:g}, H high {high:g}. Time: the run's window start, else when it ran."
    )
    first, last = points[0], points[-1]
    change = ""
    if first.value is not None and last.value is not None and first.value != 0:
        change = f" ({(last.value - first.value) / abs(first.value):+.1%})"
    out.print(
        f"First → last: value {_num(first.value)} → {_num(last.value)}{change}; effect size "
        f"{first.effect_size:.3g} → {last.effect_size:.3g} {effect_unit}; severity "
        f"{_severity(first.severity)} → {_severity(last.severity)}."
    )


# ------------------------------------------------------------------ export


def export_rows(runs: Sequence[StoredRun], rows: Sequence[MetricRow]) -> list[dict[str, Any]]:
    """The long table: one row per run and metric, the run's verdict beside the metric's."""
    by_id = {r.run_id: r for r in runs}
    out: list[dict[str, Any]] = []
    for m in rows:
        run = by_id.get(m.run_id)
        if run is None:
            continue  # recorded between the two reads
        out.append(
            {
                "run_id": run.run_id,
                "dataset": run.dataset,
                "ran_at": run.ran_at,
                "window_start": None if run.window is None else run.window[0],
                "window_end": None if run.window is None else run.window[1],
                "run_status": run.status,
                "run_drift": run.drift,
                "run_severity": run.severity,
                "alpha": run.alpha,
                "correction": run.correction,
                "n_tests": run.n_tests,
                "n_drifted": run.n_drifted,
                "n_images": run.n_images,
                "n_bad": run.n_bad,
                "baseline_hash": run.baseline_hash,
                "model_name": run.model_name,
                "metric": m.name,
                "label": m.label,
                "family": m.family,
                "test": m.test,
                "status": m.status,
                "severity": m.severity,
                "statistic": m.statistic,
                "p_value": m.p_value,
                "p_adjusted": m.p_adjusted,
                "effect_size": m.effect_size,
                "effect_unit": m.effect_unit,
                "unit": m.unit,
                "baseline_value": m.baseline_value,
                "current_value": m.current_value,
                "band_low": m.bands[0],
                "band_medium": m.bands[1],
                "band_high": m.bands[2],
                "n_baseline": m.n_baseline,
                "n_current": m.n_current,
            }
        )
    return out


def _csv(rows: Sequence[Mapping[str, Any]]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _ in EXPORT_COLUMNS])
    for row in rows:
        writer.writerow(
            [
                "" if row[name] is None else plain(row[name]) if kind == "timestamp" else row[name]
                for name, kind in EXPORT_COLUMNS
            ]
        )
    return buffer.getvalue()


def _json(rows: Sequence[Mapping[str, Any]]) -> str:
    import json

    return json.dumps([plain(dict(r)) for r in rows], indent=1, allow_nan=False) + "\n"


def _parquet(rows: Sequence[Mapping[str, Any]]) -> bytes:
    import io

    from visiondrift.errors import MissingExtraError

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise MissingExtraError(
            "Writing Parquet needs pyarrow, in the 'parquet' extra: pip install "
            "'visiondrift[parquet]' (or export --format csv or json)."
        ) from err
    types = {
        "string": pa.string(),
        "timestamp": pa.timestamp("us", tz="UTC"),
        "bool": pa.bool_(),
        "float": pa.float64(),
        "int": pa.int64(),
    }
    schema = pa.schema([(name, types[kind]) for name, kind in EXPORT_COLUMNS])
    table = pa.Table.from_pylist([dict(r) for r in rows], schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def write_export(rows: Sequence[Mapping[str, Any]], fmt: str, path: str | None) -> None:
    """Write the long table as ``fmt`` to ``path`` atomically, or csv / json to stdout."""
    from visiondrift._io import write_bytes_atomic, write_text_atomic

    if fmt == "parquet":
        data = _parquet(rows)
        assert path is not None  # the command asks for -o
        write_bytes_atomic(path, data)
        return
    text = _csv(rows) if fmt == "csv" else _json(rows)
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_text_atomic(path, text)
