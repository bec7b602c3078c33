"""End-to-end demo on real photos: ``python -m visiondrift.demo [--out DIR]``.

1. Builds a validation set of crops of real photos shipped by scikit-image, scikit-learn and
   matplotlib.
2. Builds two "production" batches: one from the same camera (fresh crops of the same photos)
   and one where the camera changed: darker, softer and noisier.
3. Profiles the validation set into a baseline and runs the monitor (the application core that
   ``visiondrift monitor`` uses, :class:`visiondrift.app.Monitor`) on each batch, in this process,
   and prints what was found and where the reports and dashboards are.

4. With the model (skip with ``--no-model``): trains the small demo classifier on real labelled
   animal silhouettes (``animal-mnist``, a pip package), exports it to ONNX, writes held-out
   silhouettes as 64x64 PNGs in ImageFolder layout (one folder per class) for a validation set
   and two batches: one unchanged, and one where both the camera changed (darker, softer,
   noisier) and the class mix changed (one class 3x as frequent). Profiles the baseline with the
   model and monitors each batch the same way, and prints what was found:
   the camera change, the class-mix change, the model's confidence and accuracy.

5. The production loop (skip with ``--no-loop``): ``visiondrift watch --once`` over an inbox of
   three daily batches (the last one from the new camera), with alerts to a webhook receiver on
   127.0.0.1 that checks each request's signature; prints what the team was told, then runs the
   watcher again to show that nothing is processed or sent twice.

Exit code 0 when the changed batches are flagged and the unchanged ones are not; 1 otherwise;
2 when an input is unusable (with the error's message).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from visiondrift.demo.samples import CameraChange, Transform, make_dataset, real_photos
from visiondrift.drift import DriftReport

if TYPE_CHECKING:
    from visiondrift.store import HistoryStore

__all__ = ["main"]


_CAMERA_METRICS = ("brightness", "sharpness", "noise", "contrast")
_MODEL_METRICS = ("class_mix", "confidence", "low_confidence", "accuracy")


def _baseline(folder: Path, out: Path, model: Path | None = None) -> Path:
    """Profile ``folder`` (with ``model`` run on every image) and save it as a baseline."""
    from visiondrift.profiler import profile

    print(f"\nProfiling the baseline {folder}" + (f" with the model {model}" if model else ""))
    baseline = profile(folder, model=model)
    baseline.save(out)
    print(f"  {baseline.n_images} images profiled, {baseline.n_bad} unusable -> {out}")
    return out


def _monitor(
    out: Path,
    batch_dir: Path,
    baseline: Path,
    name: str,
    *,
    history: HistoryStore,
    dataset: str,
    day: int,
    quiet: bool = False,
) -> DriftReport:
    """Monitor ``batch_dir`` against ``baseline`` (the application core, in this process),
    writing the JSON report, the HTML dashboard and the Markdown summary, and recording the run
    in ``history`` as day ``day`` of ``dataset`` (days count back from today)."""
    from visiondrift.app import Monitor, Outputs

    report = out / f"report_{name}.json"
    if not quiet:
        print(f"\nMonitoring {batch_dir} against {baseline}")
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    start -= timedelta(days=_DAYS - day)
    result = Monitor(baseline, history=history).run(
        batch_dir,
        dataset=dataset,
        window=(start, start + timedelta(days=1)),
        outputs=Outputs(
            report=report,
            html=report.with_suffix(".html"),
            markdown=report.with_suffix(".md"),
            image_root=batch_dir,
        ),
    )
    for failure in result.failures:
        print(f"  warning: the {failure.sink} sink failed: {failure.error}")
    verdict = "DRIFT" if result.report.overall_drift_detected else "no drift"
    print(f"  {verdict} (severity {result.report.severity}) -> {_paths(report)}")
    return result.report


#: The demo's batches are days of one dataset; the last one is today.
_DAYS: Final = 4


def _open_history(out: Path) -> HistoryStore:
    """A fresh SQLite history store in ``out`` (an earlier demo's runs are forgotten)."""
    from visiondrift.store import HistoryStore

    path = out / "history.sqlite"
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return HistoryStore(path)


def _print_history(history: HistoryStore, dataset: str, names: tuple[str, ...]) -> None:
    """What the history store now says about ``dataset``: runs and a few trends."""
    from visiondrift.report import describe_trend

    runs = history.runs(dataset=dataset)
    print(f"  history: {len(runs)} runs of '{dataset}' recorded in {history.url}")
    for series in history.trends(list(names), dataset=dataset, last_runs=_DAYS):
        print(f"    {describe_trend(series)}")


def _paths(report: Path) -> str:
    """Where a monitor run wrote its report and its dashboard."""
    return f"{report}, dashboard {report.with_suffix('.html')}"


def _write_animals(
    folder: Path,
    images: NDArray[np.uint8],
    labels: NDArray[np.int64],
    class_names: tuple[str, ...],
    *,
    size: int,
    seed: int,
    transform: Transform | None = None,
) -> None:
    """Silhouettes upscaled to ``size`` px PNGs, one sub-folder per class (ImageFolder)."""
    rng = np.random.default_rng(seed)
    for name in class_names:
        (folder / name).mkdir(parents=True, exist_ok=True)
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        image = Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR)
        if transform is not None:
            image = transform(image, rng)
        image.save(folder / class_names[int(label)] / f"animal_{i:05d}.png")


def _pick(
    rng: np.random.Generator,
    pool: NDArray[np.int64],
    labels: NDArray[np.int64],
    n: int,
    boost: tuple[int, int] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``n`` indices drawn from ``pool`` without replacement, and what is left of the pool.

    With ``boost=(class, k)``, exactly ``k`` of them are of that class and the rest of others.
    """
    if boost is None:
        chosen = rng.choice(len(pool), size=n, replace=False)
    else:
        target, k = boost
        is_target = np.flatnonzero(labels[pool] == target)
        others = np.flatnonzero(labels[pool] != target)
        chosen = np.concatenate(
            [
                rng.choice(is_target, size=min(k, len(is_target)), replace=False),
                rng.choice(others, size=n - min(k, len(is_target)), replace=False),
            ]
        )
    rest = np.setdiff1d(np.arange(len(pool)), chosen)
    return pool[np.sort(chosen)], pool[rest]


#: What the model part of the demo trains on, and which class it makes 3x as frequent.
_MODEL_DATA: Final = {
    "animal-mnist": ("animal silhouettes", "animal-mnist (pip package, MIT licence)", "cat"),
    "digits": ("handwritten digits", "scikit-learn's digits", "3"),
}


def model_demo(
    out: Path,
    n_baseline: int,
    n_batch: int,
    boost: str | None = None,
    *,
    history: HistoryStore | None = None,
) -> bool:
    """The model part of the demo: class mix and camera change seen through a real classifier.

    Trains on animal-mnist's silhouettes when that package is installed (``make demo`` installs
    it), else on scikit-learn's digits.
    """
    from visiondrift.demo.model import (
        build_demo_models,
        default_demo_dataset,
        load_demo_dataset,
    )

    dataset = default_demo_dataset()
    what, source, default_boost = _MODEL_DATA[dataset]
    boost = boost or default_boost
    print(f"\nThe model part: a classifier of {what}, exported to ONNX")
    if dataset == "digits":
        print("  (animal-mnist is not installed: pip install --no-deps animal-mnist)")
    models = build_demo_models(out / "model", dataset=dataset)
    print(
        f"  trained on {source} in-process: held-out accuracy "
        f"{models.test_accuracy:.1%} -> {models.onnx}"
    )
    data = load_demo_dataset(dataset)
    names = data.class_names
    target = names.index(boost)
    rng = np.random.default_rng(5)
    pool = np.asarray(models.test_indices, dtype=np.int64)  # images the model never saw
    val, pool = _pick(rng, pool, data.labels, n_baseline)
    same, pool = _pick(rng, pool, data.labels, n_batch)
    n_target = round(3 * float(np.mean(data.labels[val] == target)) * n_batch)
    shifted, pool = _pick(rng, pool, data.labels, n_batch, boost=(target, n_target))
    root = out / "animals"
    change = CameraChange()
    sets = (
        ("val", val, None, 21),
        ("prod_same", same, None, 22),
        ("prod_new_camera_and_mix", shifted, change, 23),
    )
    for name, idx, transform, seed in sets:
        _write_animals(
            root / name,
            data.images[idx],
            data.labels[idx],
            names,
            size=64,
            seed=seed,
            transform=transform,
        )
    share_val = float(np.mean(data.labels[val] == target))
    share_new = float(np.mean(data.labels[shifted] == target))
    print(f"  animals/val/                      {len(val)} silhouettes, 64x64 PNG, class folders")
    print(f"  animals/prod_same/                {len(same)} silhouettes, same camera, same mix")
    print(
        f"  animals/prod_new_camera_and_mix/  {len(shifted)} silhouettes, new camera "
        f"({change.describe()}) and '{boost}' 3x as frequent ({share_val:.0%} -> {share_new:.0%})"
    )
    baseline = _baseline(root / "val", out / "baseline_model.json", model=models.onnx)
    history = history or _open_history(out)
    same_report = _monitor(
        out,
        root / "prod_same",
        baseline,
        "animals_same",
        history=history,
        dataset="animals",
        day=_DAYS - 1,
    )
    new_report = _monitor(
        out,
        root / "prod_new_camera_and_mix",
        baseline,
        "animals_new",
        history=history,
        dataset="animals",
        day=_DAYS,
    )
    print("\nSummary (model)")
    _print_history(history, "animals", ("brightness", "confidence", "class_mix"))
    runs = (
        ("unchanged batch:", same_report, "animals_same"),
        ("new camera + mix:", new_report, "animals_new"),
    )
    for label, report, name in runs:
        verdict = "DRIFT" if report.overall_drift_detected else "no drift"
        print(f"  {label:<17} {verdict} (severity {report.severity})")
        print(f"    -> {_paths(out / f'report_{name}.json')}")
    image_lines = [m.explanation for m in new_report.drifted if m.name in _CAMERA_METRICS]
    model_lines = [m.explanation for m in new_report.drifted if m.name in _MODEL_METRICS]
    print("    camera:")
    for line in image_lines[:4]:
        print(f"    - {line}")
    print("    model:")
    for line in model_lines:
        print(f"    - {line}")
    accuracy = [m for m in new_report.metrics if m.name == "accuracy"]
    if accuracy and accuracy[0].baseline is not None and accuracy[0].current is not None:
        print(
            f"    - accuracy on the labelled images: {accuracy[0].baseline:.1%} -> "
            f"{accuracy[0].current:.1%} ({accuracy[0].status})"
        )
    found = {m.name for m in new_report.drifted}
    class_mix = [m for m in new_report.drifted if m.name == "class_mix"]
    camera = {"brightness", "sharpness", "noise"} & found
    ok = new_report.overall_drift_detected and not same_report.overall_drift_detected
    if not class_mix or f"'{boost}'" not in (class_mix[0].explanation or ""):
        print(f"  expected class_mix drift naming '{boost}', got {sorted(found)}")
        ok = False
    if not camera:
        print(f"  expected a camera metric (brightness, sharpness, noise), got {sorted(found)}")
        ok = False
    if ok:
        print(
            f"  camera change seen in: {', '.join(sorted(camera))}; class-mix change seen in "
            f"the model's predictions ('{boost}' predicted more often)."
        )
    return ok


def main(argv: list[str] | None = None) -> int:
    """Run the demo; the exit code says whether it caught what it should (see the module)."""
    from visiondrift.errors import VisionDriftError

    try:
        return _main(argv)
    except VisionDriftError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default="demo-output", help="Folder for data and reports.")
    parser.add_argument("--n-baseline", type=int, default=400)
    parser.add_argument("--n-batch", type=int, default=200)
    parser.add_argument(
        "--no-model", action="store_true", help="Skip the part with the demo classifier."
    )
    parser.add_argument(
        "--no-loop",
        action="store_true",
        help="Skip the production loop (visiondrift watch with alerts to a local webhook).",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    photos = real_photos()
    change = CameraChange()
    print(
        f"Building the demo data in {out}/ from {len(photos)} real photos shipped in pip "
        "packages (scikit-image, scikit-learn, matplotlib)..."
    )
    make_dataset(out / "data" / "val", args.n_baseline, seed=1, photos=photos)
    make_dataset(out / "data" / "prod_same_camera", args.n_batch, seed=2, photos=photos)
    make_dataset(
        out / "data" / "prod_new_camera", args.n_batch, seed=3, photos=photos, transform=change
    )
    print(f"  val/               {args.n_baseline} images (the validation set)")
    print(f"  prod_same_camera/  {args.n_batch} images, same camera (should not drift)")
    print(f"  prod_new_camera/   {args.n_batch} images, new camera: {change.describe()}")

    for day in range(1, _DAYS - 1):
        make_dataset(out / "data" / f"day{day}", args.n_batch // 2, seed=10 + day, photos=photos)
    print(f"  day1/, day2/       {args.n_batch // 2} images each, same camera, earlier days")

    baseline = _baseline(out / "data" / "val", out / "baseline_metrics.json")
    history = _open_history(out)
    print(f"\nEarlier days of 'photos', recorded in the history store {history.url}")
    for day in range(1, _DAYS - 1):
        _monitor(
            out,
            out / "data" / f"day{day}",
            baseline,
            f"day{day}",
            history=history,
            dataset="photos",
            day=day,
            quiet=True,
        )
    results = {
        batch: _monitor(
            out,
            out / "data" / batch,
            baseline,
            batch,
            history=history,
            dataset="photos",
            day=day,
        )
        for day, batch in ((_DAYS - 1, "prod_same_camera"), (_DAYS, "prod_new_camera"))
    }

    same, new = results["prod_same_camera"], results["prod_new_camera"]
    print("\nSummary")
    print(
        f"  same camera: {'DRIFT' if same.overall_drift_detected else 'no drift'} "
        f"(severity {same.severity}) -> {_paths(out / 'report_prod_same_camera.json')}"
    )
    print(
        f"  new camera:  {'DRIFT' if new.overall_drift_detected else 'no drift'} "
        f"(severity {new.severity}) -> {_paths(out / 'report_prod_new_camera.json')}"
    )
    for line in new.explanations[:5]:
        print(f"    - {line}")
    _print_history(history, "photos", ("brightness", "sharpness", "noise"))
    ok = new.overall_drift_detected and not same.overall_drift_detected
    found = {m.name for m in new.drifted}
    expected = {"brightness", "sharpness", "noise"}
    if not expected <= found:
        print(f"  expected {sorted(expected)} among the drifted metrics, got {sorted(found)}")
        ok = False
    model_ok = True
    if not args.no_model:
        model_ok = model_demo(
            out, max(args.n_baseline, 200), max(args.n_batch, 100), history=history
        )
    loop_ok = True
    if not args.no_loop:
        from visiondrift.demo._loop import production_loop

        loop_ok = production_loop(out, baseline, photos, max(args.n_batch // 2, 50))
    print(
        "\nDemo "
        + (
            "passed: the camera change was caught, the unchanged batch was not flagged."
            if ok
            else "FAILED (photos)."
        )
    )
    if not args.no_model:
        print(
            "Model demo "
            + (
                "passed: the camera change and the class-mix change were both caught, the "
                "unchanged batch was not flagged."
                if model_ok
                else "FAILED."
            )
        )
    if not args.no_loop:
        print(
            "Production loop "
            + (
                "passed: the changed day was announced once, signed; nothing was sent twice."
                if loop_ok
                else "FAILED."
            )
        )
    return 0 if ok and model_ok and loop_ok else 1
