"""``visiondrift watch``: run the monitor by itself on an inbox of batches or on a schedule.

The command only reads its options and settings, builds the monitor, the inbox or schedule and
the :class:`visiondrift.watch.Watcher`, and turns bad usage into exit code 2; the loop, the
claims, the signals and the logs are :mod:`visiondrift.watch`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from visiondrift.cli._settings import cli_settings, config_option, setting_option
from visiondrift.cli._support import InputError, _fail
from visiondrift.errors import VisionDriftError

__all__ = ["watch"]


@click.command(name="watch")
@click.argument("baseline_path", metavar="BASELINE", type=click.Path(dir_okay=False))
@setting_option("--inbox", setting="watch.inbox", metavar="DIR|URL", show_default=False)
@setting_option("--cron", setting="watch.cron", metavar="EXPR", show_default=False)
@setting_option("--source", setting="watch.source", metavar="PATTERN", show_default=False)
@setting_option("--timezone", setting="watch.timezone", metavar="TZ")
@click.option(
    "--dataset",
    default=None,
    metavar="NAME",
    help="The dataset the batches belong to: runs are recorded, trended and alerted per "
    "dataset [default: the baseline's dataset, if it has one].",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default="reports",
    show_default=True,
    help="Folder of the reports: each batch's JSON report, HTML page and Markdown summary go "
    "to OUT/<batch>/<batch>.json, .html, .md.",
)
@click.option("--no-html", is_flag=True, help="Write no HTML page (JSON and Markdown only).")
@click.option(
    "--no-alerts",
    is_flag=True,
    help="Tell no alert channel (the runs are still recorded; the channels' state is left as "
    "it was).",
)
@setting_option("--settle", setting="watch.settle", type=click.FloatRange(min=0), metavar="S")
@setting_option("--marker", setting="watch.marker", metavar="NAME", show_default=False)
@setting_option(
    "--poll", setting="watch.poll", type=click.FloatRange(min=0, min_open=True), metavar="S"
)
@click.option(
    "--once",
    is_flag=True,
    help="Process what is complete now and exit (for cron, a systemd timer or a Kubernetes "
    "CronJob); with --source (and no --cron), the source is formatted with the current time.",
)
@setting_option("--store", "store_url", setting="store.url", show_default=False, metavar="PATH|URL")
@setting_option("--workers", type=click.IntRange(min=1), setting="profile.workers")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "text"]),
    default="auto",
    show_default=True,
    help="Log lines on stderr: JSON objects (one per line), text, or auto (JSON unless stderr "
    "is a terminal).",
)
@config_option
def watch(
    baseline_path: str,
    inbox: str | None,
    cron: str | None,
    source: str | None,
    timezone: str,
    dataset: str | None,
    out: str,
    no_html: bool,
    no_alerts: bool,
    settle: float,
    marker: str | None,
    poll: float,
    once: bool,
    store_url: str | None,
    workers: int | None,
    log_format: str,
) -> None:
    """Run the monitor on every new batch of an inbox, or on a schedule, each batch once.

    \b
    An inbox (--inbox DIR or an fsspec URL): each sub-folder is a batch
    (inbox/20261129/), monitored once it is complete: when its --marker file
    exists, or else when no file was added or changed for --settle seconds.
    \b
    A schedule (--cron EXPR --source PATTERN): each time the crontab expression
    fires (5 fields, or 6 with seconds first), the batch at PATTERN, with
    {date:%Y%m%d} formatted with the fire time in --timezone, is monitored.

    Each batch is claimed in the history store (--store), so it is processed once even across
    restarts and with several watchers; a batch whose watcher was killed is retried after
    watch.lease seconds; one that cannot be read, or holds no usable image, is recorded as
    failed with its reason and not retried. Runs are recorded in the history, and alerts go
    out as the [alerts] settings route them.

    SIGTERM or SIGINT: no new batch is taken, the current one is finished if its run is being
    recorded, else given back; the command exits 0. Logs go to stderr.
    """
    from visiondrift.app import history_from_settings, monitor_from_settings
    from visiondrift.profiles import Profile
    from visiondrift.watch import Inbox, Schedule, Watcher, watch_logging

    loaded = cli_settings()
    settings = loaded.settings
    chosen = settings.watch
    if chosen.inbox is not None and (chosen.cron is not None or chosen.source is not None):
        raise click.UsageError(
            "Give either --inbox (a folder of batches) or --cron/--source (a schedule), not "
            "both (check watch.inbox, watch.cron and watch.source in the settings).",
        )
    if chosen.inbox is None and chosen.source is None:
        raise click.UsageError(
            "Tell watch what to watch: --inbox DIR (a folder whose sub-folders are batches) "
            "or --cron EXPR --source PATTERN (a schedule).",
        )
    if chosen.source is not None and chosen.cron is None and not once:
        raise click.UsageError(
            "--source without --cron monitors the source once: add --once, or give --cron EXPR "
            "(e.g. --cron '0 2 * * *' for 2 AM every day).",
        )
    try:
        where: Inbox | Schedule
        if chosen.inbox is not None:
            where = Inbox(chosen.inbox, settle=chosen.settle, marker=chosen.marker)
            where.batches()  # the inbox must be there: say so now, not in the loop
        else:
            assert chosen.source is not None
            where = Schedule(chosen.cron, chosen.source, timezone=chosen.timezone)
        store = history_from_settings(settings.store, required=True)
        assert store is not None
        baseline = Profile.load(baseline_path)
        monitor = monitor_from_settings(baseline, settings, store, alerts=not no_alerts)
    except VisionDriftError as err:
        _fail(err)
    run_options: dict[str, Any] = {"workers": workers} if workers is not None else {}
    watcher = Watcher(
        monitor,
        store,
        chosen,
        Path(out),
        source=where,
        dataset=dataset,
        html=not no_html,
        run_options=run_options,
        command=f"visiondrift watch {Path(baseline_path).name}",
    )
    with watch_logging(log_format):  # type: ignore[arg-type]
        try:
            watcher.run(once=once)
        except VisionDriftError as err:
            raise InputError(str(err)) from err
        finally:
            store.close()
