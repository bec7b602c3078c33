"""Size and rendering time of the HTML report for a 10,000-image baseline (issue 5, item 1).

Usage::

    python benchmarks/report_size.py [--work DIR] [--n-baseline 10000] [--n-batch 1000]

Writes (once, cached in --work) a baseline of N animal-mnist silhouettes (real labelled images
from the ``animal-mnist`` pip package) as 64x64 PNGs in class folders, and a production batch
as 256x256 PNGs with a new camera (``CameraChange``), the class mix changed ('cat' 3x as
frequent) and a few unreadable files. Both are profiled with the demo classifier (ONNX), so
the page has every section: property, channel, class-mix, confidence and per-class charts,
the integrity list and the atypical-image gallery. In the same run, the same batch against a
baseline of a tenth of the size shows whether the page grows with the baseline.

Printed: the page size with thumbnails on and off, its ratio to the 2 MB budget, the size of
the JSON report, the bytes taken by charts and by thumbnails, and the rendering time (median of
--repeat renders of the same report, thumbnails read from disk included).
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path

import numpy as np

from visiondrift import compare, generate_html_report, profile
from visiondrift.demo._run import _pick, _write_animals
from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.demo.samples import CameraChange
from visiondrift.drift import DriftReport

BUDGET = 2_000_000


def ensure_data(work: Path, n_baseline: int, n_batch: int) -> tuple[Path, Path, Path, Path]:
    """The demo model, a large and a small baseline folder, and a changed batch (cached)."""
    models = build_demo_models(work / "model") if not (work / "model").is_dir() else None
    onnx = work / "model" / "demo.onnx"
    data = load_demo_dataset("animal-mnist")
    names = data.class_names
    rng = np.random.default_rng(11)
    everything = np.arange(len(data.images), dtype=np.int64)
    big, small, batch = (
        work / f"baseline_{n_baseline}",
        work / f"baseline_{n_baseline // 10}",
        work / f"batch_{n_batch}",
    )
    if not big.is_dir():
        print(f"writing {n_baseline} silhouettes in {big} ...", flush=True)
        idx = rng.choice(everything, size=n_baseline, replace=n_baseline > len(everything))
        _write_animals(big, data.images[idx], data.labels[idx], names, size=64, seed=1)
    if not small.is_dir():
        idx = rng.choice(everything, size=n_baseline // 10, replace=False)
        _write_animals(small, data.images[idx], data.labels[idx], names, size=64, seed=2)
    if not batch.is_dir():
        print(f"writing a changed batch of {n_batch} in {batch} ...", flush=True)
        target = names.index("cat")
        k = round(3 * float(np.mean(data.labels == target)) * n_batch)
        idx, _ = _pick(rng, everything, data.labels, n_batch, boost=(target, k))
        _write_animals(
            batch,
            data.images[idx],
            data.labels[idx],
            names,
            size=256,  # thumbnails at their full 128 px, as with camera images
            seed=3,
            transform=CameraChange(),
        )
        for i in range(12):  # unreadable files, listed by name in the integrity section
            (batch / names[i % len(names)] / f"truncated_{i:02d}.png").write_bytes(b"\x89PNG\r\n")
    del models
    return onnx, big, small, batch


def chart_bytes(page: str) -> int:
    return sum(len(m) for m in re.findall(r'<svg class="chart.*?</svg>', page, re.S))


def thumbnail_bytes(page: str) -> int:
    return sum(len(m) for m in re.findall(r'src="data:image/jpeg;base64,[^"]*"', page))


def measure(report: DriftReport, batch: Path, out: Path, repeat: int) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        generate_html_report(report, out / "with.html", image_root=batch)
        times.append(time.perf_counter() - start)
    generate_html_report(report, out / "without.html", image_root=batch, thumbnails=False)
    page = (out / "with.html").read_text(encoding="utf-8")
    report.save(out / "report.json")
    return {
        "with": (out / "with.html").stat().st_size,
        "without": (out / "without.html").stat().st_size,
        "json": (out / "report.json").stat().st_size,
        "charts": chart_bytes(page),
        "thumbs": thumbnail_bytes(page),
        "n_thumbs": page.count('src="data:image/jpeg;base64,'),
        "render": statistics.median(times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks/_work/report_size"))
    parser.add_argument("--n-baseline", type=int, default=10_000)
    parser.add_argument("--n-batch", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    onnx, big, small, batch = ensure_data(args.work, args.n_baseline, args.n_batch)

    print("profiling ...", flush=True)
    current = profile(batch, model=onnx)
    rows = []
    for name, folder in ((f"{args.n_baseline:,}-image baseline", big), ("1/10 of it", small)):
        baseline = profile(folder, model=onnx)
        report = compare(baseline, current)
        out = args.work / folder.name
        out.mkdir(exist_ok=True)
        rows.append((name, baseline.n_images, report, measure(report, batch, out, args.repeat)))

    print(
        "\n| baseline | images | drifted | page with thumbnails | ratio to 2 MB | without "
        "thumbnails | charts | thumbnails (count) | JSON report | render (median) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, n, report, m in rows:
        print(
            f"| {name} | {n:,} | {report.n_drifted} of {report.n_tests} | "
            f"{m['with'] / 1000:,.0f} KB | {m['with'] / BUDGET:.3f} | "
            f"{m['without'] / 1000:,.0f} KB | {m['charts'] / 1000:,.0f} KB | "
            f"{m['thumbs'] / 1000:,.0f} KB ({m['n_thumbs']:.0f}) | {m['json'] / 1000:,.0f} KB | "
            f"{m['render']:.2f} s |"
        )
    big_with, small_with = rows[0][3]["with"], rows[1][3]["with"]
    print(
        f"\npage size, {args.n_baseline:,}-image baseline / 1/10 of it: {big_with / small_with:.3f}"
    )
    verdict = "met" if big_with <= BUDGET else "NOT met"
    print(f"budget (at most 2 MB with thumbnails on): {verdict}")


if __name__ == "__main__":
    main()
