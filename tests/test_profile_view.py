"""The saved profile is plain data: light imports, bounded provenance, versioned, with a schema."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from _profile_builders import CLASSES, Row, config, image_profile
from visiondrift.errors import ConfigError, ProfileFormatError
from visiondrift.profiles import (
    MAX_LISTED_SOURCES,
    PROFILE_FORMAT_VERSION,
    Profile,
    ProfileBuilder,
    Window,
)
from visiondrift.sources import ImageItem, SourceInfo

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_V1 = Path(__file__).parent / "fixtures" / "profile_v1.json"
SCHEMA = ROOT / "docs" / "schema" / "profile.schema.json"
T0 = datetime(2024, 4, 1, tzinfo=UTC)
#: What reading and comparing profiles must not import.
HEAVY = (
    "PIL",
    "simplejpeg",
    "visiondrift.decode._image",
    "visiondrift.measure._measurer",
    "onnxruntime",
    "ai_edge_litert",
    "tflite_runtime",
    "matplotlib",
)


def _batch_like(baseline: Profile, n: int, seed: int) -> Profile:
    """A profile with the baseline's settings and model: measured rows and the model's outputs,
    handed to the builder (no image is decoded, no model is run)."""
    assert baseline.model is not None
    builder = ProfileBuilder(baseline.config, dataset="zoo")
    builder.set_model(baseline.model.class_names, baseline.model.description)
    rng = np.random.default_rng(seed)
    width = len(baseline.model.class_names)
    for i in range(n):
        hist = rng.integers(0, 40, size=(4, 256))
        row = np.array([float(np.median(baseline.values(p))) for p in _property_names()])
        logits = rng.normal(0.0, 2.0, size=width)
        probs = (np.exp(logits) / np.exp(logits).sum()).astype(np.float32)
        builder.add_measured(
            ImageItem(f"b/{i}.png", f"b/{i}.png"),
            hist,
            row * rng.uniform(0.8, 1.2),
            format="PNG",
            mode="L",
            prediction=(probs, None),
        )
    return builder.build(SourceInfo("folder", "b", n, n))


def _property_names() -> tuple[str, ...]:
    from visiondrift.measure import PROPERTY_NAMES

    return PROPERTY_NAMES


def test_loading_and_comparing_profiles_imports_nothing_heavy(tmp_path: Path) -> None:
    baseline = Profile.load(FIXTURE_V1)
    assert baseline.model is not None
    batch = _batch_like(baseline, 40, seed=3)
    baseline.save(tmp_path / "baseline.json")
    batch.save(tmp_path / "batch.json")
    code = textwrap.dedent(
        f"""
        import json, sys
        import visiondrift
        from visiondrift.profiles import Profile
        a = Profile.load({str(tmp_path / "baseline.json")!r})
        b = Profile.load({str(tmp_path / "batch.json")!r})
        assert a.model is not None and b.model is not None
        report = visiondrift.compare(a, b)
        assert report.metrics
        print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_heavy_modules_are_where_the_test_looks() -> None:
    """The names above are real: the image pass does import them (so the test can fail)."""
    code = (
        "import sys; from visiondrift.decode import decode_image; "
        "from visiondrift.measure import ImageMeasurer; "
        "print(all(m in sys.modules for m in ('PIL', 'visiondrift.decode._image', "
        "'visiondrift.measure._measurer')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "True"


def test_version_1_profile_still_reads(tmp_path: Path) -> None:
    raw = json.loads(FIXTURE_V1.read_text(encoding="utf-8"))
    assert raw["format_version"] == 1
    old = Profile.load(FIXTURE_V1)
    assert (old.dataset, old.window, old.source_count) == (None, None, 1)
    assert old.n_images == 30
    assert old.model is not None
    assert len(old.model.class_names) == 10
    assert old.reservoir.capacity == 20
    assert len(old.reservoir) == 20
    again = Profile.load(old.save(tmp_path / "v2.json"))
    assert json.loads((tmp_path / "v2.json").read_text())["format_version"] == 2
    assert PROFILE_FORMAT_VERSION == 2
    assert again == old


def test_dataset_and_window_round_trip(tmp_path: Path) -> None:
    cfg = config(model=True)
    window = Window(T0, T0 + timedelta(hours=1))
    p = image_profile("a", [Row(1, "cat", "JPEG"), Row(2, None, "PNG")], cfg, dataset="shop")
    p = p.with_window(window.start, window.end)
    again = Profile.load(p.save(tmp_path / "p.json"))
    assert again.dataset == "shop"
    assert again.window == window
    assert again == p


def test_window_needs_timezone_aware_ordered_times() -> None:
    with pytest.raises(ConfigError, match=r"'start' must be timezone-aware"):
        Window(datetime(2024, 4, 1), T0)
    with pytest.raises(ConfigError, match=r"'end' .* is before its 'start'"):
        Window(T0, T0 - timedelta(seconds=1))
    paris = datetime(2024, 4, 1, 12, tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Paris"))
    assert Window(paris, paris).start == datetime(2024, 4, 1, 10, tzinfo=UTC)


def test_a_damaged_window_is_a_profile_format_error(tmp_path: Path) -> None:
    cfg = config(model=False)
    p = image_profile("a", [Row(1, "cat", "JPEG")], cfg).with_window(T0, T0)
    data = p.to_dict()
    data["window"]["end"] = "yesterday"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(ProfileFormatError, match=r"damaged.*'end' must be an ISO 8601"):
        Profile.load(tmp_path / "bad.json")


def test_merging_a_thousand_hourly_profiles_stays_bounded(tmp_path: Path) -> None:
    cfg = config(model=True, reservoir_size=10)
    hourly = []
    for hour in range(1000):
        start = T0 + timedelta(hours=hour)
        rows = [Row(hour * 100 + i, CLASSES[i % 3], "JPEG") for i in range(12)]
        hourly.append(
            image_profile(
                f"cam/{start:%Y-%m-%dT%H}",
                rows,
                cfg,
                dataset="shop",
                window=Window(start, start + timedelta(hours=1)),
                source=SourceInfo("folder", f"cam/{start:%Y-%m-%dT%H}", 12, 12),
            )
        )
    merged = Profile.merge_all(hourly)
    one = hourly[0].save(tmp_path / "one.json").stat().st_size
    size = merged.save(tmp_path / "merged.json").stat().st_size
    assert size <= 2 * one, (size, one)
    assert merged.n_images == 12_000
    assert merged.dataset == "shop"
    assert merged.window == Window(T0, T0 + timedelta(hours=1000))
    assert merged.source_count == 1000
    assert len(merged.sources) == MAX_LISTED_SOURCES
    assert Profile.load(tmp_path / "merged.json") == merged


def test_records_of_one_source_add_up() -> None:
    cfg = config(model=False)
    info = SourceInfo("folder", "cam", 1, 1)
    a = image_profile("a", [Row(1, "cat", "JPEG")], cfg, source=info)
    b = image_profile("b", [Row(2, "cat", "JPEG")], cfg, source=info)
    merged = a.merge(b)
    assert merged.sources == (SourceInfo("folder", "cam", 2, 2),)
    assert merged.source_count == 2


def test_images_and_prediction_records_do_not_mix() -> None:
    builder = ProfileBuilder(config(model=False))
    builder.add_prediction("a", [0.5, 0.5])
    with pytest.raises(ConfigError, match="holds predictions; it cannot take images"):
        builder.add_measured(
            ImageItem("x.jpg", "x.jpg"),
            np.zeros((4, 256)),
            np.zeros(len(_property_names())),
            format="JPEG",
            mode="RGB",
        )


def test_committed_schema_is_the_generated_one() -> None:
    pytest.importorskip("pydantic")
    from visiondrift.profiles.schema import render_profile_schema

    assert SCHEMA.read_text(encoding="utf-8") == render_profile_schema(), (
        "docs/schema/profile.schema.json is out of date: run python scripts/profile_schema.py"
    )


def test_saved_profiles_validate_against_the_committed_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    p = image_profile("a", [Row(1, "cat", "JPEG"), Row(2, None, "PNG", bad=True)], config(True))
    doc = json.loads(json.dumps(p.with_window(T0, T0).to_dict()))
    validator.validate(doc)
    validator.validate(json.loads(json.dumps(Profile.load(FIXTURE_V1).to_dict())))
    doc["integrity"]["bad_files"][0]["reason"] = "gone"
    with pytest.raises(jsonschema.ValidationError, match="'gone' is not one of"):
        validator.validate(doc)


def test_saved_profiles_match_the_schema(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from visiondrift.profiles.schema import ProfileDocument

    old = Profile.load(FIXTURE_V1)
    p = image_profile("a", [Row(1, "cat", "JPEG"), Row(2, None, "PNG", bad=True)], config(True))
    for profile in (old, p.with_window(T0, T0).with_dataset("shop"), Profile.empty()):
        ProfileDocument.model_validate(profile.to_dict())
    data = p.to_dict()
    data["source_count"] = -1
    with pytest.raises(ValidationError, match="source_count"):
        ProfileDocument.model_validate(data)
    assert ProfileDocument.model_fields["format_version"].annotation.__args__ == (  # type: ignore[union-attr]
        PROFILE_FORMAT_VERSION,
    )


@pytest.mark.parametrize(
    "package",
    ["visiondrift.profiles", "visiondrift.decode", "visiondrift.measure", "visiondrift.models"],
)
def test_package_all_is_complete(package: str) -> None:
    import importlib
    import types

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    helpers = {"annotations", "TYPE_CHECKING", "lazy_attributes"}
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType) and n not in helpers
    }
    assert public <= set(module.__all__)
