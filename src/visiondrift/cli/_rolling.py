"""``baseline --from-history DATASET``: a rolling baseline merged from the history store.

May import: click, :mod:`visiondrift.cli._history_common`, :mod:`visiondrift.cli._support` and
(when the command runs) the application core.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final

import click
from click.core import ParameterSource

from visiondrift.cli._history_common import (
    WHEN,
    WHEN_HELP,
    check_period,
    opened,
    parse_when,
    period,
    runs_text,
    store_option,
)
from visiondrift.cli._support import _fail
from visiondrift.errors import VisionDriftError

__all__ = ["DEFAULT_ROLLING_PERIOD", "baseline_from_history", "from_history_options"]

#: The period of ``baseline --from-history`` when --since is not given.
DEFAULT_ROLLING_PERIOD: Final = "30d"

#: Parameters of ``baseline`` that go with --from-history; any other given is an error.
_FROM_HISTORY_PARAMS: Final = frozenset(
    {"from_history", "since", "until", "store_url", "output", "config", "quiet"}
)


def from_history_options(func: Any) -> Any:
    """``--from-history``, ``--since``, ``--until`` and ``--store`` of ``baseline``."""
    options = [
        click.option(
            "--from-history",
            default=None,
            metavar="DATASET",
            help="Instead of profiling DATA_DIR, merge the batch profiles stored in the "
            "history store for this dataset's runs of a period (a rolling baseline); its "
            "provenance lists the runs it holds.",
        ),
        click.option(
            "--since",
            type=WHEN,
            default=None,
            metavar="WHEN",
            help=f"With --from-history: runs that finished at or after this, {WHEN_HELP} "
            f"[default: {DEFAULT_ROLLING_PERIOD}].",
        ),
        click.option(
            "--until",
            type=WHEN,
            default=None,
            metavar="WHEN",
            help="With --from-history: runs that finished before this (same forms as --since).",
        ),
        store_option,
    ]
    for option in reversed(options):
        func = option(func)
    return func


def baseline_from_history(
    dataset: str | None,
    *,
    since: datetime | None,
    until: datetime | None,
    out: Path,
) -> bool:
    """``baseline --from-history DATASET``: merge the stored profiles and save the baseline.

    Returns ``False`` (and does nothing) when none of its options was given: the command
    profiles DATA_DIR.
    """
    from visiondrift.app import rolling_baseline

    ctx = click.get_current_context()
    if dataset is None and since is None and until is None and not _given(ctx, "--store"):
        return False
    given = [
        p
        for p in ctx.command.params
        if p.name is not None
        and p.name not in _FROM_HISTORY_PARAMS
        and ctx.get_parameter_source(p.name) == ParameterSource.COMMANDLINE
    ]
    if dataset is None:
        used = [o for o in ("--since", "--until", "--store") if _given(ctx, o)]
        raise click.UsageError(f"{', '.join(used)} need(s) --from-history DATASET.")
    if any(p.name in ("data_dir", "predictions") for p in given):
        raise click.UsageError(
            "Give either DATA_DIR (images to profile) or --from-history DATASET (stored "
            "profiles to merge), not both."
        )
    if given:
        names = ", ".join(
            p.opts[0] if p.opts[0].startswith("-") else p.name.upper() for p in given if p.name
        )
        raise click.UsageError(
            f"--from-history merges stored profiles: {names} cannot be given with it (the "
            "runs' profiles already fix their settings). Give DATA_DIR to profile images instead."
        )
    if since is None:
        since = parse_when(DEFAULT_ROLLING_PERIOD)
    check_period(since, until)
    with opened() as store:
        profile = rolling_baseline(store, dataset, since=since, until=until)
    try:
        profile.save(out)
    except VisionDriftError as err:
        _fail(err)
    history = profile.extra["history"]
    runs = history["runs"]
    span = ""
    if profile.window is not None:
        w = profile.window
        span = f"; window {w.start:%Y-%m-%d %H:%M} → {w.end:%Y-%m-%d %H:%M} UTC"
    click.echo(
        f"Baseline: {profile.n_images} images from {runs_text(len(runs))} of dataset {dataset!r} "
        f"{period(since, until)}{span} -> {out}"
    )
    click.echo(f"Runs (oldest first): {', '.join(r[:12] for r in runs)}")
    if history["runs_without_profile"]:
        click.echo(
            f"Note: {runs_text(history['runs_without_profile'])} of the period had no stored "
            "profile (not kept, or pruned) and are not in the baseline."
        )
    return True


def _given(ctx: click.Context, opt: str) -> bool:
    for param in ctx.command.params:
        if opt in param.opts and param.name is not None:
            return ctx.get_parameter_source(param.name) == ParameterSource.COMMANDLINE
    return False
