"""The inbox: a folder (or an fsspec prefix) whose immediate sub-folders are batches.

A batch is *complete*, and handed to the monitor, when

- a marker file is configured (``marker``, e.g. ``_SUCCESS``): the file exists in the batch's
  folder. Nothing else counts; the writer says when it is done.
- no marker: no file was added, removed or changed for ``settle`` seconds. This watcher compares
  the batch's listing (names, sizes, modification times) between looks; a batch it sees for the
  first time counts as settled when its newest change is already ``settle`` seconds old (so a
  watcher started by cron, ``--once``, does not wait for batches that were finished long ago).
  For local files the newest change is the later of a file's modification and status-change
  times (a copy that keeps the original modification times, such as ``rsync -a``, still counts
  as new); a remote store reports what it has (its modification or creation time).

An empty batch folder is never complete without its marker: it is still being created.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from visiondrift.errors import ConfigError, SourceError

__all__ = ["Batch", "Inbox", "batch_key", "batch_window"]

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")

#: The longest batch key kept as it is; a longer location is shortened with its hash.
_MAX_KEY = 500

#: One file of a batch: (relative name, size, change time or None).
_Entry = tuple[str, int, float | None]


@dataclass(frozen=True)
class Batch:
    """A batch the watcher can hand to the monitor.

    Attributes
    ----------
    name
        Its folder's name (``20261129``); its output files go under ``OUT/<name>/``.
    location
        What the monitor reads: a local folder path or an fsspec URL.
    key
        What its claim is stored under (:func:`batch_key` of the location).
    """

    name: str
    location: str
    key: str


#: Batch names that are a day (20261129, 2026-11-29) or an hour (2026112914, 2026-11-29T14).
_DATED = re.compile(r"(?P<y>\d{4})-?(?P<m>\d{2})-?(?P<d>\d{2})(?:[T_-]?(?P<h>\d{2}))?")


def batch_window(name: str, zone: tzinfo) -> tuple[datetime, datetime] | None:
    """The time a batch named by its day or hour covers, in ``zone``; ``None`` for other names.

    The run is recorded with this window, so the history's trends and the alerts say which day
    a batch was.

    Examples
    --------
    >>> from datetime import UTC
    >>> [t.isoformat() for t in batch_window("20261129", UTC)]
    ['2026-11-29T00:00:00+00:00', '2026-11-30T00:00:00+00:00']
    >>> [t.isoformat() for t in batch_window("2026-11-29T14", UTC)]
    ['2026-11-29T14:00:00+00:00', '2026-11-29T15:00:00+00:00']
    >>> batch_window("camera-b", UTC) is None, batch_window("20261399", UTC) is None
    (True, True)
    """
    found = _DATED.fullmatch(name)
    if found is None:
        return None
    hour = found["h"]
    try:
        start = datetime(
            int(found["y"]), int(found["m"]), int(found["d"]), int(hour or 0), tzinfo=zone
        )
    except ValueError:  # not a real day or hour
        return None
    return start, start + (timedelta(hours=1) if hour else timedelta(days=1))


def is_url(location: str) -> bool:
    """Whether ``location`` is an fsspec URL (``s3://...``, ``memory://...``)."""
    return bool(_URL.match(location))


def batch_key(location: str) -> str:
    """The claim key of a batch at ``location``: the absolute location itself, or, when it is
    longer than the claims table holds, its end and a hash of the whole."""
    key = location if is_url(location) else str(Path(location).expanduser().resolve())
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    return f"sha256:{digest}:...{key[-(_MAX_KEY - 80) :]}"


def _change_time(info: Mapping[str, Any]) -> float | None:
    """The latest change time an fsspec listing gives for an entry (epoch seconds), if any."""
    found: list[float] = []
    for name in ("mtime", "LastModified", "last_modified", "updated", "created", "mtime_ns"):
        value = info.get(name)
        if value is None:
            continue
        if name == "mtime_ns":
            value = float(value) / 1e9
        if isinstance(value, datetime):
            found.append(value.timestamp())
        elif isinstance(value, int | float):
            found.append(float(value))
        elif isinstance(value, str):
            try:
                found.append(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
            except ValueError:
                continue
    return max(found) if found else None


class Inbox:
    """The batches of a folder or an fsspec prefix, and which of them are complete.

    Parameters
    ----------
    location
        A local folder or an fsspec URL (``s3://bucket/production``, ``memory://inbox``).
    settle
        Seconds without a new or changed file after which a batch is complete (no marker).
    marker
        A file name that marks a batch complete (then ``settle`` is not used).
    storage_options
        Keyword arguments of the fsspec file system (credentials are better left to the
        environment).
    clock, wall
        The monotonic clock that times the settle period between looks, and the wall clock that
        file times are compared with (tests pass their own).
    """

    def __init__(
        self,
        location: str | os.PathLike[str],
        *,
        settle: float = 60.0,
        marker: str | None = None,
        storage_options: Mapping[str, Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(settle, int | float) or settle < 0:
            raise ConfigError(
                f"The inbox's 'settle' must be a number of seconds >= 0. Got {settle!r} instead."
            )
        if marker is not None and (not marker or "/" in marker or marker in (".", "..")):
            raise ConfigError(
                f"The inbox's 'marker' must be a plain file name such as _SUCCESS. Got "
                f"{marker!r} instead."
            )
        self.location = os.fspath(location)
        self.settle = float(settle)
        self.marker = marker
        self.storage_options = dict(storage_options or {})
        self._clock = clock
        self._wall = wall
        self._fs: Any = None
        self._root = self.location
        if is_url(self.location):
            import fsspec

            self._fs, self._root = fsspec.core.url_to_fs(self.location, **self.storage_options)
            self._root = str(self._root).rstrip("/") or "/"
        # name -> (listing, when this watcher first saw that listing)
        self._seen: dict[str, tuple[frozenset[_Entry], float]] = {}

    def __repr__(self) -> str:
        return f"Inbox({self.location!r}, settle={self.settle:g}, marker={self.marker!r})"

    # ------------------------------------------------------------ listing
    def batches(self) -> list[Batch]:
        """Every batch folder in the inbox, complete or not, by name."""
        return [self._batch(name) for name in self._names()]

    def complete(self, skip: Container[str] = ()) -> list[Batch]:
        """The batches that are complete now, by name (each call is one look at the inbox).

        Batches whose key is in ``skip`` (those already done) are not looked into.
        """
        names = self._names()
        done: list[Batch] = []
        for name in names:
            batch = self._batch(name)
            if batch.key not in skip and self._is_complete(name):
                done.append(batch)
        for gone in set(self._seen) - set(names):
            del self._seen[gone]
        return done

    def _batch(self, name: str) -> Batch:
        if self._fs is None:
            location = str(Path(self._root) / name)
        else:
            location = str(self._fs.unstrip_protocol(f"{self._root}/{name}"))
        return Batch(name=name, location=location, key=batch_key(location))

    def _names(self) -> list[str]:
        try:
            if self._fs is None:
                with os.scandir(self._root) as entries:
                    names = [e.name for e in entries if e.is_dir(follow_symlinks=True)]
            else:
                names = [
                    str(e["name"]).rstrip("/").rsplit("/", 1)[-1]
                    for e in self._fs.ls(self._root, detail=True)
                    if e.get("type") == "directory"
                ]
        except FileNotFoundError as err:
            raise SourceError(
                f"The inbox '{self.location}' does not exist; create it, or give the folder "
                "(or fsspec URL) whose sub-folders are the batches with --inbox."
            ) from err
        except NotADirectoryError as err:
            raise SourceError(
                f"The inbox '{self.location}' is a file; give the folder whose sub-folders are "
                "the batches."
            ) from err
        except OSError as err:
            raise SourceError(f"Cannot list the inbox '{self.location}': {err}") from err
        return sorted(n for n in names if n and not n.startswith("."))

    def _listing(self, name: str) -> frozenset[_Entry]:
        """Every file and folder under the batch, with its size and change time."""
        entries: list[_Entry] = []
        if self._fs is None:
            top = Path(self._root) / name
            for folder, dirs, files in os.walk(top):
                for item in (*dirs, *files):
                    path = Path(folder) / item
                    try:
                        st = path.stat()
                    except OSError:
                        continue  # removed while listed: the next look sees the change
                    changed = max(st.st_mtime, st.st_ctime)
                    size = 0 if item in dirs else int(st.st_size)
                    entries.append((path.relative_to(top).as_posix(), size, changed))
        else:
            top_name = f"{self._root}/{name}"
            found = self._fs.find(top_name, detail=True, withdirs=True)
            for path, info in found.items():
                rel = str(path)[len(top_name) :].lstrip("/")
                if rel:
                    entries.append((rel, int(info.get("size") or 0), _change_time(info)))
        return frozenset(entries)

    def _has_marker(self, name: str) -> bool:
        assert self.marker is not None
        if self._fs is None:
            return (Path(self._root) / name / self.marker).is_file()
        return bool(self._fs.isfile(f"{self._root}/{name}/{self.marker}"))

    def _is_complete(self, name: str) -> bool:
        if self.marker is not None:
            return self._has_marker(name)
        try:
            listing = self._listing(name)
        except (FileNotFoundError, NotADirectoryError):
            return False  # removed between the listing of the inbox and this one
        now = self._clock()
        seen = self._seen.get(name)
        if seen is None or seen[0] != listing:
            first = seen is None
            self._seen[name] = (listing, now)
            files = [e for e in listing if e[0]]
            if not files:
                return False
            times = [t for _, _, t in files]
            if first and all(t is not None for t in times):
                newest = max(t for t in times if t is not None)
                return self._wall() - newest >= self.settle
            return self.settle == 0
        if not listing:
            return False
        return now - seen[1] >= self.settle
