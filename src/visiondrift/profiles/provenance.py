"""Where a profile's images came from and when: its dataset, its time window and its sources.

Provenance merges like the rest of a profile, and stays bounded however many profiles are merged:

- the dataset name: profiles of one dataset keep its name; a profile without a name (``None``,
  as :meth:`Profile.empty` has) takes the other's; two *different* names do not merge (a
  profile of two datasets would be compared as if it were one, and later merges could not tell
  which images belong where), see :func:`merge_dataset`;
- the time window: the earliest start and the latest end (:meth:`Window.merge`);
- the sources: at most :data:`MAX_LISTED_SOURCES` distinct ones are listed (records of the same
  source are added up), plus the count of every source record merged (:func:`merge_sources`).

Plain data: imports the standard library, :mod:`visiondrift.errors` and the source record
(:class:`visiondrift.sources.SourceInfo`) only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Final

from visiondrift.errors import ConfigError, IncompatibleProfilesError
from visiondrift.sources import SourceInfo

__all__ = [
    "MAX_LISTED_SOURCES",
    "Window",
    "merge_dataset",
    "merge_sources",
]

#: Most distinct sources a profile lists; the others are only counted (``source_count``).
MAX_LISTED_SOURCES: Final = 16


def _utc(value: object, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as err:
            raise ConfigError(
                f"The window's '{field}' must be an ISO 8601 date and time with a timezone, "
                f"such as '2024-04-01T10:00:00+00:00'. Got {value!r} instead."
            ) from err
    if not isinstance(value, datetime):
        raise ConfigError(
            f"The window's '{field}' must be a datetime. Got {type(value).__name__} instead."
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConfigError(
            f"The window's '{field}' must be timezone-aware (for example "
            f"datetime(..., tzinfo=datetime.UTC)). Got the naive datetime {value.isoformat()!r}."
        )
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """The time span a profile's images belong to: ``start`` <= ``end``, both in UTC.

    Parameters
    ----------
    start
        When the window opens (timezone-aware; converted to UTC). An ISO 8601 string is read.
    end
        When it closes (timezone-aware; converted to UTC), not before ``start``.

    Examples
    --------
    >>> from datetime import datetime, UTC
    >>> a = Window(datetime(2024, 4, 1, 10, tzinfo=UTC), datetime(2024, 4, 1, 11, tzinfo=UTC))
    >>> b = Window.from_dict({"start": "2024-04-01T09:00:00+00:00",
    ...                       "end": "2024-04-01T09:30:00+00:00"})
    >>> a.merge(b).to_dict()
    {'start': '2024-04-01T09:00:00+00:00', 'end': '2024-04-01T11:00:00+00:00'}
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start = _utc(self.start, "start")
        end = _utc(self.end, "end")
        if end < start:
            raise ConfigError(
                f"The window's 'end' ({end.isoformat()}) is before its 'start' "
                f"({start.isoformat()}); give the earlier time as the start."
            )
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def merge(self, other: Window) -> Window:
        """The smallest window holding both: the earliest start and the latest end."""
        return Window(min(self.start, other.start), max(self.end, other.end))

    def to_dict(self) -> dict[str, str]:
        """The window as ISO 8601 strings in UTC."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Window:
        """A window from :meth:`to_dict`'s output."""
        return cls(data["start"], data["end"])


def merge_window(a: Window | None, b: Window | None) -> Window | None:
    """``a.merge(b)``, where ``None`` (no window known) is the zero."""
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)


def merge_dataset(a: str | None, b: str | None) -> str | None:
    """The dataset of a merge: equal names stay, ``None`` is the zero, different names raise.

    Raises
    ------
    IncompatibleProfilesError
        The two names differ.
    """
    if a is None or b is None:
        return a if b is None else b
    if a != b:
        raise IncompatibleProfilesError(
            f"Cannot merge a profile of dataset {a!r} with one of dataset {b!r}: a profile "
            "summarises one dataset. Compare them instead, or give both the same name "
            "(profile.with_dataset(...)) if they really are one dataset."
        )
    return a


def _source_key(s: SourceInfo) -> tuple[str, str, int, int]:
    return (s.kind, s.location, -1 if s.max_images is None else s.max_images, s.seed)


def merge_sources(
    *groups: Iterable[SourceInfo], limit: int = MAX_LISTED_SOURCES
) -> tuple[SourceInfo, ...]:
    """The distinct sources of ``groups``: records of one source added up, at most ``limit``.

    Records with the same kind, location, ``max_images`` and seed are one source (their
    ``n_listed`` and ``n_selected`` add up). The ``limit`` sources that sort first by
    (kind, location) are kept: the result does not depend on the order of merging.
    """
    merged: dict[tuple[str, str, int, int], SourceInfo] = {}
    for group in groups:
        for s in group:
            key = _source_key(s)
            seen = merged.get(key)
            if seen is None:
                merged[key] = s
            else:
                merged[key] = replace(
                    seen,
                    n_listed=seen.n_listed + s.n_listed,
                    n_selected=seen.n_selected + s.n_selected,
                )
    return tuple(merged[k] for k in sorted(merged)[:limit])
