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

import builtins
import contextlib
import heapq
import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from visiondrift.store._rows import now_utc
from visiondrift.store._window_blocks import (
    PredictionBlock,
    PredictionRow,
    StoredBlock,
    first_seq,
    label_blocks,
    label_rows,
    seq_of,
)
from visiondrift.store._window_rows import (
    AppendRequest,
    AppendResult,
    LabelResult,
    Measured,
    NewRecord,
    RecordBlock,
    StoredRecord,
    Window,
    WindowStatus,
    decode_measured,
    decode_probs,
    encode_measured,
    encode_probs,
    encode_probs_matrix,
    record_of,
    window_of,
)
from visiondrift.store._window_sql import (
    AppendStatements,
    Rows,
    append_statements,
    bad_records,
    insert_rows,
    lock_dataset,
    window_values,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from visiondrift.store._store import HistoryStore

__all__ = [
    "AppendRequest",
    "AppendResult",
    "LabelResult",
    "Measured",
    "NewRecord",
    "PredictionBlock",
    "PredictionRow",
    "RecordBlock",
    "StoredRecord",
    "Window",
    "WindowStatus",
    "Windows",
    "decode_measured",
    "decode_probs",
    "encode_measured",
    "encode_probs",
    "encode_probs_matrix",
]

#: Records read per query when a window's records are iterated.
CHUNK = 2000


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
        rows: Sequence[NewRecord] | RecordBlock,
        *,
        count_limit: int | None,
        seconds_limit: float | None,
        now: datetime | None = None,
    ) -> AppendResult:
        """Write ``rows`` into ``dataset``'s open window(s), opening and closing windows as the
        limits say (one transaction). Rows of probabilities only are kept as one block."""
        block = None if isinstance(rows, RecordBlock) else RecordBlock.of_rows(rows)
        request = AppendRequest(
            dataset, baseline_id, rows if block is None else block, count_limit, seconds_limit
        )
        return self.append_many([request], now=now)[0]

    def append_many(
        self, requests: Sequence[AppendRequest], *, now: datetime | None = None
    ) -> builtins.list[AppendResult]:
        """Write several requests' records in ONE transaction (the service's group commit);
        returns each request's result, in order. All land or none does."""
        at = now_utc(now)
        results: dict[int, AppendResult] = {}
        by_dataset: dict[str, builtins.list[int]] = {}
        for i, request in enumerate(requests):
            by_dataset.setdefault(request.dataset, []).append(i)
        with (
            self.store._write("writing posted records") as conn,
            # The driver's own cursor: SQLAlchemy's execution machinery (a result object per
            # statement...) was a fifth of the record writer's CPU.
            contextlib.closing(conn.connection.cursor()) as cursor,
        ):
            statements = append_statements(conn.dialect)
            out = Rows([], [], [])
            # Datasets are locked in name order, so two processes never wait for each other.
            for dataset in sorted(by_dataset):
                indexes = by_dataset[dataset]
                done = self._append_dataset(
                    conn, cursor, statements, dataset, [requests[i] for i in indexes], at, out
                )
                results.update(zip(indexes, done, strict=True))
            insert_rows(cursor, statements.insert_records, out.records)
            insert_rows(cursor, statements.insert_blocks, out.blocks)
            if out.ids:
                cursor.executemany(statements.insert_ids, out.ids)
        return [results[i] for i in range(len(requests))]

    def _append_dataset(
        self,
        conn: Connection,
        cursor: Any,
        statements: AppendStatements,
        dataset: str,
        requests: Sequence[AppendRequest],
        at: datetime,
        out: Rows,
    ) -> builtins.list[AppendResult]:
        """One dataset's requests of a group: its open window read (and locked) once, the
        records cut into windows in memory, each window written once."""
        when = statements.bind_time
        lock_dataset(conn, dataset)
        names, readers = statements.window_columns, statements.window_readers
        found = [
            window_of(
                {
                    name: value if read is None else read(value)
                    for name, read, value in zip(names, readers, row, strict=True)
                }
            )
            for row in cursor.execute(statements.open_windows, (dataset,)).fetchall()
        ]
        # Another process (or host) may have opened the window a moment "later" by its clock
        # than this transaction's time, taken before it waited for the lock: a window never
        # ends before it starts.
        at = max([at, *(w.opened_at for w in found)])
        final: dict[str, Window] = {}
        new: set[str] = set()
        received = when(at)
        current: Window | None = None
        results: builtins.list[AppendResult] = []

        def close(w: Window) -> Window:
            # Another baseline, past its deadline, full under a lower limit (or a second open
            # window, which the lock prevents): it closes now.
            end = w.deadline if w.deadline is not None and w.deadline <= at else at
            closed = replace(w, status="closing", deadline=end)
            final[w.window_id] = closed
            return closed

        for number, request in enumerate(requests):
            closing: builtins.list[str] = []
            if number == 0:
                for w in found:
                    if current is None and _takes_records(w, request, at):
                        current = w
                    else:
                        closing.append(close(w).window_id)
            elif current is not None and not _takes_records(current, request, at):
                closing.append(close(current).window_id)
                current = None
            limit = request.count_limit
            touched: builtins.list[Window] = []
            i, n = 0, len(request.rows)
            while i < n:
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
                    new.add(current.window_id)
                room = n - i if limit is None else max(0, limit - current.n_records)
                take = request.rows[i : i + room]
                wid, seq = current.window_id, current.n_records
                if isinstance(take, RecordBlock):
                    bad = 0
                    out.add_block(take, wid, seq, dataset, received)
                else:
                    bad = sum(r.bad_reason is not None for r in take)
                    out.records.extend(
                        (
                            wid,
                            seq + k,
                            dataset,
                            r.record_id,
                            received,
                            None if r.ts is None else when(r.ts),
                            r.label,
                            r.probs,
                            r.measured,
                            r.bad_reason,
                            r.detail,
                            r.meta,
                        )
                        for k, r in enumerate(take)
                    )
                current = replace(
                    current, n_records=current.n_records + len(take), n_bad=current.n_bad + bad
                )
                i += len(take)
                if limit is not None and current.n_records >= limit:
                    current = replace(current, status="closing", deadline=at)
                    closing.append(current.window_id)
                final[current.window_id] = current
                touched.append(current)
                if current.status == "closing":
                    current = None
            results.append(
                AppendResult(
                    accepted=n,
                    bad=bad_records(request.rows),
                    window=touched[-1] if touched else current,
                    windows=tuple(dict.fromkeys(w.window_id for w in touched)),
                    closing=tuple(closing),
                )
            )
        created = [window_values(w) for w in final.values() if w.window_id in new]
        was = {w.window_id: w for w in found}
        changed: builtins.list[dict[str, Any]] = []
        counted: builtins.list[tuple[int, int, str]] = []
        for w in final.values():
            if w.window_id in new:
                continue
            old = was[w.window_id]
            if w.status == old.status and w.deadline == old.deadline:
                counted.append((w.n_records, w.n_bad, w.window_id))
            else:
                changed.append(
                    {
                        "w_id": w.window_id,
                        "w_records": w.n_records,
                        "w_bad": w.n_bad,
                        "w_status": w.status,
                        "w_deadline": w.deadline,
                    }
                )
        if created:
            conn.execute(statements.insert_window, created)
        if changed:
            conn.execute(statements.update_window, changed)
        if counted:
            cursor.executemany(statements.update_counts, counted)
        return results

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
        # One window per transaction: a closer never holds one window's row while it waits for
        # another's (an appender may hold several, in dataset order), so they never deadlock.
        changed: list[Window] = []
        for window_id in candidates:
            with self.store._write("closing a due window") as conn:
                n = conn.execute(
                    update(WINDOWS)
                    .where(WINDOWS.c.window_id == window_id)
                    .where(which)
                    .values(status="closing")
                ).rowcount
                if n == 1:
                    row = conn.execute(select(WINDOWS).where(WINDOWS.c.window_id == window_id))
                    changed.append(window_of(row.mappings().one()))
        return changed

    def close_now(self, dataset: str, *, now: datetime | None = None) -> Window | None:
        """Make ``dataset``'s open window ``closing`` now (closed by hand); ``None`` when it has
        none."""
        from sqlalchemy import select, update

        from visiondrift.store._schema import WINDOWS

        at = now_utc(now)
        with self.store._write(f"closing the open window of {dataset}") as conn:
            lock_dataset(conn, dataset)
            found = conn.execute(
                select(WINDOWS).where(WINDOWS.c.dataset == dataset, WINDOWS.c.status == "open")
            ).mappings()
            rows = found.all()
            ids = [r["window_id"] for r in rows]
            if not ids:
                return None
            at = max([at, *(window_of(r).opened_at for r in rows)])
            conn.execute(
                update(WINDOWS)
                .where(WINDOWS.c.window_id.in_(ids), WINDOWS.c.status == "open")
                .values(status="closing", deadline=at)
            )
            row = conn.execute(select(WINDOWS).where(WINDOWS.c.window_id == ids[0])).mappings()
            return window_of(row.one())

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
                    return window_of(row.mappings().one())
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
        """Set the label of ``dataset``'s records with these record ids (one transaction): in
        their rows, and in their blocks."""
        ids = list(labels)
        joined = late = 0
        found: set[str] = set()
        with self.store._write(f"joining labels to the records of {dataset}") as conn:
            for start in range(0, len(ids), chunk):
                part = ids[start : start + chunk]
                status: dict[str, str] = {}
                for record_id, window_status in itertools.chain(
                    label_rows(conn, dataset, part, labels),
                    label_blocks(conn, dataset, part, labels),
                ):
                    # One id in an open and a closed window: it counts as joined.
                    if status.get(record_id) != "open":
                        status[record_id] = window_status
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
            lambda conn: next((window_of(r) for r in conn.execute(query).mappings()), None),
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
    ) -> builtins.list[Window]:
        """Windows, most recently opened first (``dataset``, ``status``: only those)."""
        from visiondrift.store._rows import listing
        from visiondrift.store._schema import WINDOWS

        order = (WINDOWS.c.opened_at.desc(), WINDOWS.c.window_id)
        query = listing(WINDOWS, order, limit, dataset=dataset, status=status)
        return self.store._read(
            "listing windows", lambda conn: [window_of(r) for r in conn.execute(query).mappings()]
        )

    def finished_after(
        self,
        dataset: str,
        after: tuple[datetime, str] | None,
        *,
        limit: int = 100,
        newest_first: bool = False,
    ) -> builtins.list[Window]:
        """``dataset``'s closed and failed windows whose verdict was recorded after ``after``
        (``(closed_at, window_id)``, ``None``: all), in that order (the event streams), at most
        ``limit`` (``newest_first``: the last ones, newest first)."""
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
        if newest_first:
            query = query.order_by(WINDOWS.c.closed_at.desc(), WINDOWS.c.window_id.desc())
        else:
            query = query.order_by(WINDOWS.c.closed_at, WINDOWS.c.window_id)
        query = query.limit(limit)
        return self.store._read(
            "reading closed windows",
            lambda conn: [window_of(r) for r in conn.execute(query).mappings()],
        )

    def last_finished(self, dataset: str) -> Window | None:
        """``dataset``'s most recently recorded closed or failed window, or ``None``."""
        found = self.finished_after(dataset, None, limit=1, newest_first=True)
        return found[0] if found else None

    def records(self, window_id: str, *, chunk: int = CHUNK) -> Iterator[StoredRecord]:
        """The records of ``window_id`` in the order they arrived (rows and blocks alike),
        read ``chunk`` at a time."""
        from visiondrift.store._schema import RECORDS

        rows = self._by_seq(window_id, RECORDS, RECORDS.columns, chunk)
        blocks = (r for block in self._blocks(window_id, chunk) for r in block.records())
        return heapq.merge((record_of(r._mapping) for r in rows), blocks, key=seq_of)

    def prediction_parts(
        self, window_id: str, *, chunk: int = 10 * CHUNK
    ) -> Iterator[builtins.list[PredictionRow] | PredictionBlock]:
        """The records of ``window_id`` as a profile of predictions needs them, in the order
        they arrived: each block as it is stored (a :class:`PredictionBlock`: its matrix is
        not cut into records), the records kept a row each as lists of at most ``chunk``
        plain rows, ``(seq, record_id, label, probs, bad_reason, detail)`` with ``probs`` as
        stored (see :func:`encode_probs`). A window of 100,000 records is read several times
        faster than through :meth:`records`."""
        from visiondrift.store._schema import RECORDS

        c = RECORDS.c
        columns = (c.seq, c.record_id, c.label, c.probs, c.bad_reason, c.detail)
        streams: builtins.list[Iterator[PredictionRow | PredictionBlock]] = [
            (tuple(r) for r in self._by_seq(window_id, RECORDS, columns, chunk)),
            (block.for_predictions() for block in self._blocks(window_id, chunk)),
        ]
        run: builtins.list[PredictionRow] = []
        for part in heapq.merge(*streams, key=first_seq):
            if isinstance(part, PredictionBlock):
                if run:
                    yield run
                    run = []
                yield part
            else:
                run.append(part)
                if len(run) >= chunk:
                    yield run
                    run = []
        if run:
            yield run

    def _blocks(self, window_id: str, records: int) -> Iterator[StoredBlock]:
        """The blocks of ``window_id`` in order, read about ``records`` records at a time (how
        many blocks make that many is not known before: a few at a time)."""
        from visiondrift.store._schema import RECORD_BLOCKS

        columns = [RECORD_BLOCKS.c[name] for name in StoredBlock._fields[1:]]  # all but window_id
        limit = max(1, min(64, records // 100))
        for row in self._by_seq(window_id, RECORD_BLOCKS, columns, limit):
            yield StoredBlock(window_id, *row)

    def _by_seq(
        self, window_id: str, table: Any, columns: Iterable[Any], limit: int
    ) -> Iterator[Any]:
        """The rows of ``table`` (``vd_records``, ``vd_record_blocks``) of ``window_id`` in
        ``seq`` order, ``columns`` of them (``seq`` among them), ``limit`` per query."""
        from sqlalchemy import select

        start = 0
        while True:
            query = (
                select(*columns)
                .where(table.c.window_id == window_id, table.c.seq >= start)
                .order_by(table.c.seq)
                .limit(limit)
            )

            def work(conn: Connection, q: Any = query) -> builtins.list[Any]:
                return builtins.list(conn.execute(q).all())

            found = self.store._read(f"reading the records of window {window_id}", work)
            yield from found
            if len(found) < limit:
                return
            start = found[-1].seq + 1

    def count_records(self, dataset: str | None = None, *, window_id: str | None = None) -> int:
        """How many records are stored (of ``dataset``, of ``window_id``)."""
        from sqlalchemy import func, select

        from visiondrift.store._schema import RECORD_BLOCKS, RECORDS

        def where(query: Any, table: Any) -> Any:
            if dataset is not None:
                query = query.where(table.c.dataset == dataset)
            if window_id is not None:
                query = query.where(table.c.window_id == window_id)
            return query

        rows = where(select(func.count()).select_from(RECORDS), RECORDS)
        blocks = where(select(func.coalesce(func.sum(RECORD_BLOCKS.c.n), 0)), RECORD_BLOCKS)

        def work(conn: Connection) -> int:
            return int(conn.execute(rows).scalar_one()) + int(conn.execute(blocks).scalar_one())

        return self.store._read("counting records", work)

    def prune(self, older_than: datetime) -> int:
        """Delete the records of windows closed (or failed) before ``older_than``; the windows'
        rows stay. Returns how many records were deleted."""
        from sqlalchemy import delete, func, select

        from visiondrift.store._schema import RECORD_BLOCKS, RECORD_IDS, RECORDS, WINDOWS

        old = select(WINDOWS.c.window_id).where(
            WINDOWS.c.status.in_(("closed", "failed")), WINDOWS.c.closed_at < now_utc(older_than)
        )
        blocks = RECORD_BLOCKS.c
        with self.store._write("deleting the records of old windows") as conn:
            n = int(conn.execute(delete(RECORDS).where(RECORDS.c.window_id.in_(old))).rowcount)
            n += int(
                conn.execute(
                    select(func.coalesce(func.sum(blocks.n), 0)).where(blocks.window_id.in_(old))
                ).scalar_one()
            )
            conn.execute(delete(RECORD_IDS).where(RECORD_IDS.c.window_id.in_(old)))
            conn.execute(delete(RECORD_BLOCKS).where(blocks.window_id.in_(old)))
            return n


def _takes_records(w: Window, request: AppendRequest, at: datetime) -> bool:
    """Whether the open window ``w`` takes ``request``'s records."""
    if w.baseline_id != request.baseline_id:
        return False
    if w.deadline is not None and w.deadline <= at:
        return False
    return request.count_limit is None or w.n_records < request.count_limit
