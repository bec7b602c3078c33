"""Profiles: exact merge, bounded size, exact JSON round trip, typed errors for bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import visiondrift
from visiondrift.errors import (
    ConfigError,
    IncompatibleProfilesError,
    NoReadableImagesError,
    ProfileFormatError,
    UnsupportedVersionError,
)
from visiondrift.measure._measurer import ImageMeasurer
from visiondrift.measure.properties import MEASURE_VERSION, MeasureConfig
from visiondrift.profiles import Profile, ProfileConfig


def _content(p: Profile) -> dict:
    data = p.to_dict()
    for key in ("created_at", "sources", "source_count", "moments"):
        data.pop(key)
    # Names are shown relative to the folder that was profiled; compare their file names.
    data["reservoir"]["names"] = [n.rsplit("/", 1)[-1] for n in data["reservoir"]["names"]]
    for bad in data["integrity"]["bad_files"]:
        bad["name"] = bad["name"].rsplit("/", 1)[-1]
    return data


def assert_same_profile(a: Profile, b: Profile) -> None:
    assert _content(a) == _content(b)
    for name, m in a.moments.items():
        o = b.moments[name]
        assert (m.count, m.min, m.max) == (o.count, o.min, o.max)
        # Chan's merge is exact up to floating-point rounding.
        assert m.mean == pytest.approx(o.mean, rel=1e-12, abs=1e-15)
        assert m.m2 == pytest.approx(o.m2, rel=1e-9, abs=1e-12)


@pytest.fixture(scope="module")
def split_dirs(tmp_path_factory: pytest.TempPathFactory, photo_dir: Path, corpus_dir: Path):
    both = tmp_path_factory.mktemp("split")
    a, b = both / "a", both / "b"
    for d in (a, b):
        d.mkdir()
    files = sorted(photo_dir.iterdir())[:60]
    for i, f in enumerate(files):
        shutil.copy(f, (a if i % 2 else b) / f.name)
    for f in (corpus_dir / "bad").iterdir():
        if f.is_file() and not f.is_symlink():
            shutil.copy(f, a / f.name)
    return a, b, both


def test_merge_of_two_folders_equals_profiling_both(split_dirs) -> None:
    a, b, both = split_dirs
    pa = visiondrift.profile(a, workers=1)
    pb = visiondrift.profile(b, workers=1)
    merged = pa.merge(pb)
    assert_same_profile(merged, visiondrift.profile(both, workers=1, labels="none"))
    assert_same_profile(merged, pb.merge(pa))
    # merge returns a new object and leaves its operands alone
    assert pa.n_files + pb.n_files == merged.n_files
    assert merged.n_bad == pa.n_bad > 0


def test_worker_count_does_not_change_the_profile(photo_dir: Path) -> None:
    one = visiondrift.profile(photo_dir, workers=1)
    two = visiondrift.profile(photo_dir, workers=2)
    assert_same_profile(one, two)


def test_reservoir_is_bounded_and_a_subset(photo_dir: Path) -> None:
    full = visiondrift.profile(photo_dir, workers=1)
    small = visiondrift.profile(photo_dir, workers=2, reservoir_size=25)
    assert len(small.reservoir) == 25
    assert set(small.reservoir.names) <= set(full.reservoir.names)
    # the histograms and counts still cover every image
    np.testing.assert_array_equal(small.channels, full.channels)
    assert small.moments["brightness"].count == full.n_images == 160


def test_json_round_trip_is_exact(split_dirs, tmp_path: Path) -> None:
    p = visiondrift.profile(split_dirs[0], workers=1)
    path = p.save(tmp_path / "sub" / "p.json")
    q = Profile.load(path)
    assert q.to_dict() == p.to_dict()
    assert json.loads(path.read_text())["format"] == "visiondrift.profile"
    assert not list(path.parent.glob(".*.tmp"))


def test_profile_holds_integrity_and_channel_stats(split_dirs) -> None:
    p = visiondrift.profile(split_dirs[0], workers=1)
    assert p.n_files == p.n_images + p.n_bad
    assert p.bad_counts == {
        "empty": 1,
        "not_an_image": 1,
        "too_large": 1,
        "too_small": 1,
        "truncated": 1,
        "unsupported_format": 1,
    }
    assert {b.name for b in p.bad_files} >= {"empty.jpg", "bomb.png"}
    luma = p.channel("l")
    assert luma is not None
    assert 0 <= luma.percentiles[1] < luma.percentiles[50] <= luma.percentiles[99] <= 1
    assert p.formats.counts == {"JPEG": p.n_images}


def test_unknown_version_and_damaged_files(split_dirs, tmp_path: Path) -> None:
    p = visiondrift.profile(split_dirs[1], workers=1)
    data = p.to_dict()
    data["format_version"] = 99
    (tmp_path / "future.json").write_text(json.dumps(data))
    with pytest.raises(UnsupportedVersionError, match=r"version 99.*reads versions \[1, 2\]"):
        Profile.load(tmp_path / "future.json")
    text = json.dumps(p.to_dict())
    (tmp_path / "cut.json").write_text(text[: len(text) // 2])
    with pytest.raises(ProfileFormatError, match=r"cut\.json.*damaged or truncated"):
        Profile.load(tmp_path / "cut.json")
    del data["reservoir"]
    data["format_version"] = 1
    (tmp_path / "hole.json").write_text(json.dumps(data))
    with pytest.raises(ProfileFormatError, match=r"hole\.json.*damaged.*reservoir"):
        Profile.load(tmp_path / "hole.json")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(ProfileFormatError, match="not a visiondrift profile"):
        Profile.load(tmp_path / "other.json")
    with pytest.raises(ProfileFormatError, match="does not exist"):
        Profile.load(tmp_path / "missing.json")


def test_profiles_of_an_older_measurement_load_but_neither_merge_nor_compare(
    split_dirs, tmp_path: Path
) -> None:
    """A profile saved before the measurement version was recorded reads as version 1: it loads
    and reports, but its sharpness means something else, so comparing or adding images is
    refused with the fix."""
    new = visiondrift.profile(split_dirs[1], workers=1)
    data = new.to_dict()
    assert data["config"]["measure"]["version"] == MEASURE_VERSION
    del data["config"]["measure"]["version"]
    (tmp_path / "old.json").write_text(json.dumps(data))
    old = Profile.load(tmp_path / "old.json")
    assert old.config.measure.version == 1
    with pytest.raises(IncompatibleProfilesError, match=r"measurement version 1 .* version 2.*"):
        visiondrift.compare(old, new)
    with pytest.raises(IncompatibleProfilesError, match="different settings"):
        old.merge(new)
    with pytest.raises(ConfigError, match=r"version 1.*Rebuild the profile"):
        ImageMeasurer(old.config.measure)
    with pytest.raises(ConfigError, match=r"'version' must be an integer from 1 to"):
        MeasureConfig(version=MEASURE_VERSION + 1)


def test_profiles_with_other_settings_do_not_merge(split_dirs) -> None:
    a = visiondrift.profile(split_dirs[1], workers=1)
    b = visiondrift.profile(
        split_dirs[1], workers=1, config=ProfileConfig(measure=MeasureConfig(work_size=64))
    )
    with pytest.raises(IncompatibleProfilesError, match="different settings"):
        a.merge(b)
    with pytest.raises(IncompatibleProfilesError, match="not comparable"):
        visiondrift.compare(a, b)


def test_no_readable_image_is_a_clear_error(corpus_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(NoReadableImagesError, match=r"None of the 7 files.*could be read"):
        visiondrift.profile(corpus_dir / "bad")
    with pytest.raises(NoReadableImagesError, match="No image files found"):
        visiondrift.profile(tmp_path)


def test_add_predictions_is_add_prediction_for_each_row() -> None:
    """The bulk path gives the very profile of one call per prediction, across reservoir
    flushes (25 rows, a reservoir of 10), with and without labels, and refuses bad shapes."""
    import numpy as np

    from visiondrift.errors import ConfigError
    from visiondrift.profiles import ProfileBuilder, ProfileConfig

    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), size=25)
    keys = [f"k{i}" for i in range(25)]
    labels = [None if i % 3 else f"c{i % 2}" for i in range(25)]
    one = ProfileBuilder(ProfileConfig(reservoir_size=10), dataset="d")
    for key, row, label in zip(keys, probs, labels, strict=True):
        one.add_prediction(key, row, label=label)
    bulk = ProfileBuilder(ProfileConfig(reservoir_size=10), dataset="d")
    bulk.add_predictions(keys[:7], probs[:7], labels[:7])
    bulk.add_predictions(keys[7:], probs[7:], labels[7:])
    a, b = one.build().to_dict(), bulk.build().to_dict()
    for d in (a, b):
        d.pop("created_at", None)
    assert a == b
    assert b["n_images"] == 25
    unlabelled = ProfileBuilder(ProfileConfig(reservoir_size=10))
    unlabelled.add_predictions(keys, probs)
    assert unlabelled.build().labels.counts == {}
    with pytest.raises(ConfigError, match="one row of probabilities per key"):
        bulk.add_predictions(keys[:3], probs[:2])
    with pytest.raises(ConfigError, match="one label per key"):
        bulk.add_predictions(keys[:2], probs[:2], ["a"])
    with pytest.raises(ConfigError, match="3 probabilities where the model has 4"):
        bulk.add_predictions(keys[:2], probs[:2, :3])
