"""Real drift reports for the report tests, built by profiling real images (no fakes).

``hostile_report`` puts markup in every place the data can reach the page: a class (folder)
name, an image file name, a bad file's name, an atypical image's name and reasons, the config
and the command line. Each payload sets ``window.__pwned`` if it ever runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import visiondrift
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.drift import AtypicalImage, DriftReport

SCRIPT_NAME = "<script>window.__pwned=1</script>"
IMG_PAYLOAD = "<img src=x onerror=window.__pwned=2>"
#: A class (folder) name and an image file name: no "/" allowed in a path component.
EVIL_CLASS = "<img src=x onerror=window.__pwned=3>"
EVIL_FILE = "<script>window.__pwned=4<\\script><img src=x onerror=window.__pwned=5>.jpg"


def _copy_as_classes(src: Path, dst: Path, classes: tuple[str, ...]) -> None:
    files = sorted(src.iterdir())
    for i, f in enumerate(files):
        folder = dst / classes[i % len(classes)]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, folder / f.name)


def build_reports(root: Path, photos: list) -> tuple[DriftReport, DriftReport, Path]:
    """(a real camera-change report, the hostile one, the hostile current folder)."""
    base_flat, cur_flat = root / "base_flat", root / "cur_flat"
    make_dataset(base_flat, 90, size=(80, 80), seed=21, photos=photos)
    make_dataset(cur_flat, 60, size=(80, 80), seed=22, photos=photos, transform=CameraChange())
    base, cur = root / "baseline", root / "current"
    _copy_as_classes(base_flat, base, ("cat", "dog", EVIL_CLASS))
    _copy_as_classes(cur_flat, cur, ("cat", EVIL_CLASS, EVIL_CLASS))
    first = sorted((cur / "cat").iterdir())[0]
    first.rename(first.with_name(EVIL_FILE))
    (cur / "cat" / f"broken {IMG_PAYLOAD}.jpg").write_text("not an image\n")
    plain = visiondrift.compare(
        visiondrift.profile(base_flat, workers=1), visiondrift.profile(cur_flat, workers=1)
    )
    report = visiondrift.compare(
        visiondrift.profile(base, workers=1), visiondrift.profile(cur, workers=1)
    )
    evil_image = AtypicalImage(
        name=f"cat/{EVIL_FILE}", score=9.5, reasons=[f"reason {SCRIPT_NAME}", IMG_PAYLOAD]
    )
    hostile = report.model_copy(
        update={
            "atypical_images": [evil_image, *report.atypical_images],
            "config": {**report.config, f"note {IMG_PAYLOAD}": SCRIPT_NAME},
            "command": f"visiondrift monitor '{SCRIPT_NAME}' --tag '{IMG_PAYLOAD}'",
            "explanations": [*report.explanations, f"Label {SCRIPT_NAME} appeared."],
        }
    )
    return plain, hostile, cur


def build_model_report(root: Path) -> DriftReport:
    """A real report with a (demo) model on both sides, whose current batch leans to one class."""
    from visiondrift.demo.model import build_demo_models, load_demo_dataset

    models = build_demo_models(root / "model")
    data = load_demo_dataset()
    rng = np.random.default_rng(7)
    held_out = models.test_indices
    pool = {
        name: rng.permutation(held_out[data.labels[held_out] == i]).tolist()
        for i, name in enumerate(models.class_names)
    }
    for folder, per_class in (
        (root / "base", dict.fromkeys(models.class_names, 16)),
        (root / "cur", {n: (32 if i == 0 else 4) for i, n in enumerate(models.class_names)}),
    ):
        for name, n in per_class.items():
            (folder / name).mkdir(parents=True, exist_ok=True)
            for i in pool[name][:n]:
                Image.fromarray(data.images[i]).save(folder / name / f"{i}.png")
            del pool[name][:n]
    base = visiondrift.profile(root / "base", model=models.onnx, workers=1)
    cur = visiondrift.profile(root / "cur", config=base.config, workers=1)
    return visiondrift.compare(base, cur)


@pytest.fixture(scope="session")
def report_set(
    tmp_path_factory: pytest.TempPathFactory, photos: list
) -> tuple[DriftReport, DriftReport, Path]:
    return build_reports(tmp_path_factory.mktemp("report_data"), photos)


def test_hostile_report_really_carries_the_payloads(report_set) -> None:
    plain, hostile, _ = report_set
    assert plain.overall_drift_detected
    assert EVIL_CLASS in hostile.current.labels
    assert any(IMG_PAYLOAD in f.name for f in hostile.current.bad_files)
    assert hostile.atypical_images[0].name.endswith(EVIL_FILE)
