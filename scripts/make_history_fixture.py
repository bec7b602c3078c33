"""Write tests/fixtures/history_v0001.sqlite: a history store at schema revision 0001.

Usage::

    python scripts/make_history_fixture.py [OUTPUT]

Three monitor runs of crops of real photos (one batch with a truncated and a non-image file, so
its report has bad counts), recorded as revision 0001 kept them: ``vd_runs``, ``vd_metrics`` and
``vd_documents`` only (``vd_bad_counts`` came with 0002, which fills it from the stored reports).
The migration tests open a copy of it and check that the store upgrades it in place.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, insert

from visiondrift import profile
from visiondrift.app import Monitor
from visiondrift.demo.samples import CameraChange, make_dataset, real_photos
from visiondrift.drift import DriftReport
from visiondrift.profiles import Profile
from visiondrift.store._codec import pack
from visiondrift.store._migrate import VERSION_TABLE, _config
from visiondrift.store._rows import metric_rows, run_row
from visiondrift.store._schema import DOCUMENTS, METRICS, RUNS

DEFAULT_OUTPUT = Path(__file__).parent.parent / "tests" / "fixtures" / "history_v0001.sqlite"


def make_runs(work: Path) -> list[tuple[str, DriftReport, Profile]]:
    """Three small runs: (dataset, report, batch profile)."""
    photos = real_photos()
    make_dataset(work / "baseline", 32, size=(48, 48), seed=41, photos=photos)
    make_dataset(work / "same", 16, size=(48, 48), seed=42, photos=photos)
    make_dataset(
        work / "changed", 16, size=(48, 48), seed=43, photos=photos, transform=CameraChange()
    )
    whole = sorted((work / "changed").glob("*.jpg"))[0].read_bytes()
    (work / "changed" / "zz_truncated.jpg").write_bytes(whole[: len(whole) // 3])
    (work / "changed" / "zz_notes.jpg").write_text("not an image\n")
    monitor = Monitor(profile(work / "baseline", workers=1, labels="none"))
    runs: list[tuple[str, DriftReport, Profile]] = []
    for name, dataset in (("same", "skin"), ("changed", "skin"), ("changed", "eye")):
        result = monitor.run(work / name, dataset=dataset, workers=1)
        runs.append((dataset, result.report, result.profile))
    return runs


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT
    out.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{out}")
    with engine.connect() as conn, conn.begin():
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
    with tempfile.TemporaryDirectory() as tmp:
        runs = make_runs(Path(tmp))
    start = datetime(2026, 11, 20, 6, tzinfo=UTC)
    with engine.connect() as conn, conn.begin():
        for i, (dataset, report, batch) in enumerate(runs):
            run_id = f"{i + 1:04d}" + "c0ffee" * 4 + "beef"
            finished = start + timedelta(days=i)
            conn.execute(
                insert(RUNS),
                [run_row(report, run_id, dataset, None, finished, finished)],
            )
            conn.execute(insert(METRICS), metric_rows(report, run_id, dataset, finished))
            document = report.model_dump(mode="json")
            # The first run keeps its profile; the others only their report (as keep_profile=False).
            kept = pack(batch.to_dict()) if i == 0 else None
            conn.execute(
                insert(DOCUMENTS), [{"run_id": run_id, "report": pack(document), "profile": kept}]
            )
    engine.dispose()
    with sqlite3.connect(out) as db:
        tables = sorted(
            r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        )
        revision = db.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()[0]
        db.execute("VACUUM")
    print(f"{out}: revision {revision}, tables {tables}, {out.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
