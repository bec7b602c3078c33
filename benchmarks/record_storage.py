"""What writing the service's records costs, against the floor of its layout and the layout before.

Usage::

    python benchmarks/record_storage.py [--requests 2000] [--batch 100] [--classes 10]
                                        [--ids sequential|time|random]

The service's record writer (a process of its own) spends CPU on every request
(``benchmarks/service_load.py`` prints it per process). This script measures, in one process,
on fresh SQLite files (WAL, ``synchronous`` FULL, as the store opens them), --requests requests
of --batch probability records each with a unique id, committed in groups of 1, 2 and 4
requests (the writer's group commit; under load it commits 1 to 3):

a. the store: ``store.windows.append_many`` (the writer's call, on one held connection as
   the writer makes it) with the requests as the service sends them (one
   :class:`RecordBlock` each: a row per request in ``vd_record_blocks``, a row per record id
   in ``vd_record_ids``, made by SQLite from the block's ids as JSON);
b. the floor of that layout: the same rows inserted into the same two tables the same way
   with the sqlite3 module and no SQLAlchemy, nothing else per transaction;
c. the layout before (revision 0007): a row per record in ``vd_records`` (its key and its
   index of record ids), inserted like (b);
d. (b) without the id rows (records posted without ids).

It prints the CPU time per request of each (``time.process_time``: the fsync'd COMMIT counts
for its CPU only) and each against (a).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

DATASET = "load"
GROUPS = (1, 2, 4)


def _store_side(
    work: Path, blobs: Sequence[Sequence[bytes]], names: Sequence[Sequence[str]], group: int
) -> float:
    from visiondrift.profiles.builder import ProfileBuilder
    from visiondrift.store import HistoryStore
    from visiondrift.store._windows import AppendRequest, RecordBlock

    classes = len(np.frombuffer(blobs[0][0], dtype="<f4"))
    rng = np.random.default_rng(1)
    builder = ProfileBuilder(dataset=DATASET)
    for i, p in enumerate(rng.dirichlet(np.ones(classes), 500)):
        builder.add_prediction(f"b{i}", [float(x) for x in p])
    with HistoryStore(str(work / f"store-{group}.sqlite")) as store:
        store.migrate()
        baseline_id = store.baselines.add(DATASET, builder.build(), name="load").baseline_id
        requests = [
            AppendRequest(
                DATASET,
                baseline_id,
                RecordBlock(b"".join(row), classes, ids=tuple(names[n])),
                1_000_000,
                None,
            )
            for n, row in enumerate(blobs)
        ]
        started = time.process_time()
        with store.held_writer():  # as the record writer writes: on one connection
            for k in range(0, len(requests), group):
                store.windows.append_many(requests[k : k + group])
        return time.process_time() - started


def _connect(path: Path, schema: Sequence[str]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    for statement in schema:
        conn.execute(statement)
    return conn


def _timed(
    conn: sqlite3.Connection, n: int, group: int, write: Callable[[sqlite3.Connection, int], None]
) -> float:
    started = time.process_time()
    for k in range(0, n, group):
        conn.execute("BEGIN")
        for r in range(k, min(n, k + group)):
            write(conn, r)
        conn.execute("COMMIT")
    return time.process_time() - started


def _records_layout(
    work: Path, blobs: Sequence[Sequence[bytes]], names: Sequence[Sequence[str]], group: int
) -> float:
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateIndex, CreateTable

    from visiondrift.store._schema import RECORDS

    dialect = sqlite.dialect()
    schema = [str(CreateTable(RECORDS).compile(dialect=dialect))]
    schema += [str(CreateIndex(ix).compile(dialect=dialect)) for ix in RECORDS.indexes]
    conn = _connect(work / f"records-{group}.sqlite", schema)
    columns = len(RECORDS.columns)
    received = "2026-11-30 12:00:00.000000"
    window = "0" * 32

    def write(c: sqlite3.Connection, r: int) -> None:
        row = blobs[r]
        rows = [
            (
                window,
                r * len(row) + i,
                DATASET,
                names[r][i],
                received,
                None,
                None,
                b,
                None,
                None,
                None,
                None,
            )
            for i, b in enumerate(row)
        ]
        values = ", ".join(["(" + ", ".join(["?"] * columns) + ")"] * len(rows))
        c.execute(
            f"INSERT INTO {RECORDS.name} VALUES {values}",
            tuple(itertools.chain.from_iterable(rows)),
        )

    try:
        return _timed(conn, len(blobs), group, write)
    finally:
        conn.close()


def _request_layout(
    work: Path,
    matrices: Sequence[bytes],
    names_of: Sequence[Sequence[str]],
    classes: int,
    group: int,
    ids: bool,
) -> float:
    from sqlalchemy.dialects import sqlite
    from sqlalchemy.schema import CreateTable

    from visiondrift.store._schema import RECORD_BLOCKS, RECORD_IDS

    dialect = sqlite.dialect()
    schema = [str(CreateTable(t).compile(dialect=dialect)) for t in (RECORD_BLOCKS, RECORD_IDS)]
    conn = _connect(work / f"blocks-{ids}-{group}.sqlite", schema)
    received = "2026-11-30 12:00:00.000000"
    window = "0" * 32
    batch = len(names_of[0])
    block = ", ".join(["?"] * len(RECORD_BLOCKS.columns))

    def write(c: sqlite3.Connection, r: int) -> None:
        names = names_of[r] if ids else None
        first = r * batch
        text = None if names is None else json.dumps(names, separators=(",", ":"))
        values = (window, first, batch, DATASET, received, classes, matrices[r], text)
        c.execute(f"INSERT INTO {RECORD_BLOCKS.name} VALUES ({block})", (*values, None, None, None))
        if text is not None:  # the id rows made from the ids' JSON, as the store does
            c.execute(
                f"INSERT INTO {RECORD_IDS.name} SELECT ?, value, ?, ?, key FROM json_each(?)",
                (DATASET, window, first, text),
            )

    try:
        return _timed(conn, len(matrices), group, write)
    finally:
        conn.close()


def _name(kind: str, request: int, index: int) -> str:
    if kind == "random":
        return uuid.uuid4().hex
    if kind == "time":
        return f"{time.time_ns():016x}{uuid.uuid4().hex[:12]}"
    return f"r{request}-{index}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100, help="records per request")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument(
        "--ids",
        choices=["sequential", "time", "random"],
        default="sequential",
        help="record ids: request-index (default), time-ordered (16 hex digits of the time, then "
        "random: as a UUIDv7 or a ULID sorts) or random (as a UUIDv4)",
    )
    args = parser.parse_args(argv)
    names = [[_name(args.ids, r, i) for i in range(args.batch)] for r in range(args.requests)]

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(args.classes), (args.requests, args.batch)).astype("<f4")
    blobs = [[row.tobytes() for row in request] for request in probs]
    matrices = [request.tobytes() for request in probs]
    print(
        f"{args.requests:,} requests of {args.batch} probability records ({args.classes} "
        f"classes, unique {args.ids} ids); SQLite, WAL, synchronous FULL; CPU ms per request"
    )
    print(
        f"{'group':>5}  {'a. store':>9}  {'b. floor':>14}  {'c. row per record':>17}  "
        f"{'d. floor, no ids':>16}"
    )
    per = 1000 / args.requests
    with tempfile.TemporaryDirectory(prefix="vd-records-") as tmp:
        work = Path(tmp)
        for group in GROUPS:
            a = _store_side(work, blobs, names, group) * per
            b = _request_layout(work, matrices, names, args.classes, group, ids=True) * per
            c = _records_layout(work, blobs, names, group) * per
            d = _request_layout(work, matrices, names, args.classes, group, ids=False) * per
            cells = [f"{a:9.2f}"] + [f"{x:6.2f} ({x / a:4.2f})" for x in (b, c, d)]
            print(f"{group:>5}  {cells[0]}  {cells[1]:>14}  {cells[2]:>17}  {cells[3]:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
