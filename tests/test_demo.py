"""The README's demo end to end: real photos, then the demo classifier, through the application
core (the same Monitor as ``visiondrift monitor``), in the demo's own process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_runs_and_catches_camera_and_class_mix(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "visiondrift.demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    text = proc.stdout
    assert proc.returncode == 0, text + proc.stderr
    # The photo part.
    assert "Demo passed: the camera change was caught" in text
    assert "same camera: no drift" in text
    assert "new camera:  DRIFT" in text
    # The model part: baseline with the ONNX model, both batches monitored.
    assert f"Profiling the baseline {out / 'animals' / 'val'} with the model" in text
    assert f"Monitoring {out / 'animals' / 'prod_same'} against" in text
    assert (out / "model" / "demo.onnx").is_file()
    assert (out / "animals" / "val" / "cat").is_dir()
    assert "unchanged batch:  no drift" in text
    assert "new camera + mix: DRIFT" in text
    assert "'cat' is predicted" in text  # the class-mix change, in words
    assert "darker" in text  # the camera change, in words
    assert "Model demo passed" in text
    assert (out / "report_animals_new.json").is_file()
    # Every monitor run writes its dashboard too, and the demo says where.
    for name in ("prod_same_camera", "prod_new_camera", "animals_same", "animals_new"):
        page = out / f"report_{name}.html"
        assert page.is_file(), name
        assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
        assert f"dashboard {page}" in text
    # The production loop: a watcher over three days; only the changed day is announced, to the
    # team and (high) to the retraining trigger, each request signed; a second pass sends nothing.
    assert "Production loop passed" in text
    loop = text.split("The production loop:", 1)[1]
    assert "What the team was told (2 messages, each signed and verified)" in loop
    last = max(p.name for p in (out / "loop" / "inbox").iterdir())  # the changed day, YYYYMMDD
    day = f"{last[:4]}-{last[4:6]}-{last[6:]}"
    assert (
        f"team <- trigger: visiondrift: high drift in dataset photos-prod (the batch of {day})"
        in loop
    )
    assert "retraining trigger <- priority 'now', dataset 'photos-prod'" in loop
    assert "0 new messages" in loop
    reports = sorted(p.parent.name for p in (out / "loop" / "reports").glob("*/*.json"))
    assert len(set(reports)) == 3, reports


def test_profiler_hands_the_model_the_same_pixels(tmp_path: Path) -> None:
    """The profiler resizes the decoded image itself (no full-size array round trip): the
    predictions equal those of the adapter on the full-size arrays."""
    import numpy as np
    from PIL import Image

    from visiondrift.decode import DecodedImage, DecodeLimits, decode_image
    from visiondrift.demo.model import build_demo_models, load_demo_dataset
    from visiondrift.models import ModelSpec
    from visiondrift.models.preprocessing import presizer

    models = build_demo_models(tmp_path / "model", epochs=2)
    data = load_demo_dataset("animal-mnist")
    spec = ModelSpec(models.onnx)
    model = spec.load()
    full, small = [], []
    for i, pixels in enumerate(data.images[:40]):
        size = (64, 48) if i % 2 else (96, 96)
        path = tmp_path / f"{i}.png"
        Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR).convert("RGB").save(path)
        decoded = decode_image(str(path), path.name, DecodeLimits())
        assert isinstance(decoded, DecodedImage)
        full.append(np.asarray(decoded.image, dtype=np.uint8))
        small.append(presizer(model.info.preprocessing, model.input_target)(decoded.image))
    assert small[0].shape == (28, 28)
    a = model.predict(full).probabilities
    b = model.predict(small).probabilities
    assert np.array_equal(a, b)
