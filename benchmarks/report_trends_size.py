"""Size and rendering time of the HTML report's History section (issue 11, point 4).

Usage::

    python benchmarks/report_trends_size.py [--work DIR] [--runs 7] [--n-baseline 400]
        [--n-batch 200]

Trains the demo classifier (ONNX) on animal-mnist silhouettes (real labelled images from the
``animal-mnist`` pip package), profiles a baseline of them, then ``--runs`` batches that drift a
little more at each run: darker (``CameraChange`` gain from 1 down to 0.7) and with 'cat' more
frequent (1x to 3x). Every run is compared with the baseline; the trends of all runs are built
from the reports (:func:`visiondrift.drift.trends.series_from_reports`), so the page of the last
run shows the headline metrics (brightness, sharpness, model confidence, predicted-class mix,
and the share of unusable files when there are any) and every metric that drifted.

Printed: the page's size without and with trends (thumbnails off, so that the difference is the
History section), the number of trend charts and their total and largest size, the time to
render the page with and without trends (median of --repeat), and the Markdown History lines.
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from visiondrift import compare, profile
from visiondrift.demo._run import _pick, _write_animals
from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.demo.samples import CameraChange
from visiondrift.drift.trends import series_from_reports
from visiondrift.report import render_html, render_markdown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=Path("benchmarks/_work/report_trends"))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--n-baseline", type=int, default=400)
    parser.add_argument("--n-batch", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    onnx = args.work / "model" / "demo.onnx"
    if not onnx.is_file():
        build_demo_models(args.work / "model")
    data = load_demo_dataset("animal-mnist")
    names = data.class_names
    rng = np.random.default_rng(5)
    pool = np.arange(len(data.images), dtype=np.int64)
    base_dir = args.work / "baseline"
    idx, _ = _pick(rng, pool, data.labels, args.n_baseline)
    if not base_dir.is_dir():
        _write_animals(base_dir, data.images[idx], data.labels[idx], names, size=64, seed=1)
    baseline = profile(base_dir, model=onnx, workers=1)
    cat = names.index("cat")
    share = float(np.mean(data.labels == cat))
    reports = []
    for run in range(args.runs):
        step = run / max(args.runs - 1, 1)
        folder = args.work / f"run{run}"
        if not folder.is_dir():
            k = round((1 + 2 * step) * share * args.n_batch)
            picked, _ = _pick(rng, pool, data.labels, args.n_batch, boost=(cat, k))
            change = CameraChange(gain=1.0 - 0.3 * step, blur=0.0, noise=0.0)
            _write_animals(
                folder,
                data.images[picked],
                data.labels[picked],
                names,
                size=64,
                seed=10 + run,
                transform=change,
            )
        reports.append(compare(baseline, profile(folder, config=baseline.config, workers=1)))
    start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    times = [start + timedelta(days=i) for i in range(args.runs)]
    trends = series_from_reports(reports, times, dataset="animals")
    last = reports[-1]
    timings: dict[str, list[float]] = {"without": [], "with": []}
    pages = {}
    for _ in range(args.repeat):
        for key, given in (("without", None), ("with", trends)):
            began = time.perf_counter()
            pages[key] = render_html(last, trends=given)
            timings[key].append(time.perf_counter() - began)
    charts = re.findall(r'<svg class="chart trend".*?</svg>', pages["with"], re.S)
    sizes = [len(c.encode()) for c in charts]
    without, with_ = (len(pages[k].encode()) for k in ("without", "with"))
    print(f"runs: {args.runs}; metrics drifted in the last run: {last.n_drifted}")
    print(f"page without trends: {without / 1e3:.1f} KB")
    print(f"page with trends:    {with_ / 1e3:.1f} KB (+{(with_ - without) / 1e3:.1f} KB)")
    print(
        f"trend charts: {len(charts)}, {sum(sizes) / 1e3:.1f} KB in all, "
        f"largest {max(sizes, default=0) / 1e3:.1f} KB"
    )
    for key in ("without", "with"):
        print(f"render {key} trends: {statistics.median(timings[key]):.2f} s")
    history = render_markdown(last, trends=trends).split("#### History", 1)[1]
    print("Markdown History:" + history.rstrip())
    (args.work / "with.html").write_text(pages["with"], encoding="utf-8")


if __name__ == "__main__":
    main()
