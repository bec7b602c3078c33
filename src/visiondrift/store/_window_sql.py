"""How an append writes: the statements of the store's record writer, built once per dialect
and driver, and the rows it inserts (the hot path of the service)."""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from visiondrift.store._window_rows import BLOCK_JSON, NewRecord, RecordBlock, Window

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "RECORD_COLUMNS",
    "AppendStatements",
    "Rows",
    "append_statements",
    "bad_records",
    "insert_rows",
    "lock_dataset",
    "window_values",
]


def window_values(w: Window) -> dict[str, Any]:
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


#: The columns of ``vd_records``, in the order the rows of an append give them.
RECORD_COLUMNS = (
    "window_id",
    "seq",
    "dataset",
    "record_id",
    "received_at",
    "ts",
    "label",
    "probs",
    "measured",
    "bad_reason",
    "detail",
    "meta",
)


class AppendStatements(NamedTuple):
    """What an append executes, built once per dialect and driver (each statement carries its
    compiled form and cache key from then on: building them per transaction was a tenth of the
    writer's time)."""

    #: The open windows of a dataset (locked on PostgreSQL): driver-level SQL, its columns,
    #: and how each is read (``None``: as the driver gives it).
    open_windows: str
    window_columns: tuple[str, ...]
    window_readers: tuple[Callable[[Any], Any] | None, ...]
    insert_window: Any
    update_window: Any
    #: The same for a window whose status and end stay (most appends): an UPDATE that sets
    #: the indexed columns rewrites their index entries, even to the same values.
    update_counts: str
    #: The driver-level INSERTs of a record row and a block row, the INSERT of a block's id
    #: rows (from the block's ids), and how this dialect binds a time.
    insert_records: str
    insert_blocks: str
    insert_ids: str
    bind_time: Callable[[datetime], Any]


_STATEMENTS: dict[tuple[str, str, str], AppendStatements] = {}


def append_statements(dialect: Any) -> AppendStatements:
    key = (dialect.name, dialect.driver, dialect.paramstyle)
    found = _STATEMENTS.get(key)
    if found is None:
        found = _STATEMENTS[key] = _build_statements(dialect)
    return found


def _build_statements(dialect: Any) -> AppendStatements:
    from sqlalchemy import DateTime, bindparam, insert, update

    from visiondrift.store._schema import RECORD_BLOCKS, RECORDS, WINDOWS

    c = WINDOWS.c
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    # The two statements of every append, at the driver level (SQLAlchemy's statement
    # machinery was a fifth of the writer's time); a time read back as this dialect reads it.
    names = [col.name for col in WINDOWS.columns]
    open_windows = (
        f"SELECT {', '.join(names)} FROM {WINDOWS.name} WHERE dataset = {mark} "
        "AND status = 'open' ORDER BY opened_at"
    )
    if dialect.name == "postgresql":
        open_windows += " FOR UPDATE"
    read_time = DateTime(timezone=True).dialect_impl(dialect).result_processor(dialect, None)
    times = {col.name for col in WINDOWS.columns if isinstance(col.type, DateTime)}
    readers = tuple(read_time if name in times else None for name in names)
    update_window = (
        update(WINDOWS)
        .where(c.window_id == bindparam("w_id"), c.status == "open")
        .values(
            status=bindparam("w_status"),
            deadline=bindparam("w_deadline"),
            n_records=bindparam("w_records"),
            n_bad=bindparam("w_bad"),
        )
    )
    update_counts = (
        f"UPDATE {WINDOWS.name} SET n_records = {mark}, n_bad = {mark} "
        f"WHERE window_id = {mark} AND status = 'open'"
    )

    def insert_into(table: Any) -> str:
        names = [col.name for col in table.columns]
        return (
            f"INSERT INTO {table.name} ({', '.join(names)}) "
            f"VALUES ({', '.join([mark] * len(names))})"
        )

    assert tuple(col.name for col in RECORDS.columns) == RECORD_COLUMNS
    process = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
    return AppendStatements(
        open_windows,
        tuple(names),
        readers,
        insert(WINDOWS),
        update_window,
        update_counts,
        insert_into(RECORDS),
        insert_into(RECORD_BLOCKS),
        _insert_ids(dialect.name, mark),
        process if process is not None else _same,
    )


def _insert_ids(dialect: str, mark: str) -> str:
    """The INSERT of a block's id rows from its ids as stored (a JSON array; no row for a
    record without one): the database expands the array, so no Python object is made or bound
    per id (with sqlite3 alone, 0.24 ms instead of 0.29 ms of CPU per request of 100 ids,
    commit included)."""
    from visiondrift.store._schema import RECORD_IDS

    head = f"INSERT INTO {RECORD_IDS.name} (dataset, record_id, window_id, seq, pos) "
    if dialect == "postgresql":
        return (
            head + f"SELECT {mark}, e.value, {mark}, {mark}, e.n - 1 "
            f"FROM json_array_elements_text({mark}::json) WITH ORDINALITY AS e(value, n) "
            "WHERE e.value IS NOT NULL"
        )
    return (
        head + f"SELECT {mark}, value, {mark}, {mark}, key FROM json_each({mark}) "
        "WHERE value IS NOT NULL"
    )


def _same(value: datetime) -> Any:
    return value


#: Rows per INSERT statement (at most 12 parameters each; SQLite allows 32,766 per statement).
_ROWS_PER_INSERT = 500


def insert_rows(cursor: Any, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert rows with multi-row ``INSERT ... VALUES (...), (...)`` statements on the
    driver's ``cursor``.

    SQLAlchemy's per-row parameter processing was two thirds of the writer's time, and the
    driver's own ``executemany`` steps (and gives up and takes back the interpreter lock) once
    per row; one statement per 500 rows does both once.
    """
    head, _, one = sql.partition(" VALUES ")
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        part = rows[start : start + _ROWS_PER_INSERT]
        statement = f"{head} VALUES {', '.join([one] * len(part))}"
        cursor.execute(statement, tuple(itertools.chain.from_iterable(part)))


class Rows(NamedTuple):
    """The rows one append writes: record rows, block rows, and per block with ids its
    dataset, window, seq and ids (the parameters of ``insert_ids``)."""

    records: builtins.list[tuple[Any, ...]]
    blocks: builtins.list[tuple[Any, ...]]
    ids: builtins.list[tuple[Any, ...]]

    def add_block(
        self,
        block: RecordBlock,
        window_id: str,
        seq: int,
        dataset: str,
        received: Any,
    ) -> None:
        dumps = BLOCK_JSON.encode
        ids = None if block.ids is None else dumps(block.ids)
        ts = None
        if block.ts is not None:
            ts = dumps([None if t is None else t.isoformat() for t in block.ts])
        meta = None
        if block.meta is not None:
            meta = "[" + ",".join("null" if m is None else m for m in block.meta) + "]"
        self.blocks.append(
            (
                window_id,
                seq,
                len(block),
                dataset,
                received,
                block.classes,
                block.probs,
                ids,
                None if block.labels is None else dumps(block.labels),
                ts,
                meta,
            )
        )
        if ids is not None:
            self.ids.append((dataset, window_id, seq, ids))


def bad_records(rows: Sequence[NewRecord] | RecordBlock) -> int:
    if isinstance(rows, RecordBlock):
        return 0
    return sum(r.bad_reason is not None for r in rows)


def lock_dataset(conn: Connection, dataset: str) -> None:
    """PostgreSQL: one appender per dataset at a time (until the transaction ends), so two
    processes never open two windows of one dataset. SQLite's writers are serialised anyway."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": "vd_window:" + dataset}
        )
