"""Speed of the history store: recording a run, trends over many runs, a rolling baseline.

Usage::

    python benchmarks/store_speed.py [--work DIR] [--repeat 5] [--runs 10000] [--hours 720]
                                     [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

Makes (once, cached in --work) 1,000 JPEGs of 224x224 (the batch), 500 more (the baseline) and
24 folders of 200 JPEGs of 128x128 (hourly batches), all random crops of the real photos shipped
in pip packages, then prints, each against a baseline measured in the same run:

a. Recording overhead: ``Monitor(baseline).run(batch)`` of the 1,000 images with and without
   ``history=HistoryStore(SQLite file)`` (which records the run, reads the trends for the page
   and checks slow drift over the 15 latest runs, 15 being stored before the first timed run),
   alternating, median of --repeat runs; ``store.record(result)`` and the slow-drift check alone
   (median of 20), in ms. Targets: the recording (``store.record``) <= 5% of the run without a
   history (the issue's); the whole history (with / without) <= 1.10 (proposed, see RESULTS.md).
b. Trends over --runs stored runs, on SQLite and PostgreSQL: the 1,000-image run's real report
   and metric rows stored under --runs run ids an hour apart (current values jittered by 1%),
   inserted in bulk; then ``store.trend("brightness", dataset=..., last_runs=30)``, the whole
   series (``last_runs=--runs``), the trends of every metric over 29 runs (what a monitor run's
   page asks for) and ``runs(limit=50)``. Target: each < 1 s.
c. Rolling baseline: --hours stored hourly profiles (24 distinct real profiles of 200 images,
   each stored --hours/24 times) read with ``store.profiles(dataset=...)`` and merged with
   ``Profile.merge_all``, on both databases; merging the same profiles from memory is the
   baseline. Target: < 10 s.

The PostgreSQL part uses a fresh schema, dropped at the end; it is skipped (and said so) when the
server cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from visiondrift import profile
from visiondrift.app import Monitor, RunResult
from visiondrift.demo.samples import make_dataset, real_photos
from visiondrift.profiles import Profile
from visiondrift.store import HistoryStore
from visiondrift.store._codec import pack
from visiondrift.store._rows import metric_rows, run_row

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def ensure_data(work: Path) -> dict[str, Any]:
    sets = {
        "batch": (work / "batch", 1000, (224, 224), 7),
        "baseline": (work / "baseline", 500, (224, 224), 8),
    }
    sets.update(
        {
            f"hour{h:02d}": (work / "hourly" / f"h{h:02d}", 200, (128, 128), 100 + h)
            for h in range(24)
        }
    )
    photos = None
    for folder, n, size, seed in sets.values():
        if folder.is_dir() and len(list(folder.iterdir())) == n:
            continue
        photos = photos or real_photos()
        print(f"making {n} JPEGs of {size[0]}x{size[1]} in {folder} ...", flush=True)
        make_dataset(folder, n, size=size, seed=seed, photos=photos, quality=90, min_crop=0.5)
    return {name: folder for name, (folder, *_rest) in sets.items()}


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    return statistics.median(timed(fn) for _ in range(repeat))


# --- (a) ------------------------------------------------------------------------------------


def recording_overhead(
    baseline: Profile, batch: Path, folder: Path, repeat: int
) -> tuple[bool, RunResult]:
    store = HistoryStore(folder / "overhead.sqlite")
    plain = Monitor(baseline)
    recorded = Monitor(baseline, history=store)
    result = plain.run(batch)  # warm-up: page cache, imports, worker start-up code
    first = recorded.run(batch)  # and the store's creation
    # A full history from the start: every timed run's slow-drift check pools its 15 latest runs.
    for _ in range(15):
        store.record(replace(first, run_id=uuid.uuid4().hex))
    times: dict[str, list[float]] = {"without": [], "with": []}
    for i in range(repeat):
        order = [("without", plain), ("with", recorded)]
        for name, monitor in order if i % 2 == 0 else order[::-1]:
            times[name].append(timed(lambda m=monitor: m.run(batch)))  # type: ignore[misc]
    without = statistics.median(times["without"])
    with_history = statistics.median(times["with"])
    ratio = with_history / without
    # Each round's pair ran back to back: their difference shares the round's load.
    paired = statistics.median(w - o for w, o in zip(times["with"], times["without"], strict=True))
    record_ms = [
        1000 * timed(lambda: store.record(replace(result, run_id=uuid.uuid4().hex)))
        for _ in range(20)
    ]
    slow_ms = [
        1000
        * timed(
            lambda: recorded.check_slow_drift(
                first.report, first.profile, run_id=first.run_id, dataset=first.dataset
            )
        )
        for _ in range(20)
    ]
    report_kb = len(pack(result.report.model_dump(mode="json"))) / 1024
    profile_kb = len(pack(result.profile.to_dict())) / 1024
    n = result.profile.n_files
    print(f"(a) recording overhead: monitor of {n} images, median of {repeat} alternating runs")
    print(f"  without history      {without:7.3f} s")
    print(
        f"  with history=SQLite  {with_history:7.3f} s   ratio {ratio:.3f} (whole history; "
        "proposed target <= 1.10)"
    )
    print(
        f"  paired difference    {1000 * paired:+7.1f} ms median over the rounds "
        f"({paired / without:+.1%} of the run without)"
    )
    print(
        f"  store.record alone   {statistics.median(record_ms):7.1f} ms median "
        f"(min {min(record_ms):.1f}, max {max(record_ms):.1f}); report {report_kb:.1f} KB, "
        f"profile {profile_kb:.1f} KB compressed; {len(result.report.metrics)} metric rows"
    )
    share = statistics.median(record_ms) / 1000 / without
    print(f"  store.record alone / run without: {share:.1%} (the recording; target <= 5%)")
    print(
        f"  slow-drift check alone (15 stored runs' values read + KS over 4 windows): "
        f"{statistics.median(slow_ms):.1f} ms median (min {min(slow_ms):.1f}, "
        f"max {max(slow_ms):.1f})"
    )
    store.close()
    met = share <= 0.05 and ratio <= 1.10
    print(f"  -> {'met' if met else 'NOT met'}\n")
    return met, result


# --- (b) and (c): stores filled in bulk --------------------------------------------------------


@contextmanager
def bench_store(kind: str, folder: Path, pg_url: str) -> Iterator[HistoryStore | None]:
    if kind == "sqlite":
        with HistoryStore(folder / "many.sqlite") as store:
            yield store
        return
    schema = f"vdbench_{secrets.token_hex(4)}"
    store = HistoryStore(pg_url, pg_schema=schema)
    try:
        store.migrate()
    except Exception as err:  # the server is not there: say so, skip
        print(f"  PostgreSQL at {store.url} not reachable ({err}); skipped\n")
        yield None
        return
    try:
        yield store
    finally:
        with store._engine.connect() as conn, conn.begin():
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        store.close()


def bulk_insert(
    store: HistoryStore,
    result: RunResult,
    *,
    dataset: str,
    n: int,
    end: datetime,
    profiles: list[bytes] | None = None,
    seed: int = 0,
) -> float:
    """``n`` runs of ``result``'s report, an hour apart up to ``end``; returns seconds."""
    from sqlalchemy import insert

    from visiondrift.store._schema import BAD_COUNTS, DOCUMENTS, METRICS, RUNS

    rng = random.Random(seed)
    report = result.report
    blob = pack(report.model_dump(mode="json"))
    bad = {k: v for k, v in report.current.bad_counts.items() if v > 0}
    start = time.perf_counter()
    chunk = 500
    for first in range(0, n, chunk):
        runs: list[dict[str, Any]] = []
        metrics: list[dict[str, Any]] = []
        docs: list[dict[str, Any]] = []
        bads: list[dict[str, Any]] = []
        for i in range(first, min(n, first + chunk)):
            run_id = uuid.UUID(int=rng.getrandbits(128)).hex
            at = end - timedelta(hours=n - 1 - i)
            runs.append(run_row(report, run_id, dataset, None, at, at - timedelta(seconds=40)))
            for row in metric_rows(report, run_id, dataset, at):
                if row["current_value"] is not None:
                    row["current_value"] *= 1 + 0.01 * rng.gauss(0, 1)
                metrics.append(row)
            kept = None if profiles is None else profiles[i % len(profiles)]
            docs.append({"run_id": run_id, "report": blob, "profile": kept})
            bads.extend({"run_id": run_id, "reason": k, "count": v} for k, v in bad.items())
        with store._write("bulk insert") as conn:
            conn.execute(insert(RUNS), runs)
            conn.execute(insert(METRICS), metrics)
            conn.execute(insert(DOCUMENTS), docs)
            if bads:
                conn.execute(insert(BAD_COUNTS), bads)
    return time.perf_counter() - start


def trend_queries(store: HistoryStore, result: RunResult, n: int, repeat: int) -> bool:
    names = [m.name for m in result.report.metrics]
    checks: dict[str, Callable[[], Any]] = {
        "trend(brightness, last_runs=30)": lambda: store.trend(
            "brightness", dataset="skin", last_runs=30
        ),
        f"trend(brightness, last_runs={n})": lambda: store.trend(
            "brightness", dataset="skin", last_runs=n
        ),
        f"trends({len(names)} metrics, last_runs=29)": lambda: store.trends(
            names, dataset="skin", last_runs=29
        ),
        "runs(limit=50)": lambda: store.runs(dataset="skin", limit=50),
    }
    whole = store.trend("brightness", dataset="skin", last_runs=n)
    assert whole is not None
    assert len(whole.points) == n, "the series is not whole"
    ok = True
    for name, fn in checks.items():
        fn()  # warm
        seconds = median_time(fn, repeat)
        ok &= seconds < 1.0
        print(f"  {name:38s} {1000 * seconds:8.1f} ms")
    seconds = median_time(lambda: store.runs(dataset="skin"), max(1, repeat // 2))
    print(f"  {'runs() (all ' + str(n) + ')':38s} {1000 * seconds:8.1f} ms  (no target)")
    return ok


def rolling_baseline(store: HistoryStore, hourly: list[Profile], hours: int, end: datetime) -> bool:
    since = end - timedelta(hours=hours)
    read_start = time.perf_counter()
    stored = [p for _, p in store.profiles(dataset="hourly", since=since)]
    read = time.perf_counter() - read_start
    merge = timed(lambda: Profile.merge_all(stored))
    total = read + merge
    from_memory = timed(lambda: Profile.merge_all([hourly[i % len(hourly)] for i in range(hours)]))
    merged = Profile.merge_all(stored)
    print(
        f"  {len(stored)} profiles ({merged.n_images:,} images): read {read:6.2f} s + merge "
        f"{merge:6.2f} s = {total:6.2f} s (target < 10 s); same merge from memory "
        f"{from_memory:6.2f} s"
    )
    return total < 10.0 and len(stored) == hours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", default=str(Path(__file__).parent / "_work"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--hours", type=int, default=720)
    parser.add_argument("--pg", default=PG_DEFAULT)
    args = parser.parse_args()
    data = ensure_data(Path(args.work) / "store")
    print(f"cores available: {len(os.sched_getaffinity(0))}; repeats: {args.repeat}\n")
    baseline = profile(data["baseline"])
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        met, result = recording_overhead(baseline, data["batch"], folder, args.repeat)
        ok &= met
        hourly = [Monitor(baseline).profile(data[f"hour{h:02d}"]) for h in range(24)]
        packed = [pack(p.to_dict()) for p in hourly]
        hourly_result = Monitor(baseline).run(hourly[0], dataset="hourly")
        end = datetime(2026, 11, 30, tzinfo=UTC)
        for kind in ("sqlite", "postgresql"):
            with bench_store(kind, folder, args.pg) as store:
                if store is None:
                    continue
                print(f"(b) trends over {args.runs:,} runs: {kind}")
                seconds = bulk_insert(store, result, dataset="skin", n=args.runs, end=end)
                n_rows = args.runs * len(result.report.metrics)
                print(
                    f"  bulk insert of {args.runs:,} runs ({n_rows:,} metric rows, reports): "
                    f"{seconds:.1f} s"
                )
                met = trend_queries(store, result, args.runs, args.repeat)
                ok &= met
                print(f"  -> {'met' if met else 'NOT met'}\n")
                print(f"(c) rolling baseline of {args.hours} hourly profiles: {kind}")
                seconds = bulk_insert(
                    store,
                    hourly_result,
                    dataset="hourly",
                    n=args.hours,
                    end=end,
                    profiles=packed,
                    seed=1,
                )
                kb = sum(map(len, packed)) / len(packed) / 1024
                print(
                    f"  bulk insert of {args.hours} runs with profiles ({kb:.0f} KB each): "
                    f"{seconds:.1f} s"
                )
                met = rolling_baseline(store, hourly, args.hours, end)
                ok &= met
                print(f"  -> {'met' if met else 'NOT met'}\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
