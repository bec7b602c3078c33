"""The drift engine: calibrated on no-drift data, right about a camera change, honest at small n."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance
from scipy import stats

import visiondrift
from visiondrift.decode import decode_image
from visiondrift.drift import DEFAULT_BANDS, DriftConfig, DriftReport, band_of, compare
from visiondrift.errors import ConfigError
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.sources import FolderSource

SEVERITY = ("none", "low", "medium", "high")


@pytest.fixture(scope="module")
def per_image_profiles(photo_dir: Path) -> list[Profile]:
    """One profile per image, so that any subset's profile is a merge (exact)."""
    config = ProfileConfig()
    out = []
    for item in FolderSource(photo_dir).items:
        builder = ProfileBuilder(config)
        decoded = decode_image(item.path, item.name, config.limits)
        builder.add_image(item, decoded)  # type: ignore[arg-type]
        out.append(builder.build())
    return out


def test_no_false_alarm_rate_above_alpha_on_random_halves(per_image_profiles) -> None:
    """Two random halves of one real folder: the alarm rate stays within its binomial bound."""
    trials, alpha = 120, 0.05
    rng = np.random.default_rng(2024)
    n = len(per_image_profiles)
    alarms = 0
    for _ in range(trials):
        order = rng.permutation(n)
        a = Profile.merge_all([per_image_profiles[i] for i in order[: n // 2]])
        b = Profile.merge_all([per_image_profiles[i] for i in order[n // 2 :]])
        alarms += compare(a, b, alpha=alpha).overall_drift_detected
    bound = stats.binom.ppf(0.99, trials, alpha)
    assert alarms <= bound, f"{alarms} alarms in {trials} no-drift trials (bound {bound})"


def test_identical_data_gives_no_drift(photo_dir: Path) -> None:
    p = visiondrift.profile(photo_dir)
    report = compare(p, p)
    assert not report.overall_drift_detected
    assert report.severity == "none"
    assert all(m.status == "stable" for m in report.metrics)


def test_camera_change_is_detected_and_explained(
    photo_dir: Path, changed_dir: Path, same_dir: Path
) -> None:
    base = visiondrift.profile(photo_dir)
    changed = compare(base, visiondrift.profile(changed_dir))
    same = compare(base, visiondrift.profile(same_dir))
    assert changed.overall_drift_detected
    assert changed.severity == "high"
    assert {"brightness", "sharpness", "noise"} <= {m.name for m in changed.drifted}
    brightness = changed.metric("brightness")
    assert brightness.change is not None
    assert brightness.change < -0.05
    assert any("darker" in e for e in changed.explanations)
    assert any("blurrier" in e for e in changed.explanations)
    assert any("noisier" in e for e in changed.explanations)
    assert changed.atypical_images
    assert all(a.reasons for a in changed.atypical_images)
    assert not same.overall_drift_detected
    assert same.status in ("no_drift", "insufficient_evidence")


def _darkened(src: Path, dst: Path, factor: float) -> Path:
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        with Image.open(f) as im:
            ImageEnhance.Brightness(im).enhance(factor).save(dst / f.name, quality=90)
    return dst


def test_severity_never_decreases_as_the_shift_grows(photo_dir: Path, tmp_path: Path) -> None:
    base = visiondrift.profile(photo_dir)
    previous = 0
    effects = []
    for factor in (0.98, 0.93, 0.85, 0.7, 0.5):
        report = compare(
            base, visiondrift.profile(_darkened(photo_dir, tmp_path / str(factor), factor))
        )
        level = SEVERITY.index(report.severity)
        assert level >= previous, f"severity fell at factor {factor}"
        previous = level
        effects.append(abs(report.metric("brightness").effect_size))
    assert effects == sorted(effects)
    assert previous == 3


def test_large_effect_on_few_images_is_not_enough_evidence(photo_dir: Path, tmp_path: Path) -> None:
    base = visiondrift.profile(photo_dir)
    few = tmp_path / "few"
    few.mkdir()
    for f in sorted(photo_dir.iterdir())[::55]:
        with Image.open(f) as im:
            ImageEnhance.Brightness(im).enhance(0.75).save(few / f.name, quality=90)
    report = compare(base, visiondrift.profile(few))
    assert report.current.n_images == 3
    assert not report.overall_drift_detected, report.explanations
    assert report.status == "insufficient_evidence"
    brightness = report.metric("brightness")
    assert brightness.status == "insufficient_evidence"
    assert brightness.n_needed is not None
    assert brightness.n_needed > 3
    assert any("Not enough evidence" in e for e in report.explanations)


def test_unusable_files_are_a_monitored_metric(photo_dir: Path, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    for f in sorted(photo_dir.iterdir())[:60]:
        (batch / f.name).write_bytes(f.read_bytes())
    for i in range(15):
        (batch / f"broken_{i}.jpg").write_bytes(b"not a jpeg at all")
    report = compare(visiondrift.profile(photo_dir), visiondrift.profile(batch))
    bad = report.metric("bad_files")
    assert bad.status == "drift"
    assert bad.current == pytest.approx(15 / 75)
    assert report.current.bad_counts == {"not_an_image": 15}
    assert any("could not be used" in e for e in report.explanations)


def test_report_round_trip_and_schema(photo_dir: Path, changed_dir: Path, tmp_path: Path) -> None:
    report = compare(visiondrift.profile(photo_dir), visiondrift.profile(changed_dir))
    path = report.save(tmp_path / "r.json")
    again = DriftReport.load(path)
    assert again == report
    schema = DriftReport.model_json_schema()
    assert "overall_drift_detected" in schema["properties"]


def test_bands_and_config_validation() -> None:
    assert band_of(0.049, DEFAULT_BANDS["pixel_mean"]) == "low"
    assert band_of(0.05, DEFAULT_BANDS["pixel_mean"]) == "medium"
    assert band_of(-0.2, DEFAULT_BANDS["pixel_std"]) == "high"
    assert band_of(0.0, DEFAULT_BANDS["property"]) == "none"
    with pytest.raises(ConfigError, match=r"'alpha'.*Got 1\.5"):
        DriftConfig(alpha=1.5)
    with pytest.raises(ConfigError, match="Unknown metric family 'pixels'"):
        DriftConfig(bands={"pixels": (0.1, 0.2, 0.3)})
    with pytest.raises(ConfigError, match="three increasing"):
        DriftConfig(bands={"property": (0.5, 0.2, 0.8)})


def _recoloured(src: Path, dst: Path, gains: tuple[float, float, float], grey: bool) -> Path:
    """Every image of ``src`` with its channels multiplied by ``gains`` (after greying)."""
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        with Image.open(f) as im:
            rgb = im.convert("L").convert("RGB") if grey else im.convert("RGB")
            pixels = np.asarray(rgb, dtype=np.float64) * np.asarray(gains)
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(dst / f.name)
    return dst


@pytest.mark.parametrize(
    ("tint", "grey"),
    [((1.0, 1.0, 1.0), True), ((1.0, 0.75, 0.5), False)],
    ids=["grey images", "warm colour photos"],
)
def test_channels_that_move_with_brightness_are_one_sentence(
    photo_dir: Path, tmp_path: Path, tint: tuple[float, float, float], grey: bool
) -> None:
    """A gain darkens every channel by the same share; on grey images by the same amount too,
    on warm photos the red channel loses more levels than blue (alike in share, not amount)."""
    base = visiondrift.profile(_recoloured(photo_dir, tmp_path / "base", tint, grey=grey))
    gains = (0.7 * tint[0], 0.7 * tint[1], 0.7 * tint[2])
    dark = _recoloured(photo_dir, tmp_path / "dark", gains, grey=grey)
    report = compare(base, visiondrift.profile(dark))
    channels = ("mean_r", "mean_g", "mean_b")
    assert {"brightness", *channels} <= {m.name for m in report.drifted}
    brightness = [e for e in report.explanations if "darker" in e]
    assert len(brightness) == 1
    # The sentence goes on with the consequences of the gain (see test_explanations_causes).
    assert "; red, green and blue fell alike (no colour cast)" in brightness[0]
    assert not any("less red" in e or "less blue" in e for e in report.explanations)
    # each channel metric keeps its own sentence in the table
    assert all("less" in (report.metric(c).explanation or "") for c in channels)


def test_a_colour_cast_keeps_its_channel_sentences(photo_dir: Path, tmp_path: Path) -> None:
    base = visiondrift.profile(photo_dir)
    cast = _recoloured(photo_dir, tmp_path / "cast", (0.6, 1.0, 1.0), grey=False)
    report = compare(base, visiondrift.profile(cast))
    assert "mean_r" in {m.name for m in report.drifted}
    assert any("less red" in e for e in report.explanations)
    assert not any("alike" in e for e in report.explanations)
