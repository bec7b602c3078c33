"""End-to-end demo on real photos: ``python -m visiondrift.demo [--out DIR]``.

1. Builds a validation set of crops of real photos shipped by scikit-image, scikit-learn and
   matplotlib.
2. Builds two "production" batches: one from the same camera (fresh crops of the same photos)
   and one where the camera changed: darker, softer and noisier.
3. Runs ``visiondrift baseline`` on the validation set and ``visiondrift monitor`` on each batch,
   through the real command line, and prints what was found and where the reports are.

Exit code 0 when the changed batch is flagged and the unchanged one is not; 1 otherwise.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from visiondrift.drift import DriftReport
from visiondrift.samples import CameraChange, make_dataset, real_photos

__all__ = ["main"]


def _run(args: list[str]) -> int:
    print(f"\n$ visiondrift {' '.join(shlex.quote(a) for a in args)}", flush=True)
    cmd = [sys.executable, "-c", "from visiondrift.cli import main; main()", *args]
    return subprocess.run(cmd, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", default="demo-output", help="Folder for data and reports.")
    parser.add_argument("--n-baseline", type=int, default=400)
    parser.add_argument("--n-batch", type=int, default=200)
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

    baseline = out / "baseline_metrics.json"
    if _run(["baseline", str(out / "data" / "val"), "-o", str(baseline)]) != 0:
        return 1
    results = {}
    for batch in ("prod_same_camera", "prod_new_camera"):
        report = out / f"report_{batch}.json"
        code = _run(
            [
                "monitor",
                str(out / "data" / batch),
                "--baseline",
                str(baseline),
                "-o",
                str(report),
                "--fail-on",
                "low",
            ]
        )
        if code not in (0, 1):
            return 1
        results[batch] = DriftReport.load(report)

    same, new = results["prod_same_camera"], results["prod_new_camera"]
    print("\nSummary")
    print(
        f"  same camera: {'DRIFT' if same.overall_drift_detected else 'no drift'} "
        f"(severity {same.severity}) -> {out / 'report_prod_same_camera.json'}"
    )
    print(
        f"  new camera:  {'DRIFT' if new.overall_drift_detected else 'no drift'} "
        f"(severity {new.severity}) -> {out / 'report_prod_new_camera.json'}"
    )
    for line in new.explanations[:5]:
        print(f"    - {line}")
    ok = new.overall_drift_detected and not same.overall_drift_detected
    found = {m.name for m in new.drifted}
    expected = {"brightness", "sharpness", "noise"}
    if not expected <= found:
        print(f"  expected {sorted(expected)} among the drifted metrics, got {sorted(found)}")
        ok = False
    print(
        "\nDemo "
        + (
            "passed: the camera change was caught, the unchanged batch was not flagged."
            if ok
            else "FAILED."
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
