"""Speed of ``visiondrift.compare``: a 1,000-image batch against a 10,000-image baseline.

Target (issue 4, item 6): at most 2 s on a 2-core machine with every detector included (the
per-property KS tests, the G-tests, the model-output tests, BBSD, the embedding MMD and the domain
classifier).

How the profiles are made (seeded, documented so that the figures can be reproduced):

1. ``make_dataset`` writes 1,000 random crops (128 x 128 JPEG) of the real photos shipped in pip
   packages; ``visiondrift.profile`` profiles them once with the demo classifier (ONNX, with its
   64-unit hidden layer as the embedding), giving 1,000 real per-image rows: properties, model
   columns, probability vectors and embeddings.
2. A profile of ``n`` images is assembled from ``n`` rows drawn with replacement from those real
   rows, each jittered (properties x (1 + 2% Gaussian), probabilities + 1% Gaussian noise then
   renormalised, embeddings + 2% of their spread), with the pixel histograms scaled to ``n``
   images: the baseline has 10,000 rows (seed 1), the batch 1,000 (seed 2). This is what a
   10,000-image profile's reservoir looks like to ``compare`` (its cost depends only on the
   reservoir, not on how it was filled).

``compare`` is timed as the median of 5 calls after one warm-up call (the first call is printed
separately), with and without the model outputs/embeddings.

Usage::

    python benchmarks/compare_speed.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

import visiondrift
from visiondrift.demo.model import build_demo_models
from visiondrift.demo.samples import make_dataset
from visiondrift.model_summary import ModelSummary, model_column_values
from visiondrift.models import ModelSpec
from visiondrift.profiles import Profile
from visiondrift.properties import PROPERTY_NAMES
from visiondrift.sketches import Moments, Reservoir

TARGET_S = 2.0


def expand(real: Profile, n: int, seed: int, with_model: bool) -> Profile:
    """A profile of ``n`` images whose rows are jittered draws from ``real``'s reservoir."""
    rng = np.random.default_rng(seed)
    res = real.reservoir
    rows = rng.integers(len(res), size=n)
    columns: dict[str, NDArray[np.float64]] = {}
    for name in PROPERTY_NAMES:
        col = res.values[name][rows]
        columns[name] = col * (1.0 + 0.02 * rng.standard_normal(n))
    vectors: dict[str, NDArray[np.float32]] = {}
    model: ModelSummary | None = None
    config = real.config if with_model else replace(real.config, model=None)
    if with_model and real.model is not None:
        probs = res.vectors["probs"][rows].astype(np.float64)
        probs = np.abs(probs + 0.01 * rng.standard_normal(probs.shape))
        probs /= probs.sum(axis=1, keepdims=True)
        columns.update(model_column_values(probs))
        emb = res.vectors["embedding"][rows].astype(np.float64)
        emb += 0.02 * emb.std(axis=0) * rng.standard_normal(emb.shape)
        vectors = {"probs": probs.astype(np.float32), "embedding": emb.astype(np.float32)}
        model = ModelSummary.empty(
            real.model.class_names, real.model.description, real.model.projection
        ).add(vectors["probs"], config.low_confidence)
    reservoir = Reservoir(
        max(config.reservoir_size, n),
        rng.permutation(np.arange(n, dtype=np.uint64)),
        tuple(f"img{i:05d}.jpg" for i in range(n)),
        tuple(None for _ in range(n)),
        columns,
        vectors,
    )
    scale = n / max(real.n_images, 1)
    return replace(
        real,
        config=config,
        n_files=n,
        n_images=n,
        channels=np.rint(real.channels * scale).astype(np.int64),
        moments={k: Moments.of(columns[k]) for k in PROPERTY_NAMES},
        reservoir=reservoir,
        model=model,
        labels=type(real.labels)({}),
    )


def time_compare(base: Profile, cur: Profile, repeat: int) -> tuple[float, float, int]:
    start = time.perf_counter()
    report = visiondrift.compare(base, cur)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        visiondrift.compare(base, cur)
        times.append(time.perf_counter() - start)
    return statistics.median(times), first, report.n_tests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--n-real", type=int, default=1000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="vd-compare-speed-"))
    models = build_demo_models(work / "model", epochs=5)
    make_dataset(work / "images", args.n_real, size=(128, 128), seed=3)
    spec = ModelSpec(models.onnx, labels=models.class_names, embedding="embedding")
    real = visiondrift.profile(work / "images", model=spec, labels="none")
    print(f"real rows: {len(real.reservoir)} images profiled with the demo model")
    print()
    print("| setting | tests | median of 5 (s) | first call (s) | ratio to 2 s target |")
    print("|---|---:|---:|---:|---:|")
    ok = True
    for label, with_model in (
        ("with model outputs + embeddings", True),
        ("properties only", False),
    ):
        base = expand(real, 10_000, seed=1, with_model=with_model)
        cur = expand(real, 1_000, seed=2, with_model=with_model)
        median, first, n_tests = time_compare(base, cur, args.repeat)
        ok &= median <= TARGET_S
        print(f"| {label} | {n_tests} | {median:.3f} | {first:.3f} | {median / TARGET_S:.2f} |")
    print()
    print(f"Speed target (median <= {TARGET_S} s): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
