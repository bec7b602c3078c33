"""Detection-quality benchmark: false alarms and detection power of ``visiondrift.compare``.

Real images from a pip package (animal-mnist, the demo model's data set, upscaled to 64 x 64 RGB)
are split into a reference pool (the baseline) and a test pool (batches). Shifts are applied to
the test pool: additive Gaussian noise, Gaussian blur, brightness, contrast, JPEG compression,
pixelation, small rotation, small translation, a changed class mix (resampling by label) and a
mixture in which only part of the batch is shifted (noise, sigma 8), each at three strengths.
A table of its own: partial contamination, where 10% or 25% of a batch of 100 or 200 images
comes from a broken camera (the strongest noise, blur, JPEG and pixelation shifts) and the rest
is clean (``--contamination-trials``, 0 skips it).

Harmless shifts (a JPEG round trip at quality 95, a gain of x1.02, a 1% resize, re-encoding the PNG
files as JPEG at quality 95) change nothing a person or the model would notice: the benchmark
counts how often the report's severity stays ``none`` or ``low`` on them (:func:`harmless_table`).

Speed: every image of every (pool, shift, strength) is measured once (``ImageMeasurer``, the
profiler's own code, plus the demo ONNX model on the same arrays, plus the PNG file size); a trial
profile is then assembled from the rows of its images (:func:`subset_profile`), exactly as the
profiler would have built it, so a trial costs one ``compare`` call.

Baseline detector, in the same trials: per-class Kolmogorov-Smirnov on the model's softmax
outputs with a Bonferroni correction (black-box shift detection, BBSD; Rabanser, Günnemann and
Lipton, "Failing Loudly", NeurIPS 2019).

Batches carry no labels (production batches rarely do), so the label-mix and accuracy tests do
not take part; the class-mix shift has to be seen through the model's outputs and the images.

Usage::

    python benchmarks/detection.py [--quick] [--out FILE] [--harmless-trials N]
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter
from scipy import stats

import visiondrift
from visiondrift.decode import DecodedImage
from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.measure import ImageMeasurer
from visiondrift.model_summary import ModelSummary, model_column_values
from visiondrift.models import ModelSpec
from visiondrift.profiles import Profile, ProfileConfig
from visiondrift.properties import PROPERTY_NAMES
from visiondrift.sketches import CategoryCounts, Moments, Reservoir

SIZES = (20, 50, 100, 200, 500)
SIDE = 64
ALPHA = 0.05

Shift = Callable[[NDArray[np.uint8], np.random.Generator], NDArray[np.uint8]]


@dataclass
class Measured:
    """Per-image rows of one set of images: histograms, properties, probabilities, embeddings."""

    hists: NDArray[np.int64]
    values: NDArray[np.float64]
    probs: NDArray[np.float32]
    embedding: NDArray[np.float32]
    labels: NDArray[np.int64]


def _pil(a: NDArray[np.uint8]) -> Image.Image:
    return Image.fromarray(a, mode="RGB")


def _noise(sigma: float) -> Shift:
    def f(a: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
        out = a.astype(np.float64) + rng.normal(0.0, sigma, a.shape)
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)

    return f


def _blur(radius: float) -> Shift:
    return lambda a, rng: np.asarray(_pil(a).filter(ImageFilter.GaussianBlur(radius)))


def _brightness(delta: float) -> Shift:
    return lambda a, rng: np.clip(a.astype(np.int16) + int(delta), 0, 255).astype(np.uint8)


def _contrast(factor: float) -> Shift:
    def f(a: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
        mean = float(a.mean())
        out: NDArray[np.uint8] = np.clip(np.rint(mean + factor * (a - mean)), 0, 255).astype(
            np.uint8
        )
        return out

    return f


def _jpeg(quality: int) -> Shift:
    def f(a: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
        buf = io.BytesIO()
        _pil(a).save(buf, format="JPEG", quality=quality)
        return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

    return f


def _pixelate(factor: int) -> Shift:
    def f(a: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
        small = _pil(a).resize((SIDE // factor, SIDE // factor), Image.Resampling.BILINEAR)
        return np.asarray(small.resize((SIDE, SIDE), Image.Resampling.NEAREST))

    return f


def _rotate(degrees: float) -> Shift:
    def f(a: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
        angle = degrees * (1 if rng.random() < 0.5 else -1)
        return np.asarray(_pil(a).rotate(angle, Image.Resampling.BILINEAR))

    return f


def _translate(pixels: int) -> Shift:
    def f(a: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
        dx, dy = (int(v) * pixels for v in rng.choice([-1, 1], size=2))
        return np.asarray(_pil(a).rotate(0, translate=(dx, dy)))

    return f


#: (family, strength label, transform) of every pixel-level shift.
PIXEL_SHIFTS: list[tuple[str, str, Shift]] = [
    *[("noise", f"sigma {s}", _noise(s)) for s in (2.0, 4.0, 8.0)],
    *[("blur", f"radius {r}", _blur(r)) for r in (0.3, 0.5, 1.0)],
    *[("brightness", f"+{d}", _brightness(d)) for d in (2, 4, 8)],
    *[("contrast", f"x{c}", _contrast(c)) for c in (0.97, 0.93, 0.85)],
    *[("jpeg", f"quality {q}", _jpeg(q)) for q in (75, 50, 20)],
    *[("pixelation", f"1/{k}", _pixelate(k)) for k in (2, 3, 4)],
    *[("rotation", f"{d} deg", _rotate(d)) for d in (2.0, 5.0, 10.0)],
    *[("translation", f"{p} px", _translate(p)) for p in (1, 2, 4)],
]
#: Share of the batch drawn from one class (instead of the pool's mix).
CLASS_MIX = (0.2, 0.4, 0.6)
#: Share of the batch replaced by noisy images (additive Gaussian noise, sigma 8).
MIXTURE = (0.05, 0.1, 0.25)
#: Partial contamination ("one camera in ten is broken"): share of the batch that comes from a
#: broken camera, the batch sizes, and the breakages (strongest strength of a pixel shift).
CONTAMINATION = (0.1, 0.25)
CONTAMINATION_SIZES = (100, 200)
CONTAMINATION_KINDS = (
    ("noise", "sigma 8.0"),
    ("blur", "radius 1.0"),
    ("jpeg", "quality 20"),
    ("pixelation", "1/4"),
)


#: Harmless shifts: (label, transform, file format the images are stored in).
HARMLESS: list[tuple[str, Shift, str]] = [
    ("JPEG q95 round trip", _jpeg(95), "PNG"),
    ("gain x1.02", lambda a, rng: np.clip(np.rint(a * 1.02), 0, 255).astype(np.uint8), "PNG"),
    (
        "resize 1%",
        lambda a, rng: np.asarray(
            _pil(a).resize((round(SIDE * 1.01),) * 2, Image.Resampling.BICUBIC)
        ),
        "PNG",
    ),
    ("PNG re-encoded as JPEG q95", lambda a, rng: a, "JPEG"),
]
#: Batch sizes of the harmless cells, and the share of trials that must stay "none" or "low".
HARMLESS_SIZES = (200, 500)
HARMLESS_MIN_SHARE = 0.9


def upscale(images: NDArray[np.uint8]) -> NDArray[np.uint8]:
    return np.stack(
        [
            np.asarray(
                Image.fromarray(im).resize((SIDE, SIDE), Image.Resampling.BILINEAR).convert("RGB")
            )
            for im in images
        ]
    )


def measure_set(
    arrays: NDArray[np.uint8], labels: NDArray[np.int64], config: ProfileConfig, model: object
) -> Measured:
    """Measure every image once: properties as the profiler does, and the model's outputs."""
    measurer = ImageMeasurer(config.measure)
    for a in arrays:
        buf = io.BytesIO()
        im = _pil(a)
        im.save(buf, format="PNG")
        measurer.add(DecodedImage(im, "PNG", "RGB", SIDE, SIDE, len(buf.getvalue()), 1))
    hists, values = measurer.finish()
    out = model.predict(list(arrays))  # type: ignore[attr-defined]
    emb = out.embedding if out.embedding is not None else np.zeros((len(arrays), 1), np.float32)
    return Measured(hists, values, out.probabilities, emb, labels)


def measure_encoded(
    arrays: list[NDArray[np.uint8]],
    labels: NDArray[np.int64],
    config: ProfileConfig,
    model: object,
    fmt: str,
) -> Measured:
    """Like :func:`measure_set` for images of any size stored as ``fmt`` (``PNG`` or ``JPEG``
    at quality 95): the measured pixels, sizes and file sizes are those of the stored file."""
    measurer = ImageMeasurer(config.measure)
    decoded = []
    for a in arrays:
        buf = io.BytesIO()
        _pil(a).save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        im = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        decoded.append(np.asarray(im))
        measurer.add(DecodedImage(im, fmt, "RGB", im.width, im.height, len(buf.getvalue()), 1))
    hists, values = measurer.finish()
    out = model.predict(decoded)  # type: ignore[attr-defined]
    emb = out.embedding if out.embedding is not None else np.zeros((len(arrays), 1), np.float32)
    return Measured(hists, values, out.probabilities, emb, labels)


def harmless_table(
    baseline: Profile,
    test_arrays: NDArray[np.uint8],
    test_labels: NDArray[np.int64],
    config: ProfileConfig,
    model: object,
    class_names: tuple[str, ...],
    trials: int,
    seed: int,
) -> tuple[list[str], bool]:
    """Markdown rows of the harmless cells: share of trials whose severity is none or low (and
    whose verdict is drift), and whether every cell reaches :data:`HARMLESS_MIN_SHARE`.

    Self-contained: its own seeded generator, so the other tables draw the same batches
    whether or not it runs.
    """
    rng = np.random.default_rng([seed, 9])
    n_pool = len(test_arrays)
    rows = [
        f"## Harmless shifts: severity none or low ({trials} trials per cell, images and model)",
        "",
        "| shift | " + " | ".join(f"n={n}: none/low (drift)" for n in HARMLESS_SIZES) + " |",
        "|---|" + "---:|" * len(HARMLESS_SIZES),
    ]
    ok = True
    for label, fn, fmt in HARMLESS:
        srng = np.random.default_rng([seed, 7, len(rows)])
        arrays = [fn(a, srng) for a in test_arrays]
        m = measure_encoded(arrays, test_labels, config, model, fmt)
        parts = []
        for n in HARMLESS_SIZES:
            calm = drift = 0
            for _ in range(trials):
                idx = rng.choice(n_pool, size=n, replace=False)
                prof = subset_profile(m, idx, config, class_names)
                prof = dataclasses.replace(prof, formats=CategoryCounts({fmt: n}))
                report = visiondrift.compare(baseline, prof)
                calm += report.severity in ("none", "low")
                drift += report.overall_drift_detected
            ok &= calm >= HARMLESS_MIN_SHARE * trials
            parts.append(f"{calm / trials:.2f} ({drift / trials:.2f})")
        rows.append(f"| {label} | " + " | ".join(parts) + " |")
    rows.append("")
    return rows, ok


def subset_profile(
    m: Measured,
    idx: NDArray[np.intp],
    config: ProfileConfig,
    class_names: tuple[str, ...],
    with_model: bool = True,
) -> Profile:
    """The profile the profiler would build from the images at ``idx`` (no labels)."""
    n = int(idx.size)
    values = m.values[idx]
    columns = {name: values[:, i].copy() for i, name in enumerate(PROPERTY_NAMES)}
    vectors: dict[str, NDArray[np.float32]] = {}
    model = None
    if with_model:
        probs = m.probs[idx].astype(np.float32)
        columns.update(model_column_values(probs))
        vectors = {"probs": probs, "embedding": m.embedding[idx].astype(np.float32)}
        model = ModelSummary.empty(class_names, {"name": "demo"}, None).add(
            probs, config.low_confidence
        )
    reservoir = Reservoir(
        config.reservoir_size,
        np.arange(n, dtype=np.uint64),
        tuple(f"img{int(i):05d}.png" for i in idx),
        tuple(None for _ in range(n)),
        columns,
        vectors,
    )
    return Profile(
        config=config,
        n_files=n,
        n_images=n,
        bad_counts={},
        bad_files=(),
        channels=m.hists[idx].sum(axis=0),
        moments={k: Moments.of(columns[k]) for k in PROPERTY_NAMES},
        formats=CategoryCounts({"PNG": n}),
        modes=CategoryCounts({"RGB": n}),
        labels=CategoryCounts({}),
        reservoir=reservoir,
        model=model,
    )


def bbsd_baseline(ref_probs: NDArray[np.float32], cur_probs: NDArray[np.float32]) -> bool:
    """Per-class KS on softmax outputs, Bonferroni over classes (Rabanser et al. 2019)."""
    k = ref_probs.shape[1]
    p = min(float(stats.ks_2samp(ref_probs[:, j], cur_probs[:, j]).pvalue) for j in range(k))
    return bool(min(1.0, k * p) <= ALPHA)


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a, k + 1, n - k))
    return lo, hi


def contamination_table(
    args: argparse.Namespace,
    out: Callable[..., None],
    rng: np.random.Generator,
    test: Measured,
    shifted: dict[tuple[str, str], Measured],
    n_pool: int,
    both: Callable[[Measured, NDArray[np.intp]], tuple[bool, bool]],
) -> None:
    """Partial contamination: a share of the batch comes from a broken camera, the rest is clean.

    Each trial draws ``n`` distinct test-pool images; the first ``share * n`` of them come through
    the breakage (the same image never appears twice, clean and broken). Own table, with more
    trials than the detection table, so that rates near 0.2 and 0.8 can be told apart.
    """
    trials = args.contamination_trials
    if trials is None:
        trials = 10 if args.quick else 20
    if trials <= 0:
        return
    out(
        f"## Partial contamination ({trials} trials per cell; visiondrift / BBSD baseline): "
        "a share of the batch from a broken camera"
    )
    out()
    out("| breakage | share | " + " | ".join(f"n={n}" for n in CONTAMINATION_SIZES) + " |")
    out("|---|---:|" + "---:|" * len(CONTAMINATION_SIZES))
    for family, strength in CONTAMINATION_KINDS:
        broken = shifted[(family, strength)]
        pair = Measured(
            np.concatenate([test.hists, broken.hists]),
            np.concatenate([test.values, broken.values]),
            np.concatenate([test.probs, broken.probs]),
            np.concatenate([test.embedding, broken.embedding]),
            np.concatenate([test.labels, broken.labels]),
        )
        for share in CONTAMINATION:
            parts = []
            for n in CONTAMINATION_SIZES:
                vd = bb = 0
                for _ in range(trials):
                    idx = rng.choice(n_pool, size=n, replace=False)
                    idx[: round(share * n)] += n_pool  # the first images come broken
                    a, b = both(pair, idx)
                    vd += a
                    bb += b
                parts.append(f"{vd / trials:.2f} / {bb / trials:.2f}")
            out(f"| {family} {strength} | {share:.0%} | " + " | ".join(parts) + " |")
    out()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer trials (a smoke run)")
    parser.add_argument("--out", type=Path, help="also write the markdown tables to FILE")
    parser.add_argument("--null-trials", type=int, default=None)
    parser.add_argument("--shift-trials", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--contamination-trials",
        type=int,
        default=None,
        help="trials per partial-contamination cell (default 20, 10 with --quick; 0 skips them)",
    )
    parser.add_argument(
        "--harmless-trials",
        type=int,
        default=None,
        help="trials per harmless cell (default 20, 5 with --quick; 0 skips them)",
    )
    args = parser.parse_args(argv)
    null_trials = args.null_trials or (40 if args.quick else 200)
    shift_trials = args.shift_trials or (3 if args.quick else 6)
    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)

    data = load_demo_dataset("animal-mnist")
    names = data.class_names
    tmp = Path(tempfile.mkdtemp(prefix="vd-detection-"))
    paths = build_demo_models(tmp, seed=args.seed, epochs=10)
    spec = ModelSpec(paths.onnx, labels=names, embedding="embedding")
    model = spec.load()
    config = ProfileConfig(model=spec)

    # Reference pool (the baseline) and test pool, disjoint, from the demo model's held-out
    # images first (the model never saw them), then from the rest.
    order = np.r_[
        rng.permutation(paths.test_indices),
        rng.permutation(np.setdiff1d(np.arange(len(data.labels)), paths.test_indices)),
    ]
    n_test_pool = 1000
    n_ref = 2000 if args.quick else 3000
    test_idx, ref_idx = order[:n_test_pool], order[n_test_pool : n_test_pool + n_ref]
    ref_arrays = upscale(data.images[ref_idx])
    test_arrays = upscale(data.images[test_idx])
    ref = measure_set(ref_arrays, data.labels[ref_idx], config, model)
    test = measure_set(test_arrays, data.labels[test_idx], config, model)
    baseline = subset_profile(ref, np.arange(n_ref), config, names)
    shifted: dict[tuple[str, str], Measured] = {}
    for family, strength, fn in PIXEL_SHIFTS:
        srng = np.random.default_rng([args.seed, len(shifted)])
        arrays = np.stack([fn(a, srng) for a in test_arrays])
        shifted[(family, strength)] = measure_set(arrays, test.labels, config, model)
    prep = time.perf_counter() - start
    print(
        f"# prepared {n_ref} reference + {n_test_pool} test images x "
        f"{1 + len(PIXEL_SHIFTS)} sets in {prep:.0f} s",
        file=sys.stderr,
    )

    def both(cur: Measured, idx: NDArray[np.intp]) -> tuple[bool, bool]:
        prof = subset_profile(cur, idx, config, names)
        report = visiondrift.compare(baseline, prof)
        return report.overall_drift_detected, bbsd_baseline(ref.probs, cur.probs[idx])

    lines: list[str] = []

    def out(line: str = "") -> None:
        lines.append(line)
        print(line, flush=True)

    # ---------------------------------------------------------------- no shift
    q99 = {n: int(stats.binom.ppf(0.99, null_trials, ALPHA)) for n in SIZES}
    out(f"## False alarms on no-shift batches ({null_trials} trials per size, alpha {ALPHA})")
    out()
    out(
        "| size | visiondrift alarms | rate | 95% CI (Clopper-Pearson) | BBSD alarms | rate | "
        "99th pct. Binomial bound | pass |"
    )
    out("|---:|---:|---:|---|---:|---:|---:|---|")
    calibrated = True
    for n in SIZES:
        vd = bb = 0
        for _ in range(null_trials):
            idx = rng.choice(n_test_pool, size=n, replace=False)
            a, b = both(test, idx)
            vd += a
            bb += b
        lo, hi = clopper_pearson(vd, null_trials)
        ok = vd <= q99[n]
        calibrated &= ok
        out(
            f"| {n} | {vd} | {vd / null_trials:.3f} | [{lo:.3f}, {hi:.3f}] | {bb} | "
            f"{bb / null_trials:.3f} | {q99[n]} | {'yes' if ok else 'NO'} |"
        )
    out()

    # ---------------------------------------------------------------- shifts
    out(f"## Detection rate ({shift_trials} trials per cell; visiondrift / BBSD baseline)")
    out()
    out("| family | strength | " + " | ".join(f"n={n}" for n in SIZES) + " |")
    out("|---|---|" + "---:|" * len(SIZES))
    hits_vd = dict.fromkeys(SIZES, 0)
    hits_bb = dict.fromkeys(SIZES, 0)
    cells = 0
    labels = test.labels

    def row(
        family: str, strength: str, draw: Callable[[int], tuple[Measured, NDArray[np.intp]]]
    ) -> None:
        nonlocal cells
        cells += 1
        parts = []
        for n in SIZES:
            vd = bb = 0
            for _ in range(shift_trials):
                cur, idx = draw(n)
                a, b = both(cur, idx)
                vd += a
                bb += b
            hits_vd[n] += vd
            hits_bb[n] += bb
            parts.append(f"{vd / shift_trials:.2f} / {bb / shift_trials:.2f}")
        out(f"| {family} | {strength} | " + " | ".join(parts) + " |")

    for (family, strength), m in shifted.items():

        def draw_shifted(n: int, m: Measured = m) -> tuple[Measured, NDArray[np.intp]]:
            return m, rng.choice(n_test_pool, size=n, replace=False)

        row(family, strength, draw_shifted)
    target = int(np.bincount(labels).argmax())
    in_class = np.flatnonzero(labels == target)
    others = np.flatnonzero(labels != target)
    for share in CLASS_MIX:

        def draw_mix(n: int, share: float = share) -> tuple[Measured, NDArray[np.intp]]:
            k = round(share * n)
            idx = np.r_[
                rng.choice(in_class, size=min(k, in_class.size), replace=False),
                rng.choice(others, size=n - min(k, in_class.size), replace=False),
            ]
            return test, idx.astype(np.intp)

        row("class mix", f"{share:.0%} one class ({names[target]})", draw_mix)
    noisy = shifted[("noise", "sigma 8.0")]
    both_sets = Measured(
        np.concatenate([test.hists, noisy.hists]),
        np.concatenate([test.values, noisy.values]),
        np.concatenate([test.probs, noisy.probs]),
        np.concatenate([test.embedding, noisy.embedding]),
        np.concatenate([test.labels, noisy.labels]),
    )
    for share in MIXTURE:

        def draw_part(n: int, share: float = share) -> tuple[Measured, NDArray[np.intp]]:
            idx = rng.choice(n_test_pool, size=n, replace=False)
            k = round(share * n)
            idx[:k] += n_test_pool  # the first k images come noisy
            return both_sets, idx

        row("mixture", f"{share:.0%} noisy (sigma 8)", draw_part)
    out()
    contamination_table(args, out, rng, test, shifted, n_test_pool, both)

    # ---------------------------------------------------------------- harmless shifts
    harmless_trials = (
        (5 if args.quick else 20) if args.harmless_trials is None else args.harmless_trials
    )
    harmless_ok = True
    if harmless_trials > 0:
        rows, harmless_ok = harmless_table(
            baseline, test_arrays, test.labels, config, model, names, harmless_trials, args.seed
        )
        for line in rows:
            out(line)

    # ---------------------------------------------------------------- summary
    out("## Detection rate over all shifts")
    out()
    out("| size | visiondrift | BBSD baseline |")
    out("|---:|---:|---:|")
    per_cell = cells * shift_trials
    for n in SIZES:
        out(f"| {n} | {hits_vd[n] / per_cell:.3f} | {hits_bb[n] / per_cell:.3f} |")
    total_vd, total_bb = sum(hits_vd.values()), sum(hits_bb.values())
    out(
        f"| all | {total_vd / (per_cell * len(SIZES)):.3f} | "
        f"{total_bb / (per_cell * len(SIZES)):.3f} |"
    )
    out()
    power_ok = all(hits_vd[n] >= hits_bb[n] for n in SIZES if n >= 50) and total_vd > total_bb
    out(
        f"- Calibration (false alarms <= 99th percentile of Binomial({null_trials}, {ALPHA}) at "
        f"every size): {'PASS' if calibrated else 'FAIL'}"
    )
    out(
        f"- Power (visiondrift >= BBSD at every size from 50, higher overall): "
        f"{'PASS' if power_ok else 'FAIL'}"
    )
    if harmless_trials > 0:
        out(
            f"- Harmless shifts (severity none or low in at least {HARMLESS_MIN_SHARE:.0%} of "
            f"trials in every cell): {'PASS' if harmless_ok else 'FAIL'}"
        )
    out(
        f"- Run time {time.perf_counter() - start:.0f} s "
        f"({'quick' if args.quick else 'full'} run, seed {args.seed})."
    )
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0 if calibrated and power_ok and harmless_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
