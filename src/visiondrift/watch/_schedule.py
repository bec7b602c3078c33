"""The schedule: a cron expression (APScheduler's :class:`CronTrigger`) and a source pattern.

Each time the expression fires, the source pattern is formatted with the fire time in the
schedule's time zone (``production/{date:%Y%m%d}/`` -> ``production/20261129/``) and that batch
is monitored; the formatted source is the batch's claim key, so a firing whose batch was already
processed (by this watcher, an earlier one, or another one) is skipped, and firings that were
missed while a batch ran are caught up, once per distinct batch.

Expressions are crontab's: five fields (minute hour day month weekday), or six with seconds
first. Weekday numbers are crontab's (0 or 7 Sunday, 1 Monday ... 6 Saturday; names such as
``mon-fri`` work too), translated for APScheduler 3, which numbers Monday 0.

APScheduler's trigger computes the firings; the watcher waits for each one itself rather than
through a ``BlockingScheduler``, whose jobs run in a worker thread and are not told their
scheduled time: this way the batch runs in the main thread, where SIGTERM stops it between
profiling chunks, and the placeholders get the exact time of the firing, not the moment a
thread picked the job up.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = ["Schedule", "check_pattern", "format_source", "time_zone"]

_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS = ("second", "minute", "hour", "day", "month", "day_of_week")


def time_zone(name: str) -> tzinfo:
    """The time zone ``name`` (``UTC``, ``Europe/Paris``), or a :class:`ConfigError` saying so."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(
            f"The watch time zone {name!r} is not a known IANA time zone name; give one such "
            "as 'UTC' or 'Europe/Paris' (watch.timezone, --timezone)."
        ) from err


def _weekdays(field: str) -> str:
    """A crontab weekday field in APScheduler 3's terms (it numbers Monday 0, crontab Sunday)."""
    if field == "*" or any(c.isalpha() for c in field):
        return field
    days: list[int] = []
    for part in field.split(","):
        span, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            a, b = span.split("-", 1)
            first, last = int(a), int(b)
        else:
            first = int(span)
            last = 6 if step_text else first
        if not (0 <= first <= 7 and 0 <= last <= 7 and first <= last and step >= 1):
            raise ValueError(f"the weekday field {field!r} is not 0-7 (0 and 7: Sunday)")
        days.extend(range(first, last + 1, step))
    return ",".join(_DAY_NAMES[d % 7] for d in dict.fromkeys(days))


def cron_trigger(expression: str, zone: tzinfo) -> CronTrigger:
    """The :class:`CronTrigger` of a crontab ``expression`` (5 fields, or 6 with seconds
    first) in the time zone ``zone``."""
    from apscheduler.triggers.cron import CronTrigger

    fields = str(expression).split()
    if len(fields) not in (5, 6):
        raise ConfigError(
            f"The cron expression {expression!r} has {len(fields)} fields; give 5 (minute hour "
            "day month weekday, e.g. '0 2 * * *' for 2 AM every day) or 6 with seconds first "
            "('*/30 * * * * *')."
        )
    if len(fields) == 5:
        fields = ["0", *fields]
    try:
        values = dict(zip(_FIELDS, fields, strict=True))
        values["day_of_week"] = _weekdays(values["day_of_week"])
        return CronTrigger(timezone=zone, **values)
    except ValueError as err:
        raise ConfigError(
            f"The cron expression {expression!r} is not valid: {err}. Fields: [second] minute "
            "hour day month weekday, each '*', a number, a range 'a-b', a list 'a,b' or a step "
            "'*/n'."
        ) from err


def check_pattern(pattern: str) -> None:
    """Check that a source pattern's placeholders are ``{date:FORMAT}`` only."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as err:
        raise ConfigError(
            f"The watch source {pattern!r} is not a valid pattern: {err}. Write placeholders "
            "as {date:%Y%m%d}; double a literal brace ({{ or }})."
        ) from err
    unknown = [f for f in fields if f != "date"]
    if unknown:
        raise ConfigError(
            f"The watch source {pattern!r} has the placeholder {{{unknown[0]}}}; the only "
            "placeholder is {date:FORMAT} (strftime codes, e.g. {date:%Y%m%d}), the time the "
            "schedule fired."
        )


def format_source(pattern: str, when: datetime) -> str:
    """The source of the batch of a firing at ``when``: ``pattern`` with ``{date:FORMAT}``
    formatted (``production/{date:%Y%m%d}/`` -> ``production/20261129/``).

    >>> from datetime import datetime, timezone
    >>> format_source("prod/{date:%Y%m%d}/", datetime(2026, 11, 29, 2, tzinfo=timezone.utc))
    'prod/20261129/'
    """
    check_pattern(pattern)
    return pattern.format(date=when)


class Schedule:
    """When a cron expression fires, and which batch each firing is.

    Parameters
    ----------
    expression
        A crontab expression: 5 fields, or 6 with seconds first; ``None``: no schedule, the
        source is formatted with the time it is run (``watch --source ... --once``).
    source
        The batch's source, with ``{date:FORMAT}`` placeholders.
    timezone
        The IANA time zone of the expression and of the placeholders.
    """

    def __init__(self, expression: str | None, source: str, *, timezone: str = "UTC") -> None:
        check_pattern(source)
        self.expression = expression
        self.source = source
        self.zone = time_zone(timezone)
        self.trigger = None if expression is None else cron_trigger(expression, self.zone)

    def __repr__(self) -> str:
        return f"Schedule({self.expression!r}, {self.source!r}, timezone={str(self.zone)!r})"

    def next_fire(self, after: datetime) -> datetime:
        """The first firing strictly after ``after`` (in the schedule's time zone)."""
        if self.trigger is None:
            raise ConfigError("A watch source without a cron expression fires only with --once.")
        start = after.astimezone(self.zone) + timedelta(microseconds=1)
        fire = self.trigger.get_next_fire_time(None, start)
        if fire is None:  # pragma: no cover - a cron trigger without an end date always fires
            raise ConfigError(f"The cron expression {self.expression!r} never fires again.")
        return fire  # type: ignore[no-any-return]

    def fires(self, after: datetime, until: datetime) -> Iterator[datetime]:
        """The firings after ``after`` up to and including ``until``, oldest first."""
        fire = self.next_fire(after)
        while fire <= until:
            yield fire
            fire = self.next_fire(fire)

    def source_at(self, fire: datetime) -> str:
        """The batch source of the firing at ``fire`` (placeholders in the schedule's zone)."""
        return format_source(self.source, fire.astimezone(self.zone))
