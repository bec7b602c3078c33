"""The metric catalogue, and a per-image metric registered from outside the package.

The metric is the share of pure-white pixels of each image. It is registered here, in the test
module, with the public registry only; it must then be measured while profiling, kept per image
in the reservoir, tested inside the family-wise correction, given a severity, and explained in
the JSON, HTML and Markdown reports, like a built-in property.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

import visiondrift
from visiondrift.demo.samples import make_dataset
from visiondrift.detectors import adjust_pvalues
from visiondrift.drift import DistributionDetails, DriftReport, catalogue
from visiondrift.errors import ConfigError, IncompatibleProfilesError, NoReadableImagesError
from visiondrift.measure.custom import (
    ImageMetric,
    image_metric_versions,
    register_image_metric,
    unregister_image_metric,
)
from visiondrift.profiles import Profile, ProfileConfig
from visiondrift.report import render_html, render_markdown


def white_share(rgb: NDArray[np.uint8]) -> float:
    """Share of the image's pixels that are pure white (255, 255, 255)."""
    return float((rgb == 255).all(axis=-1).mean())


WHITE = ImageMetric(
    "white_share",
    white_share,
    label="share of pure-white pixels",
    unit="share of pixels",
    more="whiter (more blown-out white)",
    less="less white",
    description="Share of the pixels that are exactly (255, 255, 255).",
)


def _white_patch(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A blown-out white patch over 10-30% of the image (a reflection, a lamp in view)."""
    out = image.copy()
    w, h = out.size
    side = float(np.sqrt(rng.uniform(0.10, 0.30)))
    pw, ph = max(1, round(w * side)), max(1, round(h * side))
    x, y = int(rng.integers(0, w - pw + 1)), int(rng.integers(0, h - ph + 1))
    ImageDraw.Draw(out).rectangle((x, y, x + pw - 1, y + ph - 1), fill=(255, 255, 255))
    return out


@pytest.fixture
def registered() -> Iterator[ImageMetric]:
    register_image_metric(WHITE)
    try:
        yield WHITE
    finally:
        unregister_image_metric(WHITE.name)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory, photos: list) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("white")
    base, cur = root / "base", root / "cur"
    make_dataset(base, 120, size=(64, 64), seed=21, photos=photos, fmt="PNG")
    make_dataset(cur, 80, size=(64, 64), seed=22, photos=photos, fmt="PNG", transform=_white_patch)
    return base, cur


@pytest.fixture
def profiles(registered: ImageMetric, folders: tuple[Path, Path]) -> tuple[Profile, Profile]:
    base_dir, cur_dir = folders
    base = visiondrift.profile(base_dir, workers=1)
    cur = visiondrift.profile(cur_dir, config=base.config, workers=1)
    return base, cur


def test_the_built_in_families_are_registered_producers() -> None:
    names = [p.name for p in catalogue.producers()]
    assert names[:2] == ["image_properties", "image_metrics"]
    assert {"integrity", "category_mixes", "confidence", "class_mix", "outputs"} <= set(names)
    assert {"accuracy", "embedding", "domain"} <= set(names)
    families = {f for p in catalogue.producers() for f in p.families}
    assert families == set(visiondrift.drift.METRIC_FAMILIES)


def test_the_metric_is_profiled_and_recorded_in_the_config(
    profiles: tuple[Profile, Profile],
) -> None:
    base, cur = profiles
    assert base.config.image_metrics == {"white_share": 1}
    assert cur.config == base.config
    values = base.values("white_share")
    assert values.shape == (len(base.reservoir),)
    assert cur.values("white_share").mean() > values.mean() + 0.05
    assert cur.values("white_share").min() >= 0.09  # every current image has its patch
    again = Profile.from_dict(json.loads(json.dumps(base.to_dict())))
    assert again.config.image_metrics == {"white_share": 1}
    assert np.array_equal(again.values("white_share"), values)


def test_the_metric_is_tested_inside_the_family_wise_correction(
    profiles: tuple[Profile, Profile],
) -> None:
    base, cur = profiles
    report = visiondrift.compare(base, cur)
    white = report.metric("white_share")
    assert white.family == "property"
    assert white.label == "share of pure-white pixels"
    assert white.test == "Kolmogorov-Smirnov on per-image values"
    assert isinstance(white.details, DistributionDetails)
    assert len(white.details.baseline_quantiles) == 19
    # One Holm correction over every metric, the registered one included.
    assert report.n_tests == len(report.metrics)
    raw = [m.p_value for m in report.metrics]
    adjusted = adjust_pvalues(raw, "holm")
    assert white.p_adjusted == pytest.approx(adjusted[report.metrics.index(white)])
    assert white.p_adjusted >= white.p_value
    assert white.status == "drift"
    assert white.severity in ("low", "medium", "high")
    assert white.effect_size > 0


def test_the_metric_is_explained_in_every_report(
    profiles: tuple[Profile, Profile], tmp_path: Path
) -> None:
    base, cur = profiles
    report = visiondrift.compare(base, cur)
    white = report.metric("white_share")
    assert white.explanation is not None
    assert "share of pure-white pixels" in white.explanation.lower()
    assert "whiter" in white.explanation
    saved = DriftReport.load(report.save(tmp_path / "report.json"))
    assert saved.metric("white_share") == white
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert any(m["name"] == "white_share" for m in data["metrics"])
    assert data["config"]["profile"]["image_metrics"] == {"white_share": 1}
    page = render_html(report)
    assert "share of pure-white pixels" in page
    assert "share of pure-white pixels: distribution of per-image values" in page
    markdown = render_markdown(report, max_metrics=len(report.metrics))
    assert "share of pure-white pixels" in markdown


def test_a_clean_batch_does_not_drift_on_the_metric(
    registered: ImageMetric, folders: tuple[Path, Path], tmp_path: Path, photos: list
) -> None:
    base = visiondrift.profile(folders[0], workers=1)
    make_dataset(tmp_path, 80, size=(64, 64), seed=23, photos=photos, fmt="PNG")
    same = visiondrift.profile(tmp_path, config=base.config, workers=1)
    assert visiondrift.compare(base, same).metric("white_share").status != "drift"


def test_profiles_with_different_metric_sets_refuse_to_merge_or_compare(
    profiles: tuple[Profile, Profile], folders: tuple[Path, Path]
) -> None:
    base, _ = profiles
    unregister_image_metric("white_share")
    try:
        plain = visiondrift.profile(folders[1], workers=1)
    finally:
        register_image_metric(WHITE)
    assert plain.config.image_metrics == {}
    with pytest.raises(IncompatibleProfilesError, match="different per-image metrics") as err:
        base.merge(plain)
    assert "{'white_share': 1} vs {}" in str(err.value)
    with pytest.raises(IncompatibleProfilesError, match="different per-image metrics"):
        visiondrift.compare(base, plain)


def test_a_recorded_metric_must_be_registered_with_its_version(
    profiles: tuple[Profile, Profile], folders: tuple[Path, Path]
) -> None:
    base, _ = profiles
    register_image_metric(ImageMetric("white_share", white_share, version=2), replace=True)
    try:
        with pytest.raises(ConfigError, match="version 1 of the per-image metric 'white_share'"):
            visiondrift.profile(folders[1], config=base.config, workers=1)
    finally:
        register_image_metric(WHITE, replace=True)
    unregister_image_metric("white_share")
    try:
        with pytest.raises(ConfigError, match="not registered in this process"):
            visiondrift.profile(folders[1], config=base.config, workers=1)
    finally:
        register_image_metric(WHITE)


def test_registration_is_checked() -> None:
    with pytest.raises(ConfigError, match="taken by a built-in property"):
        ImageMetric("sharpness", white_share)
    with pytest.raises(ConfigError, match="lower-case letters"):
        ImageMetric("White Share", white_share)
    with pytest.raises(ConfigError, match="must be one of 'property', 'texture', 'size'"):
        ImageMetric("white_share", white_share, family="confidence")  # type: ignore[arg-type]
    register_image_metric(WHITE)
    try:
        with pytest.raises(ConfigError, match="already registered"):
            register_image_metric(WHITE)
    finally:
        unregister_image_metric("white_share")
    assert "white_share" not in image_metric_versions()
    assert ProfileConfig().image_metrics == {}


def test_a_metric_that_returns_no_number_is_named(
    folders: tuple[Path, Path],
) -> None:
    register_image_metric(ImageMetric("broken_metric", lambda rgb: float("nan")))
    try:
        # Each image fails alone (listed as unusable, with the reason); none is left here.
        with pytest.raises(NoReadableImagesError, match="'broken_metric' returned nan"):
            visiondrift.profile(folders[0], workers=1)
    finally:
        unregister_image_metric("broken_metric")


def test_a_producer_must_keep_to_its_families(profiles: tuple[Profile, Profile]) -> None:
    base, cur = profiles

    def mislabelled(
        b: Profile, c: Profile, config: visiondrift.drift.DriftConfig
    ) -> list[catalogue.Candidate]:
        return catalogue.image_metric_candidates(b, c, config)

    catalogue.register("mislabelled", mislabelled, families=("integrity",))
    try:
        with pytest.raises(ConfigError, match="'mislabelled' returned the metric 'white_share'"):
            visiondrift.compare(base, cur)
    finally:
        catalogue.unregister("mislabelled")
    with pytest.raises(ConfigError, match="already registered"):
        catalogue.register("integrity", mislabelled, families=("integrity",))
    with pytest.raises(ConfigError, match="must be among"):
        catalogue.register("odd", mislabelled, families=("made_up",))  # type: ignore[arg-type]


def test_every_family_has_default_bands() -> None:
    assert set(visiondrift.drift.DEFAULT_BANDS) == set(visiondrift.drift.METRIC_FAMILIES)


def test_worker_processes_measure_the_metric_alike(
    profiles: tuple[Profile, Profile], folders: tuple[Path, Path]
) -> None:
    base, _ = profiles
    parallel = visiondrift.profile(folders[0], workers=2)
    assert parallel.config == base.config
    order_a = np.argsort(base.reservoir.keys)
    order_b = np.argsort(parallel.reservoir.keys)
    assert np.array_equal(
        base.values("white_share")[order_a], parallel.values("white_share")[order_b]
    )


def test_a_metric_that_fails_on_an_image_loses_that_image_only(
    folders: tuple[Path, Path], tmp_path: Path
) -> None:
    """A registered metric that raises on some images: those images are counted as
    ``measure_error`` (the detail names the metric), the others are profiled, the run goes on."""
    base, _ = folders

    def picky(rgb: NDArray[np.uint8]) -> float:
        if rgb.mean() > 120:
            raise ZeroDivisionError("no dark pixels to divide by")
        return float((rgb < 20).all(axis=-1).mean())

    bright = sum(np.asarray(Image.open(p).convert("RGB")).mean() > 120 for p in base.iterdir())
    assert 0 < bright < 120  # the crops include both kinds
    register_image_metric(ImageMetric("dark_share", picky))
    try:
        profile = visiondrift.profile(base, workers=1)
    finally:
        unregister_image_metric("dark_share")
    assert profile.bad_counts == {"measure_error": bright}
    assert profile.n_images == 120 - bright
    assert profile.n_files == 120
    detail = profile.bad_files[0].detail
    assert "'dark_share' failed on this image" in detail
    assert "ZeroDivisionError: no dark pixels to divide by" in detail
    assert len(profile.values("dark_share")) == 120 - bright
