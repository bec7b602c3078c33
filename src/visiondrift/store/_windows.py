"""The windows of records posted to the service (``vd_windows``) and the records (``vd_records``).

A window's life::

    open --(count reached, deadline passed, baseline changed, closed by hand)--> closing
    closing --(a closer claims it, compares it, records its run)--> closed (run_id)
    closing --(its profile cannot be compared)--> failed (reason)

Records are appended to the dataset's open window; a batch that crosses the count limit is cut
there and the rest goes into the next window (opened at once). Every record is written before
the service acknowledges it, so a killed service loses none: on restart its records are in a
closed window's run or in the still-open window.

Several server processes share a store: an append locks the dataset's open window row
(``SELECT ... FOR UPDATE`` on PostgreSQL, behind a per-dataset advisory lock so that two
processes never open two windows; SQLite serialises writers), a window becomes ``closing``
through a conditional update that only one process wins, and a closer *claims* a closing window
for a lease it renews while it works. A closer that dies leaves its claim to run out; another
(or the restarted) process then closes the window again, and finds the run already recorded if
the first one got that far (the run id is the window id).

While a window is ``open``, ``deadline`` is when it closes by time (``None``: by count only);
once it is ``closing``, ``deadline`` is the window's end (what its run covers) and ``closed_at``
is set when its verdict is recorded. Times are UTC.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from visiondrift.store._rows import now_utc, utc

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray
    from sqlalchemy.engine import Connection, RowMapping

    from visiondrift.store._store import HistoryStore

__all__ = [
    "AppendRequest",
    "AppendResult",
    "LabelResult",
    "Measured",
    "NewRecord",
    "StoredRecord",
    "Window",
    "WindowStatus",
    "Windows",
    "decode_measured",
    "decode_probs",
    "encode_measured",
    "encode_probs",
]

WindowStatus = Literal["open", "closing", "closed", "failed"]

#: Records read per query when a window's records are iterated.
CHUNK = 2000


@dataclass(frozen=True)
class Window:
    """One row of ``vd_windows``.

    Attributes
    ----------
    window_id
        32 hex digits; the id of its run too.
    dataset, baseline_id
        The dataset, and the baseline its records are compared with.
    status
        ``open`` (taking records), ``closing`` (full or due, waiting for its verdict),
        ``closed`` (its run is ``run_id``) or ``failed`` (``reason`` says why).
    opened_at
        When its first record arrived.
    deadline
        Open: when it closes by time (``None``: by count only). Closing, closed, failed: the
        window's end.
    closed_at
        When its verdict (or failure) was recorded.
    n_records, n_bad
        Records it holds, and how many of them are unusable.
    run_id, reason
        Its run; why it failed.
    claimed_by, claimed_until
        The process closing it, and until when its claim holds.
    """

    window_id: str
    dataset: str
    baseline_id: str
    status: WindowStatus
    opened_at: datetime
    deadline: datetime | None
    closed_at: datetime | None
    n_records: int
    n_bad: int
    run_id: str | None = None
    reason: str | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None

    @property
    def end(self) -> datetime | None:
        """The end of a window no longer open (``None`` while it is open)."""
        return None if self.status == "open" else self.deadline


@dataclass(frozen=True)
class NewRecord:
    """A record as it is written: already validated and encoded (see :func:`encode_probs`,
    :func:`encode_measured`)."""

    record_id: str | None = None
    ts: datetime | None = None
    label: str | None = None
    probs: bytes | None = None
    measured: bytes | None = None
    bad_reason: str | None = None
    detail: str | None = None
    meta: str | None = None


@dataclass(frozen=True)
class Measured:
    """What was measured of a record's image: histograms, property values, format and mode."""

    histograms: NDArray[np.int64]
    values: NDArray[np.float64]
    format: str
    mode: str


@dataclass(frozen=True)
class StoredRecord:
    """One stored record, decoded.

    ``probs`` is a float32 vector or ``None``; ``measured`` the image's measurements or
    ``None``; ``bad_reason`` (with ``detail``) says why a record is unusable; ``meta`` is the
    metadata posted with it.
    """

    window_id: str
    seq: int
    dataset: str
    record_id: str | None
    received_at: datetime
    ts: datetime | None
    label: str | None
    probs: NDArray[np.float32] | None
    measured: Measured | None
    bad_reason: str | None
    detail: str | None
    meta: dict[str, Any] | None


@dataclass(frozen=True)
class AppendRequest:
    """Records for one dataset's windows (one request to the service)."""

    dataset: str
    baseline_id: str
    rows: Sequence[NewRecord]
    count_limit: int | None = None
    seconds_limit: float | None = None


@dataclass(frozen=True)
class AppendResult:
    """What an append did.

    Attributes
    ----------
    accepted, bad
        Records written, and how many of them are unusable.
    window
        The window the last record went into, as the append left it.
    windows
        Every window that took records, in order.
    closing
        The windows this append made ``closing`` (count reached, deadline passed, baseline
        changed).
    """

    accepted: int
    bad: int
    window: Window | None
    windows: tuple[str, ...]
    closing: tuple[str, ...]


@dataclass(frozen=True)
class LabelResult:
    """Labels joined to records: in open windows, in windows whose verdict is already being or
    was recorded (``late``: stored, but the verdict does not change), and ids not found."""

    joined: int
    late: int
    unknown: int


# ---------------------------------------------------------------- encoding
def encode_probs(probabilities: Sequence[float]) -> bytes:
    """Probabilities as stored: float32, little-endian."""
    from array import array

    values = array("f", probabilities)
    if sys.byteorder != "little":
        values.byteswap()
    return values.tobytes()


def decode_probs(blob: bytes) -> NDArray[np.float32]:
    """Stored probabilities as a float32 vector."""
    import numpy as np

    return np.frombuffer(bytes(blob), dtype="<f4").astype(np.float32)


def encode_measured(
    histograms: NDArray[Any], values: NDArray[Any], *, format: str, mode: str
) -> bytes:
    """An image's measurements as stored (zlib): a JSON header, uint32 histograms, float64
    values; no pixels."""
    import zlib

    import numpy as np

    head = json.dumps(
        {"format": format, "mode": mode, "n": int(np.asarray(values).size)}, separators=(",", ":")
    ).encode()
    body = (
        np.asarray(histograms, dtype="<u4").tobytes() + np.asarray(values, dtype="<f8").tobytes()
    )
    return zlib.compress(len(head).to_bytes(2, "little") + head + body, 1)


def decode_measured(blob: bytes) -> Measured:
    """Stored measurements (see :func:`encode_measured`)."""
    import zlib

    import numpy as np

    raw = zlib.decompress(bytes(blob))
    size = int.from_bytes(raw[:2], "little")
    head = json.loads(raw[2 : 2 + size])
    hist_end = 2 + size + 4 * 4 * 256
    hist = np.frombuffer(raw[2 + size : hist_end], dtype="<u4").astype(np.int64).reshape(4, 256)
    values = np.frombuffer(raw[hist_end:], dtype="<f8").astype(np.float64)
    if values.size != int(head["n"]):
        raise ValueError(f"stored measurements hold {values.size} values, not {head['n']}")
    return Measured(hist, values, str(head["format"]), str(head["mode"]))


# ---------------------------------------------------------------- rows
def _window(row: RowMapping) -> Window:
    opened = utc(row["opened_at"])
    assert opened is not None
    return Window(
        window_id=row["window_id"],
        dataset=row["dataset"],
        baseline_id=row["baseline_id"],
        status=row["status"],
        opened_at=opened,
        deadline=utc(row["deadline"]),
        closed_at=utc(row["closed_at"]),
        n_records=int(row["n_records"]),
        n_bad=int(row["n_bad"]),
        run_id=row["run_id"],
        reason=row["reason"],
        claimed_by=row["claimed_by"],
        claimed_until=utc(row["claimed_until"]),
    )


def _record(row: RowMapping) -> StoredRecord:
    received = utc(row["received_at"])
    assert received is not None
    return StoredRecord(
        window_id=row["window_id"],
        seq=int(row["seq"]),
        dataset=row["dataset"],
        record_id=row["record_id"],
        received_at=received,
        ts=utc(row["ts"]),
        label=row["label"],
        probs=None if row["probs"] is None else decode_probs(row["probs"]),
        measured=None if row["measured"] is None else decode_measured(row["measured"]),
        bad_reason=row["bad_reason"],
        detail=row["detail"],
        meta=None if row["meta"] is None else json.loads(row["meta"]),
    )


def _window_values(w: Window) -> dict[str, Any]:
    return {
        "window_id": w.window_id,
        "dataset": w.dataset,
        "baseline_id": w.baseline_id,
        "status": w.status,
        "opened_at": w.opened_at,
        "deadline": w.deadline,
        "closed_at": w.closed_at,
        "n_records": w.n_records,
        "n_bad": w.n_bad,
        "run_id": w.run_id,
        "reason": w.reason,
        "claimed_by": w.claimed_by,
        "claimed_until": w.claimed_until,
    }


def _lock_dataset(conn: Connection, dataset: str) -> None:
    """PostgreSQL: one appender per dataset at a time (until the transaction ends), so two
    processes never open two windows of one dataset. SQLite's writers are serialised anyway."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": "vd_window:" + dataset}
        )


class Windows:
    """The windows and records of a :class:`~visiondrift.store.HistoryStore` (``store.windows``).

    Every method is one transaction (or one read), on SQLite and PostgreSQL alike.
    """

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    # ------------------------------------------------------------ appending
    def append(
        self,
        dataset: str,
        baseline_id: str,
        rows: Sequence[NewRecord],
        *,
        count_limit: int | None,
        seconds_limit: float | None,
        now: datetime | None = None,
    ) -> AppendResult:
        """Write ``rows`` into ``dataset``'s open window(s), opening and closing windows as the
        limits say (one transaction)."""
        request = AppendRequest(dataset, baseline_id, rows, count_limit, seconds_limit)
        return self.append_many([request], now=now)[0]

    def append_many(
        self, requests: Sequence[AppendRequest], *, now: datetime | None = None
    ) -> list[AppendResult]:
        """Write several requests' records in ONE transaction (the service's group commit);
        returns each request's result, in order. All land or none does."""
        at = now_utc(now)
        results: dict[int, AppendResult] = {}
        # Datasets are locked in name order, so two processes never wait for each other.
        order = sorted(range(len(requests)), key=lambda i: requests[i].dataset)
        with self.store._write("writing posted records") as conn:
            for i in order:
                results[i] = self._append(conn, requests[i], at)
        return [results[i] for i in range(len(requests))]

    def _append(self, conn: Connection, request: AppendRequest, at: datetime) -> AppendResult:
        from sqlalchemy import insert, select, update

        from visiondrift.store._schema import RECORDS, WINDOWS

        dataset, limit = request.dataset, request.count_limit
        _lock_dataset(conn, dataset)
        query = select(WINDOWS).where(WINDOWS.c.dataset == dataset, WINDOWS.c.status == "open")
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        found = conn.execute(query.order_by(WINDOWS.c.opened_at)).mappings().all()
        closing: list[str] = []
        current: Window | None = None
        for row in found:
            w = _window(row)
            if current is None and _takes_records(w, request, at):
                current = w
                continue
            # Another baseline, past its deadline, full under a lower limit (or a second open
            # window, which the lock prevents): it closes now.
            end = w.deadline if w.deadline is not None and w.deadline <= at else at
            conn.execute(
                update(WINDOWS)
                .where(WINDOWS.c.window_id == w.window_id, WINDOWS.c.status == "open")
                .values(status="closing", deadline=end)
            )
            closing.append(w.window_id)
        touched: list[tuple[Window, bool]] = []
        rows: list[dict[str, Any]] = []
        i, n = 0, len(request.rows)
        while i < n:
            is_new = current is None
            if current is None:
                current = Window(
                    window_id=uuid.uuid4().hex,
                    dataset=dataset,
                    baseline_id=request.baseline_id,
                    status="open",
                    opened_at=at,
                    deadline=(
                        None
                        if request.seconds_limit is None
                        else at + timedelta(seconds=float(request.seconds_limit))
                    ),
                    closed_at=None,
                    n_records=0,
                    n_bad=0,
                )
            room = n - i if limit is None else max(0, limit - current.n_records)
            take = request.rows[i : i + room]
            for k, r in enumerate(take):
                rows.append(
                    {
                        "window_id": current.window_id,
                        "seq": current.n_records + k,
                        "dataset": dataset,
                        "record_id": r.record_id,
                        "received_at": at,
                        "ts": r.ts,
                        "label": r.label,
                        "probs": r.probs,
                        "measured": r.measured,
                        "bad_reason": r.bad_reason,
                        "detail": r.detail,
                        "meta": r.meta,
                    }
                )
            current = replace(
                current,
                n_records=current.n_records + len(take),
                n_bad=current.n_bad + sum(r.bad_reason is not None for r in take),
            )
            i += len(take)
            if limit is not None and current.n_records >= limit:
                current = replace(current, status="closing", deadline=at)
                closing.append(current.window_id)
            touched.append((current, is_new))
            if current.status == "closing":
                current = None
        for w, is_new in touched:
            if is_new:
                conn.execute(insert(WINDOWS), [_window_values(w)])
            else:
                conn.execute(
                    update(WINDOWS)
                    .where(WINDOWS.c.window_id == w.window_id, WINDOWS.c.status == "open")
                    .values(
                        status=w.status,
                        deadline=w.deadline,
                        n_records=w.n_records,
                        n_bad=w.n_bad,
                    )
                )
        if rows:
            conn.execute(insert(RECORDS), rows)
        last = touched[-1][0] if touched else current
        return AppendResult(
            accepted=n,
            bad=sum(r.bad_reason is not None for r in request.rows),
            window=last,
            windows=tuple(dict.fromkeys(w.window_id for w, _ in touched)),
            closing=tuple(closing),
        )

    # ------------------------------------------------------------ closing
    def due(self, now: datetime | None = None) -> list[Window]:
        """Make every open window past its deadline ``closing`` (its end: the deadline);
        returns those this call changed (of several processes, each window goes to one)."""
        from sqlalchemy import select, update

        from visiondrift.store._schema import WINDOWS

        at = now_utc(now)
        which = (
            (WINDOWS.c.status == "open")
            & WINDOWS.c.deadline.is_not(None)
            & (WINDOWS.c.deadline <= at)
        )
        candidates = self.store._read(
            "finding due windows",
            lambda conn: list(conn.execute(select(WINDOWS.c.window_id).where(which)).scalars()),
        )
        if not candidates:
            return []
        changed: list[str] = []
        with self.store._write("closing due windows") as conn:
            for window_id in candidates:
                n = conn.execute(
                    update(WINDOWS)
                    .where(WINDOWS.c.window_id == window_id)
                    .where(which)
                    .values(status="closing")
                ).rowcount
                if n == 1:
                    changed.append(window_id)
            if not changed:
                return []
            rows = conn.execute(select(WINDOWS).where(WINDOWS.c.window_id.in_(changed)))
            return [_window(r) for r in rows.mappings()]

    def close_now(self, dataset: str, *, now: datetime | None = None) -> Window | None:
        """Make ``dataset``'s open window ``closing`` now (closed by hand); ``None`` when it has
        none."""
        from sqlalchemy import select, update

        from visiondrift.store._schema import WINDOWS

        at = now_utc(now)
        with self.store._write(f"closing the open window of {dataset}") as conn:
            _lock_dataset(conn, dataset)
            found = conn.execute(
                select(WINDOWS).where(WINDOWS.c.dataset == dataset, WINDOWS.c.status == "open")
            ).mappings()
            ids = [r["window_id"] for r in found]
            if not ids:
                return None
            conn.execute(
                update(WINDOWS)
                .where(WINDOWS.c.window_id.in_(ids), WINDOWS.c.status == "open")
                .values(status="closing", deadline=at)
            )
            row = conn.execute(select(WINDOWS).where(WINDOWS.c.window_id == ids[0])).mappings()
            return _window(row.one())

    def claim_closing(
        self, owner: str, *, lease: float, now: datetime | None = None
    ) -> Window | None:
        """Take one ``closing`` window nobody holds (or whose holder's lease ran out) for
        ``lease`` seconds; oldest end first. ``None`` when there is none."""
        from sqlalchemy import or_, select, update

        from visiondrift.store._schema import WINDOWS

        at = now_utc(now)
        free = (WINDOWS.c.status == "closing") & or_(
            WINDOWS.c.claimed_until.is_(None), WINDOWS.c.claimed_until < at
        )
        query = select(WINDOWS.c.window_id).where(free).order_by(WINDOWS.c.deadline).limit(8)
        candidates = self.store._read(
            "finding windows to close", lambda conn: list(conn.execute(query).scalars())
        )
        if not candidates:
            return None
        with self.store._write("claiming a window to close") as conn:
            for window_id in candidates:
                n = conn.execute(
                    update(WINDOWS)
                    .where(WINDOWS.c.window_id == window_id)
                    .where(free)
                    .values(claimed_by=owner, claimed_until=at + timedelta(seconds=lease))
                ).rowcount
                if n == 1:
                    row = conn.execute(select(WINDOWS).where(WINDOWS.c.window_id == window_id))
                    return _window(row.mappings().one())
        return None

    def renew(
        self, window_ids: Sequence[str], owner: str, *, lease: float, now: datetime | None = None
    ) -> int:
        """Extend ``owner``'s claims on ``window_ids`` by ``lease`` seconds; how many it holds."""
        from sqlalchemy import update

        from visiondrift.store._schema import WINDOWS

        if not window_ids:
            return 0
        until = now_utc(now) + timedelta(seconds=lease)
        with self.store._write("renewing window claims") as conn:
            n = conn.execute(
                update(WINDOWS)
                .where(WINDOWS.c.window_id.in_(list(window_ids)))
                .where(WINDOWS.c.status == "closing", WINDOWS.c.claimed_by == owner)
                .values(claimed_until=until)
            ).rowcount
        return int(n)

    def release(self, window_id: str, owner: str) -> bool:
        """Give a claimed window back (to be closed again at once, by any process)."""
        return self._end(window_id, owner, "releasing", claimed_by=None, claimed_until=None)

    def closed(
        self, window_id: str, run_id: str, *, owner: str | None = None, now: datetime | None = None
    ) -> bool:
        """Mark a ``closing`` window ``closed`` with its run; ``False`` when it was not closing
        (or, with ``owner``, no longer that closer's)."""
        return self._end(
            window_id,
            owner,
            "recording",
            status="closed",
            run_id=run_id,
            closed_at=now_utc(now),
            claimed_by=None,
            claimed_until=None,
        )

    def failed(
        self, window_id: str, reason: str, *, owner: str | None = None, now: datetime | None = None
    ) -> bool:
        """Mark a ``closing`` window ``failed`` with ``reason`` (it is not closed again)."""
        return self._end(
            window_id,
            owner,
            "failing",
            status="failed",
            reason=reason[:2000],
            closed_at=now_utc(now),
            claimed_by=None,
            claimed_until=None,
        )

    def _end(self, window_id: str, owner: str | None, doing: str, **values: Any) -> bool:
        from sqlalchemy import update

        from visiondrift.store._schema import WINDOWS

        query = update(WINDOWS).where(
            WINDOWS.c.window_id == window_id, WINDOWS.c.status == "closing"
        )
        if owner is not None:
            query = query.where(WINDOWS.c.claimed_by == owner)
        with self.store._write(f"{doing} window {window_id}") as conn:
            return bool(conn.execute(query.values(**values)).rowcount == 1)

    def recorded_run(self, window: Window) -> str | None:
        """The run already recorded for ``window`` (its id is the window's, or it has the
        window's dataset, start and end), or ``None``."""
        from sqlalchemy import select

        from visiondrift.store._schema import RUNS

        which = RUNS.c.run_id == window.window_id
        if window.end is not None:
            which = which | (
                (RUNS.c.dataset == window.dataset)
                & (RUNS.c.window_start == window.opened_at)
                & (RUNS.c.window_end == window.end)
            )
        query = select(RUNS.c.run_id).where(which).limit(1)
        return self.store._read(
            f"looking for the run of window {window.window_id}",
            lambda conn: conn.execute(query).scalar_one_or_none(),
        )

    # ------------------------------------------------------------ labels
    def join_labels(
        self, dataset: str, labels: Mapping[str, str], *, chunk: int = 500
    ) -> LabelResult:
        """Set the label of ``dataset``'s records with these record ids (one transaction)."""
        from sqlalchemy import bindparam, select, update

        from visiondrift.store._schema import RECORDS, WINDOWS

        ids = list(labels)
        joined = late = 0
        found: set[str] = set()
        with self.store._write(f"joining labels to the records of {dataset}") as conn:
            for start in range(0, len(ids), chunk):
                part = ids[start : start + chunk]
                rows = conn.execute(
                    select(RECORDS.c.record_id, WINDOWS.c.status)
                    .select_from(
                        RECORDS.join(WINDOWS, WINDOWS.c.window_id == RECORDS.c.window_id)
                    )
                    .where(RECORDS.c.dataset == dataset, RECORDS.c.record_id.in_(part))
                ).all()
                status: dict[str, str] = {}
                for record_id, window_status in rows:
                    # One id in an open and a closed window: it counts as joined.
                    if status.get(record_id) != "open":
                        status[record_id] = window_status
                if not status:
                    continue
                conn.execute(
                    update(RECORDS)
                    .where(RECORDS.c.dataset == dataset)
                    .where(RECORDS.c.record_id == bindparam("rid"))
                    .values(label=bindparam("new_label")),
                    [{"rid": rid, "new_label": labels[rid][:200]} for rid in status],
                )
                found.update(status)
                joined += sum(s == "open" for s in status.values())
                late += sum(s != "open" for s in status.values())
        return LabelResult(joined=joined, late=late, unknown=len(ids) - len(found))

    # ------------------------------------------------------------ reading
    def get(self, window_id: str) -> Window | None:
        """The window ``window_id``, or ``None``."""
        from sqlalchemy import select

        from visiondrift.store._schema import WINDOWS

        query = select(WINDOWS).where(WINDOWS.c.window_id == window_id)
        return self.store._read(
            f"reading window {window_id}",
            lambda conn: next((_window(r) for r in conn.execute(query).mappings()), None),
        )

    def open_window(self, dataset: str) -> Window | None:
        """``dataset``'s open window, or ``None``."""
        found = self.list(dataset, status="open", limit=1)
        return found[0] if found else None

    def list(
        self,
        dataset: str | None = None,
        *,
        status: WindowStatus | None = None,
        limit: int | None = 50,
    ) -> list[Window]:
        """Windows, most recently opened first (``dataset``, ``status``: only those)."""
        from visiondrift.store._rows import listing
        from visiondrift.store._schema import WINDOWS

        order = (WINDOWS.c.opened_at.desc(), WINDOWS.c.window_id)
        query = listing(WINDOWS, order, limit, dataset=dataset, status=status)
        return self.store._read(
            "listing windows", lambda conn: [_window(r) for r in conn.execute(query).mappings()]
        )

    def finished_after(
        self, dataset: str, after: tuple[datetime, str] | None, *, limit: int = 100
    ) -> list[Window]:
        """``dataset``'s closed and failed windows whose verdict was recorded after ``after``
        (``(closed_at, window_id)``, ``None``: all), in that order (the event streams)."""
        from sqlalchemy import and_, or_, select

        from visiondrift.store._schema import WINDOWS

        query = select(WINDOWS).where(
            WINDOWS.c.dataset == dataset,
            WINDOWS.c.status.in_(("closed", "failed")),
            WINDOWS.c.closed_at.is_not(None),
        )
        if after is not None:
            at, window_id = now_utc(after[0]), after[1]
            query = query.where(
                or_(
                    WINDOWS.c.closed_at > at,
                    and_(WINDOWS.c.closed_at == at, WINDOWS.c.window_id > window_id),
                )
            )
        query = query.order_by(WINDOWS.c.closed_at, WINDOWS.c.window_id).limit(limit)
        return self.store._read(
            "reading closed windows",
            lambda conn: [_window(r) for r in conn.execute(query).mappings()],
        )

    def last_finished(self, dataset: str) -> Window | None:
        """``dataset``'s most recently recorded closed or failed window, or ``None``."""
        from sqlalchemy import select

        from visiondrift.store._schema import WINDOWS

        query = (
            select(WINDOWS)
            .where(WINDOWS.c.dataset == dataset, WINDOWS.c.status.in_(("closed", "failed")))
            .where(WINDOWS.c.closed_at.is_not(None))
            .order_by(WINDOWS.c.closed_at.desc(), WINDOWS.c.window_id.desc())
            .limit(1)
        )
        return self.store._read(
            "reading the last closed window",
            lambda conn: next((_window(r) for r in conn.execute(query).mappings()), None),
        )

    def records(self, window_id: str, *, chunk: int = CHUNK) -> Iterator[StoredRecord]:
        """The records of ``window_id`` in the order they arrived, read ``chunk`` at a time."""
        from sqlalchemy import select

        from visiondrift.store._schema import RECORDS

        start = 0
        while True:
            query = (
                select(RECORDS)
                .where(RECORDS.c.window_id == window_id, RECORDS.c.seq >= start)
                .order_by(RECORDS.c.seq)
                .limit(chunk)
            )
            rows = self.store._read(
                f"reading the records of window {window_id}",
                lambda conn, q=query: [_record(r) for r in conn.execute(q).mappings()],
            )
            yield from rows
            if len(rows) < chunk:
                return
            start = rows[-1].seq + 1

    def count_records(self, dataset: str | None = None, *, window_id: str | None = None) -> int:
        """How many records are stored (of ``dataset``, of ``window_id``)."""
        from sqlalchemy import func, select

        from visiondrift.store._schema import RECORDS

        query = select(func.count()).select_from(RECORDS)
        if dataset is not None:
            query = query.where(RECORDS.c.dataset == dataset)
        if window_id is not None:
            query = query.where(RECORDS.c.window_id == window_id)
        return self.store._read("counting records", lambda conn: int(conn.execute(query).scalar_one()))

    def prune(self, older_than: datetime) -> int:
        """Delete the records of windows closed (or failed) before ``older_than``; the windows'
        rows stay. Returns how many records were deleted."""
        from sqlalchemy import delete, select

        from visiondrift.store._schema import RECORDS, WINDOWS

        old = select(WINDOWS.c.window_id).where(
            WINDOWS.c.status.in_(("closed", "failed")), WINDOWS.c.closed_at < now_utc(older_than)
        )
        with self.store._write("deleting the records of old windows") as conn:
            return int(conn.execute(delete(RECORDS).where(RECORDS.c.window_id.in_(old))).rowcount)


def _takes_records(w: Window, request: AppendRequest, at: datetime) -> bool:
    """Whether the open window ``w`` takes ``request``'s records."""
    if w.baseline_id != request.baseline_id:
        return False
    if w.deadline is not None and w.deadline <= at:
        return False
    return request.count_limit is None or w.n_records < request.count_limit
