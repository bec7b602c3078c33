"""Slow-drift benchmark: a steady brightness drift that no single run shows, and false alarms.

Real photo crops (the demo's photos from scikit-image, scikit-learn and matplotlib: random square
crops resized to 96 x 96, saved as JPEG at quality 90 and read back through the project's decoder
and measurer) make a baseline of ``--baseline`` images and 30 runs of 100 images. In the drift
scenario the camera loses 0.5% of its gain per run: run ``t``'s pixel values are multiplied by
``1 - 0.005 t`` before the JPEG is written, so run 30 is 15% darker.

1. Every run is compared alone with the baseline by ``visiondrift.compare`` at alpha 0.05 (the
   single-run test, with its family-wise correction): the table shows each run's verdict and the
   brightness p-value, next to what the slow-drift monitor (``SlowDriftMonitor``, defaults:
   alpha 0.05 over a horizon of 30 runs, windows 2, 4, 8 and 16 runs) says after that run.
2. The run at which slow drift first alarms, for three drift rates and three baseline sizes.
3. False alarms on clean sequences: ``--sequences`` sequences of 30 runs of 100 images and a
   baseline, all drawn with replacement from the measured clean crops (so every image of a
   sequence comes from one distribution); the fraction of sequences with any alarm is set
   against the stated rate alpha with a Clopper-Pearson interval and the Binomial(n, alpha)
   99th percentile.

Each distinct image is measured once per gain; profiles are assembled from the measured rows
exactly as the profiler builds them (:func:`profile_of`).

Usage::

    python benchmarks/slow_drift.py [--quick] [--sequences N] [--baseline N] [--out FILE]
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import stats

import visiondrift
from visiondrift.decode import DecodedImage
from visiondrift.decode._image import decode_image
from visiondrift.demo.samples import real_photos
from visiondrift.drift import SlowDriftConfig, SlowDriftMonitor, detect_slow_drift
from visiondrift.measure._measurer import ImageMeasurer
from visiondrift.measure.properties import PROPERTY_NAMES
from visiondrift.profiles import Profile, ProfileConfig
from visiondrift.profiles.sketches import CategoryCounts, Moments, Reservoir

SIDE = 96
RUNS = 30
PER_RUN = 100
STEP = 0.005
STEPS = (0.0025, 0.005, 0.01)
BASELINE_SIZES = (500, 1000, 2000)
ALPHA = 0.05
BRIGHTNESS = PROPERTY_NAMES.index("brightness")


@dataclass
class Measured:
    """Per-image rows of a set of images: histograms and property values."""

    hists: NDArray[np.int64]
    values: NDArray[np.float64]


def crops(
    n: int, seed: int, photos: list[tuple[str, NDArray[np.uint8]]]
) -> list[NDArray[np.uint8]]:
    """``n`` random square crops of the photos, resized to SIDE x SIDE (as ``make_dataset``)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        _, photo = photos[int(rng.integers(len(photos)))]
        h, w = photo.shape[:2]
        side = int(rng.integers(max(8, int(0.3 * min(h, w))), min(h, w)))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
        image = Image.fromarray(photo[y : y + side, x : x + side])
        out.append(np.asarray(image.resize((SIDE, SIDE), Image.Resampling.BILINEAR)))
    return out


def measure(arrays: list[NDArray[np.uint8]], gain: float, config: ProfileConfig) -> Measured:
    """Apply ``gain`` to the pixels, write JPEG (quality 90), decode and measure each image."""
    measurer = ImageMeasurer(config.measure)
    for i, a in enumerate(arrays):
        pixels = np.clip(np.rint(a.astype(np.float64) * gain), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
        decoded = decode_image(buf.getvalue(), f"img{i:05d}.jpg")
        assert isinstance(decoded, DecodedImage)
        measurer.add(decoded)
    hists, values = measurer.finish()
    return Measured(hists, values)


def profile_of(m: Measured, idx: NDArray[np.intp], config: ProfileConfig, prefix: str) -> Profile:
    """The profile the profiler would build from the images at ``idx``."""
    n = int(idx.size)
    values = m.values[idx]
    columns = {name: values[:, i].copy() for i, name in enumerate(PROPERTY_NAMES)}
    reservoir = Reservoir(
        config.reservoir_size,
        np.arange(n, dtype=np.uint64),
        tuple(f"{prefix}/img{int(i):05d}.jpg" for i in idx),
        tuple(None for _ in range(n)),
        columns,
        {},
    )
    return Profile(
        config=config,
        n_files=n,
        n_images=n,
        bad_counts={},
        bad_files=(),
        channels=m.hists[idx].sum(axis=0),
        moments={k: Moments.of(columns[k]) for k in PROPERTY_NAMES},
        formats=CategoryCounts({"JPEG": n}),
        modes=CategoryCounts({"RGB": n}),
        labels=CategoryCounts({}),
        reservoir=reservoir,
    )


def moments_profile(values: NDArray[np.float64], empty: Profile) -> Profile:
    """A profile holding only the counts and moments of ``values`` (what slow drift reads)."""
    n = values.shape[0]
    moments = {k: Moments.of(values[:, i]) for i, k in enumerate(PROPERTY_NAMES)}
    return replace(empty, n_files=n, n_images=n, moments=moments)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 clean sequences")
    parser.add_argument("--sequences", type=int, default=None, help="clean sequences (1000)")
    parser.add_argument("--baseline", type=int, default=1000, help="baseline images (1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args()
    sequences = args.sequences or (200 if args.quick else 1000)
    start = time.perf_counter()
    lines: list[str] = []

    def out(line: str = "") -> None:
        lines.append(line)
        print(line, flush=True)

    photos = real_photos()
    config = ProfileConfig()
    slow = SlowDriftConfig(alpha=ALPHA)
    n_pool = max(*BASELINE_SIZES, args.baseline)
    base_arrays = crops(n_pool, args.seed * 100 + 1, photos)
    run_arrays = crops(RUNS * PER_RUN, args.seed * 100 + 2, photos)
    base_m = measure(base_arrays, 1.0, config)
    clean_m = measure(run_arrays, 1.0, config)
    drifted: dict[float, list[Measured]] = {}
    for step in STEPS:
        drifted[step] = [
            measure(run_arrays[t * PER_RUN : (t + 1) * PER_RUN], 1.0 - step * (t + 1), config)
            for t in range(RUNS)
        ]
    n_measured = n_pool + RUNS * PER_RUN * (1 + len(STEPS))
    print(f"# measured {n_measured} images in {time.perf_counter() - start:.0f} s", file=sys.stderr)

    run_idx = np.arange(PER_RUN, dtype=np.intp)

    def baseline_of(n: int) -> Profile:
        return profile_of(base_m, np.arange(n, dtype=np.intp), config, "baseline")

    # ------------------------------------------------------------ 1. run by run
    baseline = baseline_of(args.baseline)
    out(
        f"## A brightness drift of {STEP:.1%} per run: single-run compare vs slow drift "
        f"(baseline {args.baseline} images, runs of {PER_RUN})"
    )
    out()
    out(
        "| run | gain | brightness mean | single-run verdict | brightness p | brightness p (Holm) "
        "| slow drift | window | window p | threshold |"
    )
    out("|---:|---:|---:|---|---:|---:|---|---:|---:|---:|")
    monitor = SlowDriftMonitor(baseline, slow)
    first_single: int | None = None
    first_bright: int | None = None
    verdicts: list[bool] = []
    run_profiles: list[Profile] = []
    for t in range(RUNS):
        run = profile_of(drifted[STEP][t], run_idx, config, f"run{t + 1}")
        report = visiondrift.compare(baseline, run)
        verdicts.append(report.overall_drift_detected)
        run_profiles.append(run)
        bright = next(r for r in report.metrics if r.name == "brightness")
        monitor.update(run)
        res = monitor.result
        if report.overall_drift_detected and first_single is None:
            first_single = t + 1
        if bright.status == "drift" and first_bright is None:
            first_bright = t + 1
        best = min(res.tests, key=lambda w: w.p_value / w.threshold) if res.tests else None
        window = "" if best is None else f"{best.window} ({best.metric})"
        out(
            f"| {t + 1} | {1 - STEP * (t + 1):.3f} | {run.moments['brightness'].mean:.4f} | "
            f"{'drift' if report.overall_drift_detected else 'no drift'} | "
            f"{bright.p_value:.3g} | {bright.p_adjusted:.3g} | "
            f"{'ALARM' if res.drift_detected else '-'} | {window} | "
            f"{'' if best is None else f'{best.p_value:.2g}'} | "
            f"{'' if best is None else f'{best.threshold:.2g}'} |"
        )
    k = monitor.result.first_alarm_run
    out()
    out(f"Baseline brightness mean {baseline.moments['brightness'].mean:.4f}.")
    out(
        f"Slow drift first alarms at run k = {k}"
        + (f" (gain {1 - STEP * k:.3f})." if k is not None else " (never).")
    )
    out(
        "First run flagged by the single-run compare (any metric): "
        f"{first_single if first_single is not None else 'none'}; on brightness: "
        f"{first_bright if first_bright is not None else 'none'}."
    )
    if k is not None:
        flagged = sum(verdicts[:k])
        out(f"Runs 1..{k} flagged by the single-run compare: {flagged} of {k}.")
        explanation = detect_slow_drift(baseline, run_profiles[:k], slow).explanation
        out(f"Explanation at run {k}: {explanation}")
    out()

    # ------------------------------------------------------------ 2. rates and baseline sizes
    out("## First alarm run k by drift rate and baseline size (single-run compare: first flag)")
    out()
    out("| drift per run | " + " | ".join(f"baseline {n}" for n in BASELINE_SIZES) + " |")
    out("|---:|" + "---|" * len(BASELINE_SIZES))
    for step in STEPS:
        cells = []
        for n in BASELINE_SIZES:
            base_n = baseline_of(n)
            runs = [profile_of(drifted[step][t], run_idx, config, f"r{t}") for t in range(RUNS)]
            result = detect_slow_drift(base_n, runs, slow)
            single = next(
                (
                    t + 1
                    for t, r in enumerate(runs)
                    if visiondrift.compare(base_n, r).overall_drift_detected
                ),
                None,
            )
            cells.append(
                f"k = {result.first_alarm_run} (single run: {single if single else 'never'})"
            )
        out(f"| {step:.2%} | " + " | ".join(cells) + " |")
    out()

    # ------------------------------------------------------------ 3. false alarms
    pool = np.concatenate([base_m.values, clean_m.values])
    empty = Profile.empty(config)
    rng = np.random.default_rng([args.seed, 3])
    alarms = 0
    per_window: dict[int, int] = dict.fromkeys(slow.windows, 0)
    t0 = time.perf_counter()
    for _ in range(sequences):
        base_p = moments_profile(pool[rng.integers(0, len(pool), args.baseline)], empty)
        runs = [
            moments_profile(pool[rng.integers(0, len(pool), PER_RUN)], empty) for _ in range(RUNS)
        ]
        monitor = SlowDriftMonitor(base_p, slow)
        windows_alarmed: set[int] = set()
        for run in runs:
            monitor.update(run)
            windows_alarmed |= {w.window for w in monitor.result.tests if w.drift_detected}
        alarms += monitor.result.first_alarm_run is not None
        for w in windows_alarmed:
            per_window[w] += 1
    per_sequence = (time.perf_counter() - t0) / sequences
    lo, hi = clopper_pearson(alarms, sequences)
    q99 = int(stats.binom.ppf(0.99, sequences, ALPHA))
    out(
        f"## False alarms on clean sequences ({sequences} sequences of {RUNS} runs x {PER_RUN} "
        f"images, baseline {args.baseline}, drawn with replacement from {len(pool)} real crops)"
    )
    out()
    out(
        "| sequences with an alarm | fraction | 95% CI (Clopper-Pearson) | stated rate | "
        "99th pct. Binomial bound | within |"
    )
    out("|---:|---:|---|---:|---:|---|")
    out(
        f"| {alarms} | {alarms / sequences:.4f} | [{lo:.4f}, {hi:.4f}] | {ALPHA} | {q99} | "
        f"{'yes' if alarms <= q99 else 'NO'} |"
    )
    out()
    out(
        "Sequences with an alarm, by window: "
        + ", ".join(f"{w} runs: {c}" for w, c in per_window.items())
        + "."
    )
    out(f"Slow-drift checks over one sequence of {RUNS} runs: {per_sequence * 1e3:.1f} ms.")
    out()
    out(f"Total time: {time.perf_counter() - start:.0f} s.")
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
