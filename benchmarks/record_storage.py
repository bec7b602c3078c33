"""What writing the service's records costs, against the floor of its layout and one other layout.

Usage::

    python benchmarks/record_storage.py [--requests 2000] [--batch 100] [--classes 10]

The service's record writer (a process of its own) spends more CPU per record than its server
process does reading and checking the request (``benchmarks/service_load.py`` prints both). This
script measures, in one process, on fresh SQLite files (WAL, ``synchronous`` FULL, as the store
opens them), --requests requests of --batch probability records each with a unique id, committed
in groups of 1, 2 and 4 requests (the writer's group commit; under load it commits 1 to 3):

a. the store: ``store.windows.append_many`` (the writer's call), rows as the service sends them;
b. the floor of the store's layout: the same rows, built in Python and inserted into the same
   ``vd_records`` table (its key and its index of record ids) with the sqlite3 module and no
   SQLAlchemy: one multi-row INSERT per request, nothing else per transaction;
c. another layout, one row per request: the request's ids as one JSON text and its
   probabilities as one float32 matrix, plus an id table (dataset, record id -> row, position;
   without rowid) so that a label posted later still finds its record;
d. (c) without the id table (records posted without ids).

It prints the CPU time per request of each (``time.process_time``: the fsync'd COMMIT counts
for its CPU only) and each against (a). Nothing of (c) or (d) is in the store: they are the
figures for deciding whether a change of layout is worth its migration.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

DATASET = "load"
GROUPS = (1, 2, 4)


def _store_side(work: Path, blobs: Sequence[Sequence[bytes]], group: int) -> float:
    from visiondrift.profiles.builder import ProfileBuilder
    from visiondrift.store import HistoryStore
    from visiondrift.store._windows import AppendRequest, NewRecord

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
                [
                    NewRecord(f"r{n}-{i}", None, None, b, None, None, None, None)
                    for i, b in enumerate(row)
                ],
                1_000_000,
                None,
            )
            for n, row in enumerate(blobs)
        ]
        started = time.process_time()
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


def _records_layout(work: Path, blobs: Sequence[Sequence[bytes]], group: int) -> float:
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
                f"r{r}-{i}",
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
    work: Path, matrices: Sequence[bytes], batch: int, group: int, ids: bool
) -> float:
    schema = [
        "CREATE TABLE batches (window_id TEXT NOT NULL, first_seq INTEGER NOT NULL, "
        "n INTEGER NOT NULL, dataset TEXT NOT NULL, received_at TEXT NOT NULL, ids TEXT, "
        "probs BLOB NOT NULL, PRIMARY KEY (window_id, first_seq))",
        "CREATE TABLE record_ids (dataset TEXT NOT NULL, record_id TEXT NOT NULL, "
        "window_id TEXT NOT NULL, seq INTEGER NOT NULL, "
        "PRIMARY KEY (dataset, record_id, window_id, seq)) WITHOUT ROWID",
    ]
    conn = _connect(work / f"batches-{ids}-{group}.sqlite", schema)
    received = "2026-11-30 12:00:00.000000"
    window = "0" * 32
    marks = ", ".join(["(?, ?, ?, ?)"] * batch)

    def write(c: sqlite3.Connection, r: int) -> None:
        names = [f"r{r}-{i}" for i in range(batch)] if ids else None
        first = r * batch
        c.execute(
            "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?)",
            (window, first, batch, DATASET, received, json.dumps(names), matrices[r]),
        )
        if names is not None:
            c.execute(
                f"INSERT INTO record_ids VALUES {marks}",
                tuple(
                    v for i, name in enumerate(names) for v in (DATASET, name, window, first + i)
                ),
            )

    try:
        return _timed(conn, len(matrices), group, write)
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100, help="records per request")
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(args.classes), (args.requests, args.batch)).astype("<f4")
    blobs = [[row.tobytes() for row in request] for request in probs]
    matrices = [request.tobytes() for request in probs]
    print(
        f"{args.requests:,} requests of {args.batch} probability records ({args.classes} "
        "classes, unique ids); SQLite, WAL, synchronous FULL; CPU ms per request"
    )
    print(
        f"{'group':>5}  {'a. store':>9}  {'b. floor':>9}  {'c. per request + ids':>21}  "
        f"{'d. per request':>15}"
    )
    per = 1000 / args.requests
    with tempfile.TemporaryDirectory(prefix="vd-records-") as tmp:
        work = Path(tmp)
        for group in GROUPS:
            a = _store_side(work, blobs, group) * per
            b = _records_layout(work, blobs, group) * per
            c = _request_layout(work, matrices, args.batch, group, ids=True) * per
            d = _request_layout(work, matrices, args.batch, group, ids=False) * per
            cells = [f"{a:9.2f}"] + [f"{x:6.2f} ({x / a:4.2f})" for x in (b, c, d)]
            print(f"{group:>5}  {cells[0]}  {cells[1]:>9}  {cells[2]:>21}  {cells[3]:>15}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
