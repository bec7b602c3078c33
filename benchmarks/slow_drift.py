"""Slow-drift benchmark: a steady darkening over 30 runs, single-run compare vs slow drift.

Real photo crops (the demo's photos from scikit-image, scikit-learn and matplotlib: random square
crops resized to 96 x 96, saved as JPEG at quality 90 and read back through the project's decoder
and measurer) make a baseline of ``--baseline`` images and 30 runs of 100 fresh crops. Two drifts
darken run ``t`` a little more than run ``t - 1``:

- ``gain``: pixel values times ``1 - 0.005 t`` (the issue's scenario: 0.5% per run, 15% darker by
  run 30); it also stops the brightest pixels from clipping at white;
- ``gamma``: pixel values through the tone curve ``v ** (1 + 0.0055 t)`` (about as much darker
  at these photos' mean brightness), which keeps black and white where they are.

1. Every run is compared alone with the baseline by ``visiondrift.compare`` at alpha 0.05 (the
   single-run test and its family-wise correction); the table shows each run's verdict, the
   metrics it flags and the brightness p-value, beside what the slow-drift monitor
   (``SlowDriftMonitor``, defaults: Kolmogorov-Smirnov, alpha 0.05 over a horizon of 30 runs,
   windows of 2, 4, 8 and 16 runs) says after that run. Then the run ``k`` of the first
   slow-drift alarm, how many runs up to ``k`` the single-run compare flagged, and the
   explanation at run ``k``.
2. The same over ``--replicates`` fresh baselines and runs, with a clean row (no drift), and with
   the Welch variant (means only) beside the default.
3. The first alarm run for three drift rates and three baseline sizes.
4. False alarms on clean sequences: ``--sequences`` sequences of 30 runs of 100 images and a
   baseline, all drawn with replacement from the measured clean crops (so every image of a
   sequence comes from one distribution); the fraction of sequences with any alarm is set against
   the stated rate alpha, with a Clopper-Pearson interval and the Binomial(n, alpha) 99th
   percentile.

Each distinct image is measured once per tone; profiles are assembled from the measured rows as
the profiler builds them (:func:`profile_of`).

Usage::

    python benchmarks/slow_drift.py [--quick] [--sequences N] [--replicates N] [--baseline N]
        [--out FILE]
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
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


Tone = Callable[[NDArray[np.float64]], NDArray[np.float64]]


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


def gain(g: float) -> Tone:
    """Pixel values times ``g`` (a camera's gain or exposure)."""
    return lambda a: a * g


def gamma(g: float) -> Tone:
    """Pixel values through the tone curve ``255 (v / 255) ** g``: black and white stay."""
    return lambda a: 255.0 * (a / 255.0) ** g


def measure(arrays: list[NDArray[np.uint8]], tone: Tone, config: ProfileConfig) -> Measured:
    """Apply ``tone`` to the pixels, write JPEG (quality 90), decode and measure each image."""
    measurer = ImageMeasurer(config.measure)
    for i, a in enumerate(arrays):
        pixels = np.clip(np.rint(tone(a.astype(np.float64))), 0, 255).astype(np.uint8)
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


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


@dataclass
class Scenario:
    """A drift: a name, and the tone change of run ``t`` (1-based) at a rate ``step``."""

    name: str
    what: str
    tone: Callable[[float, int], Tone]


SCENARIOS = (
    Scenario("gain", "gain 1 - step t", lambda step, t: gain(1.0 - step * t)),
    # At these photos' mean brightness (about 0.41) a gamma of 1 + 1.1 step t darkens the mean
    # by about as much as the gain, without touching black or white pixels.
    Scenario("gamma", "gamma 1 + 1.1 step t", lambda step, t: gamma(1.0 + 1.1 * step * t)),
)


def drifted_runs(
    arrays: list[NDArray[np.uint8]], scenario: Scenario, step: float, config: ProfileConfig
) -> list[Measured]:
    return [
        measure(arrays[t * PER_RUN : (t + 1) * PER_RUN], scenario.tone(step, t + 1), config)
        for t in range(RUNS)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 clean sequences, 5 replicates")
    parser.add_argument("--sequences", type=int, default=None, help="clean sequences (500)")
    parser.add_argument("--replicates", type=int, default=None, help="drift replicates (10)")
    parser.add_argument("--baseline", type=int, default=1000, help="baseline images (1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args()
    sequences = args.sequences or (200 if args.quick else 500)
    replicates = args.replicates or (5 if args.quick else 10)
    start = time.perf_counter()
    lines: list[str] = []

    def out(line: str = "") -> None:
        lines.append(line)
        print(line, flush=True)

    photos = real_photos()
    config = ProfileConfig()
    slow = SlowDriftConfig(alpha=ALPHA)
    welch = SlowDriftConfig(alpha=ALPHA, test="welch")
    n_pool = max(*BASELINE_SIZES, args.baseline)
    base_arrays = crops(n_pool, args.seed * 1000 + 1, photos)
    run_arrays = crops(RUNS * PER_RUN, args.seed * 1000 + 2, photos)
    base_m = measure(base_arrays, gain(1.0), config)
    clean_m = measure(run_arrays, gain(1.0), config)
    run_idx = np.arange(PER_RUN, dtype=np.intp)

    def baseline_of(n: int) -> Profile:
        return profile_of(base_m, np.arange(n, dtype=np.intp), config, "baseline")

    def run_profiles(measured: list[Measured]) -> list[Profile]:
        return [profile_of(m, run_idx, config, f"run{t + 1}") for t, m in enumerate(measured)]

    baseline = baseline_of(args.baseline)
    out(
        f"Baseline: {args.baseline} real photo crops ({SIDE} x {SIDE}, JPEG quality 90), "
        f"brightness mean {baseline.moments['brightness'].mean:.4f}; runs of {PER_RUN} fresh "
        f"crops; slow drift: alpha {slow.alpha} over a horizon of {slow.horizon} runs, windows "
        f"{', '.join(map(str, slow.windows))}; metrics of the KS test (default): "
        f"{', '.join(slow.metrics or ())}; of Welch's test: {', '.join(welch.metrics or ())} "
        "(the model's confidence is skipped: no model here)."
    )
    out()

    # ------------------------------------------------------------ 1. run by run
    for scenario in SCENARIOS:
        runs = run_profiles(drifted_runs(run_arrays, scenario, STEP, config))
        out(
            f"## Drift by {scenario.name} ({scenario.what}, step {STEP}): single-run compare "
            "vs slow drift"
        )
        out()
        out(
            "| run | brightness mean | vs baseline | single-run verdict | metrics flagged | "
            "brightness p | brightness p (Holm) | slow drift | closest check | p | threshold |"
        )
        out("|---:|---:|---:|---|---|---:|---:|---|---|---:|---:|")
        monitor = SlowDriftMonitor(baseline, slow)
        verdicts: list[bool] = []
        first_bright: int | None = None
        b0 = baseline.moments["brightness"].mean
        for t, run in enumerate(runs):
            report = visiondrift.compare(baseline, run)
            verdicts.append(report.overall_drift_detected)
            bright = next(r for r in report.metrics if r.name == "brightness")
            if bright.status == "drift" and first_bright is None:
                first_bright = t + 1
            res = monitor.update(run).result
            best = min(res.tests, key=lambda w: w.p_value / w.threshold) if res.tests else None
            check = "" if best is None else f"{best.metric}, last {best.window}"
            flagged = ", ".join(r.name for r in report.metrics if r.status == "drift")
            mean = run.moments["brightness"].mean
            out(
                f"| {t + 1} | {mean:.4f} | {mean / b0 - 1:+.1%} | "
                f"{'drift' if report.overall_drift_detected else 'no drift'} | {flagged} | "
                f"{bright.p_value:.3g} | {bright.p_adjusted:.3g} | "
                f"{'ALARM' if res.drift_detected else '-'} | {check} | "
                f"{'' if best is None else f'{best.p_value:.2g}'} | "
                f"{'' if best is None else f'{best.threshold:.2g}'} |"
            )
        k = monitor.result.first_alarm_run
        first_single = verdicts.index(True) + 1 if any(verdicts) else None
        out()
        out(f"Slow drift first alarms at run k = {k if k is not None else 'never'}.")
        out(
            "Single-run compare at alpha 0.05: first run flagged (any metric) "
            f"{first_single if first_single is not None else 'none'}; first run flagged on "
            f"brightness {first_bright if first_bright is not None else 'none'}."
        )
        if k is not None:
            out(f"Runs 1..{k} flagged by the single-run compare: {sum(verdicts[:k])} of {k}.")
            explanation = detect_slow_drift(baseline, runs[:k], slow).explanation
            out(f"Explanation at run {k}: {explanation}")
        out()

    # ------------------------------------------------------------ 2. replicates
    out(
        f"## {replicates} replicates (fresh baseline and run crops each): first slow-drift alarm "
        "k vs the single-run compare's first flag"
    )
    out()
    out(
        "The clean row is the same runs without drift: there every alarm and flag is a false "
        "one (the single-run compare spends alpha 0.05 on every run)."
    )
    out()
    out(
        "| drift | k (KS) median [min, max] | k (Welch) | single run, any metric: median "
        "[min, max] | single run, brightness | replicates where a single run flags a run <= k "
        "(KS) |"
    )
    out("|---|---|---|---|---|---:|")

    def span(xs: list[int | None]) -> str:
        v = np.array([RUNS + 1 if x is None else x for x in xs])
        never = int((v > RUNS).sum())
        extra = f", {never} never" if never else ""
        return f"{np.median(v):g} [{v.min()}, {v.max()}]{extra}".replace(str(RUNS + 1), ">30")

    clean = Scenario("clean (no drift)", "gain 1", lambda step, t: gain(1.0))
    for scenario in (*SCENARIOS, clean):
        ks: list[int | None] = []
        kw: list[int | None] = []
        singles: list[int | None] = []
        brights: list[int | None] = []
        early = 0
        for r in range(replicates):
            seed = args.seed * 1000 + 10 + r
            base_r = profile_of(
                measure(crops(args.baseline, seed * 7 + 1, photos), gain(1.0), config),
                np.arange(args.baseline, dtype=np.intp),
                config,
                "baseline",
            )
            arrays = crops(RUNS * PER_RUN, seed * 7 + 2, photos)
            runs = run_profiles(drifted_runs(arrays, scenario, STEP, config))
            k = detect_slow_drift(base_r, runs, slow).first_alarm_run
            kw.append(detect_slow_drift(base_r, runs, welch).first_alarm_run)
            first_any = first_b = None
            for t, run in enumerate(runs):
                report = visiondrift.compare(base_r, run)
                if report.overall_drift_detected and first_any is None:
                    first_any = t + 1
                bright = next(m for m in report.metrics if m.name == "brightness")
                if bright.status == "drift" and first_b is None:
                    first_b = t + 1
                if first_any is not None and first_b is not None:
                    break
            ks.append(k)
            singles.append(first_any)
            brights.append(first_b)
            early += first_any is not None and (k is None or first_any <= k)
        out(
            f"| {scenario.name if scenario is clean else f'{scenario.name} {STEP}'} | {span(ks)} | "
            f"{span(kw)} | {span(singles)} | "
            f"{span(brights)} | "
            f"{early} of {replicates} |"
        )
    out()

    # ------------------------------------------------------------ 3. rates and baseline sizes
    out("## First alarm run k (KS / Welch) by drift rate and baseline size (replicate 0)")
    out()
    out("| drift | " + " | ".join(f"baseline {n}" for n in BASELINE_SIZES) + " |")
    out("|---|" + "---:|" * len(BASELINE_SIZES))
    for scenario in SCENARIOS:
        for step in STEPS:
            runs = run_profiles(drifted_runs(run_arrays, scenario, step, config))
            cells = [
                " / ".join(
                    str(detect_slow_drift(baseline_of(n), runs, c).first_alarm_run or "never")
                    for c in (slow, welch)
                )
                for n in BASELINE_SIZES
            ]
            out(f"| {scenario.name}, step {step} | " + " | ".join(cells) + " |")
    out()

    # ------------------------------------------------------------ 4. false alarms
    pool = Measured(
        np.concatenate([base_m.hists, clean_m.hists]),
        np.concatenate([base_m.values, clean_m.values]),
    )
    n_all = pool.values.shape[0]
    rng = np.random.default_rng([args.seed, 3])
    alarms = dict.fromkeys(("ks", "welch"), 0)
    per_window = {test: dict.fromkeys(slow.windows, 0) for test in alarms}
    check_time = dict.fromkeys(alarms, 0.0)
    for _ in range(sequences):
        base_p = profile_of(pool, rng.integers(0, n_all, args.baseline), config, "baseline")
        runs = [
            profile_of(pool, rng.integers(0, n_all, PER_RUN), config, "run") for _ in range(RUNS)
        ]
        for cfg in (slow, welch):
            t1 = time.perf_counter()
            monitor = SlowDriftMonitor(base_p, cfg)
            windows_alarmed: set[int] = set()
            for run in runs:
                monitor.update(run)
                windows_alarmed |= {w.window for w in monitor.result.tests if w.drift_detected}
            check_time[cfg.test] += time.perf_counter() - t1
            alarms[cfg.test] += monitor.result.first_alarm_run is not None
            for w in windows_alarmed:
                per_window[cfg.test][w] += 1
    q99 = int(stats.binom.ppf(0.99, sequences, ALPHA))
    out(
        f"## False alarms on clean sequences ({sequences} sequences of {RUNS} runs x {PER_RUN} "
        f"images and a baseline of {args.baseline}, drawn with replacement from {n_all} "
        "measured real crops)"
    )
    out()
    out(
        "| test | sequences with an alarm | fraction | 95% CI (Clopper-Pearson) | stated rate | "
        "99th pct. Binomial bound | within | alarms by window |"
    )
    out("|---|---:|---:|---|---:|---:|---|---|")
    for test, count in alarms.items():
        lo, hi = clopper_pearson(count, sequences)
        windows = ", ".join(f"{w}: {c}" for w, c in per_window[test].items())
        out(
            f"| {test} | {count} | {count / sequences:.4f} | [{lo:.4f}, {hi:.4f}] | {ALPHA} | "
            f"{q99} | {'yes' if count <= q99 else 'NO'} | {windows} |"
        )
    out()
    out(
        f"Slow-drift checks of one sequence of {RUNS} runs (a monitor's {RUNS} updates): "
        + ", ".join(f"{t} {v / sequences * 1e3:.1f} ms" for t, v in check_time.items())
        + "."
    )
    out()
    out(f"Total time: {time.perf_counter() - start:.0f} s.")
    if args.out is not None:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
