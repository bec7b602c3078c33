"""``visiondrift history``: the runs remembered in the history store.

``list``, ``show``, ``trend``, ``export``, ``import``, ``prune``, ``migrate`` and ``where`` read
or change the store the ``[store]`` settings name (``--store`` / ``VISIONDRIFT_STORE`` / the user
data folder's ``history.sqlite``). A store that cannot be reached, an unknown run or metric and a
bad duration exit with 2 and a message naming the store (its password masked).
``baseline --from-history`` lives in :mod:`visiondrift.cli._rolling`.

May import: click, :mod:`visiondrift.cli._history_common`, :mod:`visiondrift.cli._settings`,
:mod:`visiondrift.cli._support`, and (when a command runs) the store, the application core and
:mod:`visiondrift.cli._history_view`.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

import click

from visiondrift.cli._history_common import (
    WHEN,
    WHEN_HELP,
    check_period,
    common_options,
    dataset_option,
    json_option,
    opened,
    period,
    runs_text,
    selected,
    since_option,
    until_option,
)
from visiondrift.cli._settings import cli_settings
from visiondrift.cli._support import InputError, _fail
from visiondrift.errors import VisionDriftError

if TYPE_CHECKING:
    from visiondrift.drift import DriftReport
    from visiondrift.profiles import Profile
    from visiondrift.store import HistoryStore, StoredRun

__all__ = ["history_group"]

#: How many stored metric names an error about an unknown metric lists.
NAMES_LISTED: Final = 40


@click.group(name="history")
def history_group() -> None:
    """The runs remembered in the history store.

    List, show, chart (trend), export, import and prune the stored runs. Every 'monitor' run
    is recorded in the store (a SQLite file or a PostgreSQL database; see 'visiondrift history
    where' and docs/history.md). 'baseline --from-history DATASET' merges a dataset's stored
    batch profiles into a rolling baseline.
    """


# ------------------------------------------------------------------ list / show


@history_group.command(name="list")
@dataset_option("Only runs of this dataset.")
@since_option
@until_option
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Show at most this many runs (the newest).",
)
@json_option
@common_options
def history_list(
    dataset: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
    store_url: str | None,
) -> None:
    """List the stored runs, newest first."""
    import json

    from visiondrift.cli._history_view import console, print_runs, run_record

    check_period(since, until)
    with opened() as store:
        runs = store.runs(dataset=selected(dataset), since=since, until=until, limit=limit)
        url = store.url
    if as_json:
        click.echo(json.dumps([run_record(r) for r in runs], indent=1))
        return
    of = f" of dataset {dataset!r}" if dataset is not None else ""
    if not runs:
        when = "" if since is None and until is None else f" {period(since, until)}"
        click.echo(f"No runs{of}{when} in the history store {url}.")
        return
    out = console()
    print_runs(runs, out)
    more = f"; --limit shows more than {limit}" if len(runs) == limit else ""
    out.print(
        f"{len(runs)} run{'s' if len(runs) != 1 else ''}{of}, newest first{more}. Store: {url}"
    )


@history_group.command(name="show")
@click.argument("run")
@json_option
@click.option(
    "--html",
    type=click.Path(dir_okay=False),
    default=None,
    help="Re-render the stored report as an HTML page here (with the dataset's trends).",
)
@click.option(
    "--markdown",
    type=click.Path(dir_okay=False),
    default=None,
    help="Re-render the stored report as a Markdown summary here.",
)
@click.option("--force", is_flag=True, help="Overwrite existing --html / --markdown files.")
@common_options
def history_show(
    run: str,
    as_json: bool,
    html: str | None,
    markdown: str | None,
    force: bool,
    store_url: str | None,
) -> None:
    """Show a stored run: its record, metrics and explanations.

    RUN is its id or the first characters of it ('history list' shows them). Prints the run's
    record, its unusable files by reason, every metric with its p-values, effect size and
    severity (drifted first) and the report's explanations; --html / --markdown re-render the
    stored report.
    """
    import json

    from visiondrift.cli._history_view import (
        console,
        plain,
        print_run,
        run_record,
        sorted_metrics,
    )

    targets = [Path(p) for p in (html, markdown) if p]
    for path in targets:
        if path.exists() and not force:
            raise click.UsageError(f"'{path}' already exists; choose another path or --force.")
    if html and markdown and Path(html).resolve() == Path(markdown).resolve():
        raise click.UsageError("--html and --markdown must be different files.")
    trend_runs = int(cli_settings().settings.store.trend_runs)
    written: tuple[Path, ...] = ()
    with opened() as store:
        stored = store.get(run)
        rows = store.metrics(stored.run_id)
        report = store.report(stored.run_id) if stored.has_report else None
        if targets:
            if report is None:
                raise InputError(
                    f"The report of run {stored.run_id} was pruned from the history store "
                    f"{store.url}; only its metric rows remain, so it cannot be re-rendered."
                )
            written = _rerender(store, stored, report, html, markdown, trend_runs)
    explanations = None if report is None else list(report.explanations)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "run": run_record(stored),
                    "metrics": [plain(r) for r in sorted_metrics(rows)],
                    "explanations": explanations,
                },
                indent=1,
            )
        )
    else:
        print_run(stored, rows, explanations, console())
    for path in written:
        click.echo(f"Wrote {path}", err=as_json)


def _rerender(
    store: HistoryStore,
    run: StoredRun,
    report: DriftReport,
    html: str | None,
    markdown: str | None,
    trend_runs: int,
) -> tuple[Path, ...]:
    """Write the stored report's page and summary, with the trends up to this run."""
    from visiondrift.app import Outputs, write_outputs

    at = run.ran_at if run.window is None else run.window[0]  # as the stored points
    series = store.run_trends(
        report,
        run_id=run.run_id,
        at=at,
        dataset=run.dataset,
        last_runs=trend_runs - 1,
        until=run.ran_at,
    )
    # No earlier run: no History section on a re-rendered page.
    trends = series if any(len(s.points) > 1 for s in series) else None
    outputs = Outputs(
        html=Path(html) if html else None,
        markdown=Path(markdown) if markdown else None,
        thumbnails=False,
    )
    return write_outputs(report, outputs, trends=trends)


# ------------------------------------------------------------------ trend


@history_group.command(name="trend")
@click.argument("metric")
@dataset_option("The dataset whose runs are shown [default: every run that has the metric].")
@since_option
@click.option(
    "--last",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Show the latest this many runs.",
)
@json_option
@common_options
def history_trend(
    metric: str,
    dataset: str | None,
    since: datetime | None,
    last: int,
    as_json: bool,
    store_url: str | None,
) -> None:
    """Chart a metric over the stored runs.

    One row per run, oldest first: METRIC's value, effect size and severity, and a bar of the
    effect size with the low (L), medium (M) and high (H) bands marked; the latest run is last.
    'history show RUN' lists a run's metric names.
    """
    import json

    from visiondrift.cli._history_view import console, print_trend, trend_record
    from visiondrift.store import series_of

    with opened() as store:
        names = store.metric_names(dataset=selected(dataset))
        if metric not in names:
            raise InputError(_unknown_metric(metric, names, dataset, store.url))
        rows = store.metric_rows(
            names=[metric], dataset=selected(dataset), since=since, last_runs=last
        )
        url = store.url
    of = f" of dataset {dataset!r}" if dataset is not None else ""
    if not rows:
        raise InputError(
            f"No run{of} {period(since, None)} in the history store {url} has the metric "
            f"{metric!r}. Widen --since, or see 'visiondrift history list'."
        )
    series = series_of(rows, [metric], dataset=dataset)[0]
    if as_json:
        click.echo(json.dumps(trend_record(series), indent=1))
        return
    print_trend(series, console(), datasets=[r.dataset for r in rows])


def _unknown_metric(name: str, names: list[str], dataset: str | None, url: str) -> str:
    import difflib

    of = f" of dataset {dataset!r}" if dataset is not None else ""
    if not names:
        return (
            f"The history store {url} holds no metric rows{of}: no run has been recorded"
            f"{' under that dataset' if dataset else ''}. See 'visiondrift history list'."
        )
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    ordered = close + [n for n in names if n not in close]
    shown = ", ".join(ordered[:NAMES_LISTED]) + (", ..." if len(ordered) > NAMES_LISTED else "")
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"No stored run{of} has a metric named {name!r}.{hint} Stored metrics"
        f"{' (closest first)' if close else ''}: {shown}."
    )


# ------------------------------------------------------------------ export


@history_group.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "json"]),
    default="csv",
    show_default=True,
    help="File format; parquet needs the 'parquet' extra (pyarrow).",
)
@dataset_option("Only runs of this dataset.")
@since_option
@until_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write here, atomically [default: standard output; parquet needs a file].",
)
@common_options
def history_export(
    fmt: str,
    dataset: str | None,
    since: datetime | None,
    until: datetime | None,
    output: str | None,
    store_url: str | None,
) -> None:
    """Export the metric rows as one long table.

    One row per run and metric, beside the run's dataset, time, window and verdict (for
    pandas, DuckDB, a spreadsheet or another database).
    """
    from visiondrift.cli._history_view import export_rows, write_export

    check_period(since, until)
    if fmt == "parquet" and output is None:
        raise click.UsageError("Parquet is a binary format: give the file with -o FILE.")
    with opened() as store:
        chosen = selected(dataset)
        runs = store.runs(dataset=chosen, since=since, until=until, newest_first=False)
        rows = export_rows(runs, store.metric_rows(dataset=chosen, since=since, until=until))
        url = store.url
    try:
        write_export(rows, fmt, output)
    except VisionDriftError as err:
        _fail(err)
    if not runs:
        of = f" of dataset {dataset!r}" if dataset is not None else ""
        click.echo(
            f"Note: no runs{of} {period(since, until)} in {url}; the table is empty.", err=True
        )
    if output is not None:
        click.echo(f"Exported {len(rows)} rows ({len(runs)} runs) as {fmt} to {output}")


# ------------------------------------------------------------------ import


@history_group.command(name="import")
@click.argument("report_json", type=click.Path(dir_okay=False))
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The run's batch profile (monitor --save-profile), kept for rolling baselines.",
)
@dataset_option("Record the run under this dataset [default: the report's own record of its run].")
@click.option("--replace", is_flag=True, help="Overwrite a run already stored with the same id.")
@common_options
def history_import(
    report_json: str,
    profile_path: str | None,
    dataset: str | None,
    replace: bool,
    store_url: str | None,
) -> None:
    """Record a JSON report written by 'monitor' in the store.

    For a run whose recording failed, or one made elsewhere. Its run id, dataset and window
    come from the report; importing it twice records it once.
    """
    from visiondrift.drift import DriftReport
    from visiondrift.errors import RunNotFoundError
    from visiondrift.profiles import Profile

    try:
        report = DriftReport.load(report_json)
        profile = Profile.load(profile_path) if profile_path else None
    except VisionDriftError as err:
        _fail(err)
    run_id = _run_id(report)
    name = dataset if dataset is not None else (report.run.dataset if report.run else None)
    if profile is not None:
        profile = _checked_profile(profile, report, name, str(profile_path), report_json)
    with opened() as store:
        try:
            store.get(run_id)
            exists = True
        except RunNotFoundError:
            exists = False
        if exists and not replace:
            click.echo(
                f"Run {run_id} is already in the history store {store.url}; nothing changed "
                "(--replace overwrites it)."
            )
            return
        store.record_report(
            report,
            run_id=run_id,
            dataset=selected(dataset),
            profile=profile,
            replace=replace,
        )
        url = store.url
    what = "Replaced" if exists else "Recorded"
    of = f" of dataset {name!r}" if name is not None else ""
    kept = ", with its batch profile" if profile is not None else ""
    click.echo(
        f"{what} run {run_id}{of} ({report.n_tests} metrics{kept}) in the history store {url}."
    )


def _run_id(report: DriftReport) -> str:
    """The id the store records a report under (as :meth:`HistoryStore.record_report` does)."""
    from visiondrift.store import content_hash

    if report.run is not None:
        return report.run.run_id
    return content_hash(report.model_dump(mode="json"))[:32]


def _checked_profile(
    profile: Profile, report: DriftReport, dataset: str | None, path: str, rep: str
) -> Profile:
    """The batch profile to keep with an imported report: that batch's, of the run's dataset."""
    current = report.current
    if (profile.n_files, profile.n_images) != (current.n_files, current.n_images):
        raise InputError(
            f"The profile '{path}' is not the batch of the report '{rep}': it has "
            f"{profile.n_images} images of {profile.n_files} files, the report's batch "
            f"{current.n_images} of {current.n_files}. Give the profile saved by the same run "
            "(monitor --save-profile)."
        )
    if dataset is not None and profile.dataset not in (None, dataset):
        raise InputError(
            f"The profile '{path}' is of dataset {profile.dataset!r}, but the run is recorded "
            f"under {dataset!r}; give --dataset {profile.dataset} or the matching profile."
        )
    return (
        profile if dataset is None or profile.dataset == dataset else profile.with_dataset(dataset)
    )


# ------------------------------------------------------------------ prune / migrate / where


@history_group.command(name="prune")
@click.option(
    "--older-than",
    type=WHEN,
    required=True,
    metavar="WHEN",
    help=f"Forget runs that finished before this: {WHEN_HELP}.",
)
@click.option(
    "--keep-metrics",
    is_flag=True,
    help="Keep the runs' rows and metric rows (trends, SQL, Grafana); drop only their stored "
    "reports and batch profiles.",
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@common_options
def history_prune(
    older_than: datetime, keep_metrics: bool, yes: bool, dry_run: bool, store_url: str | None
) -> None:
    """Remove old runs from the store (retention).

    In one transaction: every run that finished before --older-than, with its metric rows,
    bad-file counts, report and profile; with --keep-metrics only the report and profile.
    Asks for confirmation on a terminal; elsewhere give --yes (or --dry-run).
    """
    if yes and dry_run:
        raise click.UsageError("Give --yes or --dry-run, not both.")
    cutoff = older_than.strftime("%Y-%m-%d %H:%M UTC")
    with opened() as store:
        old = store.runs(until=older_than)
        if keep_metrics:
            old = [r for r in old if r.has_report or r.has_profile]
            what = (
                f"the stored reports and batch profiles of {runs_text(len(old))} that finished "
                f"before {cutoff} (their run and metric rows stay)"
            )
        else:
            what = (
                f"{runs_text(len(old))} that finished before {cutoff} (with their metric rows, "
                "bad-file counts, reports and profiles)"
            )
        if not old:
            click.echo(f"Nothing to prune: no runs before {cutoff} in {store.url}.")
            return
        if dry_run:
            click.echo(f"Would remove {what} from {store.url}. Dry run: nothing changed.")
            return
        if not yes:
            if not sys.stdin.isatty():
                raise InputError(
                    f"'history prune' would remove {what} from {store.url}, for good. Pass --yes "
                    "to confirm, or --dry-run to see what it would remove."
                )
            if not click.confirm(f"Remove {what} from {store.url}?", default=False):
                click.echo("Nothing removed.")
                return
        result = store.prune(older_than, keep_metrics=keep_metrics)
        url = store.url
    if keep_metrics:
        click.echo(
            "Dropped the stored reports and batch profiles of "
            f"{runs_text(result.documents_dropped)} that finished before {cutoff}; their run and "
            f"metric rows stay. Store: {url}"
        )
    else:
        click.echo(
            f"Removed {runs_text(result.runs_deleted)} that finished before {cutoff}, with their "
            f"metric rows, reports and profiles. Store: {url}"
        )


@history_group.command(name="migrate")
@common_options
def history_migrate(store_url: str | None) -> None:
    """Upgrade the store to the latest schema revision.

    New stores are created, and old ones upgraded, on first use too. On PostgreSQL with the
    TimescaleDB extension installed, this also makes the metric table a hypertable.
    """
    with opened() as store:
        before, after = store.migrate()
        url = store.url
    if before == after:
        click.echo(f"The history store {url} is already at revision {after} (the latest).")
    else:
        click.echo(f"Upgraded the history store {url}: revision {before or '(empty)'} -> {after}.")


@history_group.command(name="where")
@common_options
def history_where(store_url: str | None) -> None:
    """Print where the history store is and its schema revision.

    The location is the --store option, else the store.url setting (settings file,
    VISIONDRIFT_STORE), else history.sqlite in the user data folder; a password is masked.
    """
    from visiondrift.store import head_revision

    loaded = cli_settings()
    origin = loaded.origin("store.url")
    source = "default: the user data folder" if origin.kind == "default" else str(origin)
    with opened() as store:
        click.echo(f"Store: {store.url}")
        click.echo(f"From: {source}")
        head = head_revision()
        if "://" not in store.url and not Path(store.url).exists():  # a SQLite file
            click.echo(
                f"Schema revision: none yet (the file is made by the first recorded run or "
                f"'visiondrift history migrate'; latest {head})."
            )
            return
        revision = store.revision()
    if revision is None:
        state = f"none (empty; 'visiondrift history migrate' creates revision {head})"
    elif revision == head:
        state = f"{revision} (the latest)"
    else:
        state = f"{revision} (this release's latest is {head}: 'visiondrift history migrate')"
    click.echo(f"Schema revision: {state}")
