"""Windows' runs recorded straight into a store, for the metrics and dashboard tests.

Each run is a real :class:`~visiondrift.app.Monitor` run (compared with a baseline and recorded
by the history sink) of a profile built with the one ProfileBuilder from measured images and
the model's probabilities: nothing is decoded, so a run takes a fraction of a second. A
``shift`` moves brightness, sharpness and the class mix away from the baseline (drift); ``bad``
adds unusable files (the bad-file share).
"""

from __future__ import annotations

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
