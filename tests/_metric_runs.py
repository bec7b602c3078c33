"""Windows' runs recorded straight into a store, for the metrics and dashboard tests.

Each run is a real :class:`~visiondrift.app.Monitor` run (compared with a baseline and recorded
by the history sink) of a profile built with the one ProfileBuilder from measured images and
the model's probabilities: nothing is decoded, so a run takes a fraction of a second. A
``shift`` moves brightness, sharpness and the class mix away from the baseline (drift); ``bad``
adds unusable files (the bad-file share).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from visiondrift.app import Monitor, RunResult
from visiondrift.decode import BadFile
from visiondrift.measure import CHANNELS, PROPERTY_NAMES
from visiondrift.models import ModelSpec
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.sources import ImageItem
from visiondrift.store import HistoryStore

CLASSES = ("cat", "dog", "bird")


def window_profile(seed: int, n: int, *, shift: float = 0.0, bad: int = 0) -> Profile:
    """``n`` measured images with the model's probabilities; ``shift`` > 0 drifts them."""
    rng = np.random.default_rng(seed)
    config = ProfileConfig(reservoir_size=200, model=ModelSpec(Path("/models/classifier.onnx")))
    builder = ProfileBuilder(config)
    builder.set_model(CLASSES, {"format": "onnx"})
    alpha = np.array([4.0, 2.0, 1.0]) + shift * np.array([0.0, 0.0, 6.0])
    for i in range(n):
        level = int(rng.integers(60, 120)) + int(shift * 80)
        hists = np.zeros((len(CHANNELS), 256), dtype=np.int64)
        hists[:, level - 10 : level + 10] = rng.integers(0, 50, size=(len(CHANNELS), 20))
        values = rng.normal(100.0, 10.0, size=len(PROPERTY_NAMES)) * (1.0 + shift)
        probs = rng.dirichlet(alpha).astype(np.float32)
        path = f"img/{seed}-{i}.jpg"
        builder.add_measured(
            ImageItem(path, path, None),
            hists,
            values,
            format="JPEG",
            mode="RGB",
            prediction=(probs, None),
        )
    for j in range(bad):
        builder.add_bad(BadFile(f"bad/{seed}-{j}.jpg", "truncated", "cut short"))
    return builder.build()


def record_windows(
    store: HistoryStore,
    dataset: str,
    *,
    runs: int = 2,
    shift: float = 0.0,
    bad: int = 0,
    seed: int = 0,
) -> list[RunResult]:
    """Record ``runs`` one-minute windows of ``dataset`` (each 120 images) into ``store``."""
    monitor = Monitor(window_profile(seed, 200), history=store)
    end = datetime.now(UTC)
    results = []
    for k in range(runs):
        start = end - timedelta(minutes=runs - k)
        results.append(
            monitor.run(
                window_profile(seed + 1 + k, 120, shift=shift, bad=bad),
                dataset=dataset,
                window=(start, start + timedelta(minutes=1)),
            )
        )
    return results


def record_alerts(store: HistoryStore, dataset: str, channel: str, statuses: list[str]) -> None:
    """Alerts of ``dataset`` in the outbox, one per status (a sent one took two attempts)."""
    from visiondrift.store._outbox import OutboxAlert

    now = datetime.now(UTC)
    store.outbox.enqueue(
        [
            OutboxAlert(
                alert_id=uuid.uuid4().hex,
                run_id=None,
                dataset=dataset,
                channel=channel,
                kind="webhook",
                event="trigger",
                severity="high",
                status=status,  # type: ignore[arg-type]
                attempts=2 if status == "sent" else 1,
                created_at=now,
                payload={"dataset": dataset},
                sent_at=now if status == "sent" else None,
                last_error=None if status == "sent" else "HTTP 500",
            )
            for status in statuses
        ]
    )


def record_window_rows(
    store: HistoryStore,
    dataset: str,
    *,
    closed: int = 0,
    failed: int = 0,
    open_records: int = 0,
    closing: Sequence[datetime] = (),
) -> None:
    """Windows of ``dataset`` as the service's window closer leaves them in vd_windows
    (``closing``: the ends of windows waiting for their verdicts)."""
    from sqlalchemy import insert

    from visiondrift.store._schema import WINDOWS

    now = datetime.now(UTC)
    rows = [
        {
            "window_id": uuid.uuid4().hex,
            "dataset": dataset,
            "baseline_id": "0" * 32,
            "status": status,
            "opened_at": now - timedelta(minutes=5),
            "deadline": end,
            "closed_at": None if status in ("open", "closing") else now,
            "n_records": n,
            "n_bad": 0,
            "run_id": None,
            "claimed_by": None,
            "claimed_until": None,
            "reason": "comparison failed" if status == "failed" else None,
        }
        for status, n, end in (
            *(("closed", 100, None) for _ in range(closed)),
            *(("failed", 100, None) for _ in range(failed)),
            *((("open", open_records, None),) if open_records else ()),
            *(("closing", 100, end) for end in closing),
        )
    ]
    with store._write("adding windows") as conn:
        conn.execute(insert(WINDOWS), rows)
