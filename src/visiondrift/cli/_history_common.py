"""What the ``history`` commands and ``baseline --from-history`` share: points in time given
as durations or ISO dates, their options, and the store the settings name.

May import: click, :mod:`visiondrift.cli._settings`, :mod:`visiondrift.cli._support` and (when a
command runs) the store and the application core.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import click

from visiondrift.cli._settings import cli_settings, config_option, setting_option
from visiondrift.cli._support import _fail
from visiondrift.errors import VisionDriftError

if TYPE_CHECKING:
    from visiondrift.store import AnyDataset, HistoryStore

__all__ = [
    "WHEN",
    "WHEN_HELP",
    "WhenType",
    "check_period",
    "common_options",
    "dataset_option",
    "json_option",
    "opened",
    "parse_when",
    "period",
    "runs_text",
    "selected",
    "since_option",
    "store_option",
    "until_option",
]

#: Units of a duration: ``30m``, ``12h``, ``90d``, ``2w``.
DURATION_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """A point in time: a duration back from ``now`` (``90d``, ``12h``, ``30m``, ``2w``) or an
    ISO 8601 date or date and time (UTC when it has no time zone).

    Examples
    --------
    >>> now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    >>> parse_when("2w", now=now).isoformat()
    '2026-11-16T12:00:00+00:00'
    >>> parse_when("2026-11-01").isoformat()
    '2026-11-01T00:00:00+00:00'
    >>> parse_when("2026-11-01T08:30+01:00").isoformat()
    '2026-11-01T07:30:00+00:00'

    Raises
    ------
    ValueError
        The text is neither; the message says what is allowed.
    """
    now = now or datetime.now(UTC)
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        if amount == 0:
            raise ValueError(f"a duration must be positive (90d, 12h, 30m, 2w); got {text!r}")
        return now - timedelta(**{DURATION_UNITS[unit]: amount})
    value = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError as err:
        raise ValueError(
            f"expected a duration back from now (90d, 12h, 30m, 2w) or an ISO 8601 date or "
            f"time (2026-11-01, 2026-11-01T08:00Z); got {text!r}"
        ) from err
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class WhenType(click.ParamType[Any, datetime]):
    """A click type for :func:`parse_when`: a bad value is a usage error (exit 2)."""

    name = "when"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_when(str(value))
        except ValueError as err:
            self.fail(str(err), param, ctx)


WHEN: Final = WhenType()

WHEN_HELP = (
    "a duration back from now (90d, 12h, 30m, 2w) or an ISO 8601 date or time (2026-11-01, "
    "2026-11-01T08:00Z; UTC when no zone is given)"
)


#: ``--store`` of the commands that read the store (``monitor`` has its own, that records).
STORE_HELP: Final = (
    "The history store: a SQLite file, sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
    "(password from PGPASSWORD or ~/.pgpass) [default: the store.url setting or "
    "VISIONDRIFT_STORE, else history.sqlite in the user data folder: 'visiondrift history where']."
)


def store_option(func: Any) -> Any:
    """``--store PATH|URL``: the store to read, over the ``store.url`` setting."""
    return setting_option(
        "--store",
        "store_url",
        setting="store.url",
        show_default=False,
        metavar="PATH|URL",
        help=STORE_HELP,
    )(func)


def dataset_option(help_text: str) -> Callable[[Any], Any]:
    return click.option("--dataset", default=None, metavar="NAME", help=help_text)


def since_option(func: Any) -> Any:
    return click.option(
        "--since",
        type=WHEN,
        default=None,
        metavar="WHEN",
        help=f"Only runs that finished at or after this: {WHEN_HELP}.",
    )(func)


def until_option(func: Any) -> Any:
    return click.option(
        "--until",
        type=WHEN,
        default=None,
        metavar="WHEN",
        help="Only runs that finished before this (same forms as --since).",
    )(func)


def json_option(func: Any) -> Any:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def common_options(func: Any) -> Any:
    """``--store`` and ``--config``, on every ``history`` command."""
    return store_option(config_option(func))


def selected(dataset: str | None) -> str | AnyDataset:
    from visiondrift.store import ANY_DATASET

    return ANY_DATASET if dataset is None else dataset


def check_period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise click.UsageError(
            f"--since ({since.isoformat(timespec='minutes')}) must be before --until "
            f"({until.isoformat(timespec='minutes')})."
        )


def period(since: datetime | None, until: datetime | None) -> str:
    """The period as words: "since 2026-11-01 00:00 UTC", "between ... and ...", "at all"."""
    from visiondrift.app._rolling import describe_period

    return describe_period(since, until)


@contextmanager
def opened() -> Iterator[HistoryStore]:
    """The store of the effective settings; its domain errors exit with 2."""
    from visiondrift.app import history_from_settings

    settings = cli_settings().settings.store
    try:
        store = history_from_settings(settings, required=True)
        assert store is not None
        with store:
            yield store
    except VisionDriftError as err:
        _fail(err)


def runs_text(n: int) -> str:
    """``1 run``, ``2 runs``."""
    return f"{n} run{'' if n == 1 else 's'}"
