"""Profiles built through the one ProfileBuilder from per-image rows or prediction records.

No images are decoded: each image is handed over already measured (its histograms and property
values), which is what the builder sees from the measurer. Shared by the merge-law, provenance
and plain-import tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visiondrift.decode import BadFile
from visiondrift.measure import CHANNELS, PROPERTY_NAMES
from visiondrift.models import ModelSpec
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig, Window
from visiondrift.profiles.builder import Prediction
from visiondrift.sources import ImageItem, SourceInfo

CLASSES = ("cat", "dog", "bird")
FORMATS = ("JPEG", "PNG")
MODES = ("RGB", "L")


@dataclass(frozen=True)
class Row:
    """One measured image: a seed for its arrays, its label and format, and whether it is bad."""

    seed: int
    label: str | None
    format: str
    bad: bool = False


def config(model: bool, reservoir_size: int = 10, max_listed_bad_files: int = 3) -> ProfileConfig:
    spec = ModelSpec(Path("/models/classifier.onnx")) if model else None
    return ProfileConfig(
        reservoir_size=reservoir_size, max_listed_bad_files=max_listed_bad_files, model=spec
    )


def _arrays(seed: int) -> tuple[np.ndarray, np.ndarray, Prediction]:
    rng = np.random.default_rng(seed)
    hists = rng.integers(0, 50, size=(len(CHANNELS), 256))
    values = rng.normal(0.0, 10.0, size=len(PROPERTY_NAMES)) * rng.uniform(0.1, 1e3)
    logits = rng.normal(0.0, 2.0, size=len(CLASSES))
    probs = (np.exp(logits) / np.exp(logits).sum()).astype(np.float32)
    return hists, values, (probs, None)


def image_profile(
    prefix: str,
    rows: Sequence[Row],
    cfg: ProfileConfig,
    *,
    dataset: str | None = None,
    window: Window | None = None,
    source: SourceInfo | None = None,
    paths: Sequence[str] | None = None,
) -> Profile:
    """The profile of ``rows`` (paths ``prefix/<i>.jpg`` unless ``paths`` are given), built
    with ``add_measured``."""
    builder = ProfileBuilder(cfg, dataset=dataset, window=window)
    if cfg.model is not None:
        builder.set_model(CLASSES, {"format": "onnx"})
    if paths is None:
        paths = [f"{prefix}/{i}.jpg" for i in range(len(rows))]
    for path, row in zip(paths, rows, strict=True):
        if row.bad:
            builder.add_bad(BadFile(path, "truncated", f"row {row.seed}"))
            continue
        hists, values, prediction = _arrays(row.seed)
        builder.add_measured(
            ImageItem(path, path, row.label),
            hists,
            values,
            format=row.format,
            mode=MODES[row.seed % 2],
            prediction=prediction if cfg.model is not None else None,
        )
    return builder.build(source)


def predictions_profile(prefix: str, rows: Sequence[Row], cfg: ProfileConfig) -> Profile:
    """The profile of ``rows`` as prediction records (``add_prediction``)."""
    builder = ProfileBuilder(cfg)
    builder.set_model(CLASSES, {"format": "predictions (csv)"})
    for i, row in enumerate(rows):
        key = f"{prefix}/{i}"
        if row.bad:
            builder.add_bad(BadFile(key, "bad_row", f"line {i}: not a number"))
            continue
        _, _, (probs, _) = _arrays(row.seed)
        builder.add_prediction(key, probs.astype(np.float64), row.label)
    return builder.build()
