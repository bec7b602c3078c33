"""Severity measures consequence, not detectability; "images needed" comes from the real test.

Real photo crops (``visiondrift.demo.samples``) written as real files. Harmless shifts (a JPEG round
trip at quality 95, a gain of x1.02, a 1% resize, PNG re-encoded as JPEG) may be *detected* by
the sensitive detectors (domain classifier, format and file-size mix), but their severity stays
none or low; a real darkening stays medium or high.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import visiondrift
from visiondrift.demo.samples import make_dataset
from visiondrift.detectors.ks import KSDetector
from visiondrift.drift import DriftReport, compare
from visiondrift.profiles import Profile

SIZE = (96, 96)
#: Words that would claim a change of brightness or colour, which the harmless shifts do not make
#: (sharpness and noise estimates do react to resampling; their bands keep that low).
VISIBLE_CLAIMS = ("darker", "brighter", "colour cast", "more blue", "less red")


def _jpeg95(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=95)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _gain(factor: float):  # type: ignore[no-untyped-def]
    def apply(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        out = np.clip(np.rint(np.asarray(image, dtype=np.float64) * factor), 0, 255)
        return Image.fromarray(out.astype(np.uint8))

    return apply


def _resize_1pct(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = image.size
    return image.resize((round(w * 1.01), round(h * 1.01)), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def png_baseline(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Profile:
    out = tmp_path_factory.mktemp("sev-base")
    make_dataset(out, 300, size=SIZE, seed=21, photos=photos, fmt="PNG")
    return visiondrift.profile(out, workers=1)


def _batch(tmp: Path, photos: list, n: int, transform=None, fmt: str = "PNG") -> Profile:  # type: ignore[no-untyped-def]
    extra = {"quality": 95} if fmt == "JPEG" else {}
    make_dataset(tmp, n, size=SIZE, seed=22, photos=photos, transform=transform, fmt=fmt, **extra)
    return visiondrift.profile(tmp, workers=1)


def _detection_only(report: DriftReport) -> bool:
    return report.overall_drift_detected and all(m.role == "detection" for m in report.drifted)


@pytest.mark.parametrize(
    ("name", "transform", "fmt"),
    [
        ("jpeg95", _jpeg95, "PNG"),
        ("gain102", _gain(1.02), "PNG"),
        ("resize1", _resize_1pct, "PNG"),
        ("png_to_jpeg95", None, "JPEG"),
    ],
)
def test_harmless_shifts_are_none_or_low(
    png_baseline: Profile, photos: list, tmp_path: Path, name: str, transform, fmt: str
) -> None:  # type: ignore[no-untyped-def]
    report = compare(png_baseline, _batch(tmp_path / name, photos, 200, transform, fmt))
    drifted = [(m.name, m.severity) for m in report.drifted]
    assert report.severity in ("none", "low"), (name, drifted)
    for m in report.drifted:
        if m.role == "detection":
            assert m.severity in ("none", "low")
    assert not any(word in e for e in report.explanations for word in VISIBLE_CLAIMS)


def test_real_darkening_stays_high(png_baseline: Profile, photos: list, tmp_path: Path) -> None:
    report = compare(png_baseline, _batch(tmp_path / "dark", photos, 200, _gain(0.7)))
    assert report.severity == "high"
    effects = [m for m in report.drifted if m.role == "effect"]
    assert effects[0].severity == "high"
    assert report.metric("brightness").severity == "high"
    assert report.metric("domain").role == "detection"
    assert any("darker" in e for e in report.explanations)
    # At one severity, the effects a person notices are listed before the detection metrics.
    order = [(m.severity, m.role) for m in report.metrics]
    for (sev_a, role_a), (sev_b, role_b) in itertools.pairwise(order):
        if sev_a == sev_b:
            assert not (role_a == "detection" and role_b == "effect"), order
    assert report.metrics[0].role == "effect"
    milder = compare(png_baseline, _batch(tmp_path / "dim", photos, 200, _gain(0.85)))
    assert milder.severity in ("medium", "high")


def test_detection_only_drift_says_what_is_true(
    png_baseline: Profile, photos: list, tmp_path: Path
) -> None:
    """PNG files re-encoded as JPEG q95: the format, the file size and the domain classifier see
    it (drift), nothing a person or the model would notice moved: severity low, and the report
    says exactly that, first."""
    report = compare(png_baseline, _batch(tmp_path / "jpeg", photos, 200, None, "JPEG"))
    assert report.overall_drift_detected
    assert report.severity == "low"
    fmt = report.metric("format_mix")
    assert fmt.status == "drift"
    assert fmt.role == "detection"
    assert fmt.details["band_severity"] == "high"
    assert fmt.severity == "low"
    assert report.metric("file_size").role == "detection"
    assert report.metric("brightness").role == "effect"
    # Every effect metric that drifted is at most low; the note names the detectors that fired.
    assert all(m.severity in ("none", "low") for m in report.drifted if m.role == "effect")
    note = next(e for e in report.explanations if "nothing a person or the model" in e)
    capped = [m for m in report.drifted if "band_severity" in m.details]
    assert capped
    assert all(m.label in note for m in capped)
    assert note.endswith("severity low.")
    if _detection_only(report):
        assert report.explanations[0] == note
    # The format sentence itself is true: the batch is JPEG, the baseline PNG.
    assert any("JPEG" in e for e in report.explanations)


def test_detection_alone_gives_low_and_a_true_sentence(
    png_baseline: Profile, photos: list, tmp_path: Path
) -> None:
    """A 1% resize: the domain classifier tells every image apart (the width is 97 px, not 96),
    yet nothing a person or the model would notice changed."""
    report = compare(png_baseline, _batch(tmp_path / "resize", photos, 200, _resize_1pct))
    domain = report.metric("domain")
    assert domain.status == "drift"
    assert domain.role == "detection"
    assert domain.details["band_severity"] in ("medium", "high")
    assert domain.severity == "low"
    assert report.severity == "low"
    note = next(e for e in report.explanations if domain.label in e)
    assert "severity low" in note


# ------------------------------------------------------------------ images needed


def _alpha_over_m(report: DriftReport) -> float:
    return report.alpha / report.n_tests


@pytest.mark.parametrize(("n", "factor"), [(3, 0.75), (12, 0.9)])
def test_images_needed_comes_from_the_real_test(
    png_baseline: Profile, photos: list, tmp_path: Path, n: int, factor: float
) -> None:
    cur = _batch(tmp_path / f"few{n}", photos, n, _gain(factor))
    report = compare(png_baseline, cur)
    inconclusive = [m for m in report.metrics if m.status == "insufficient_evidence"]
    assert inconclusive, [(m.name, m.status, m.effect_size) for m in report.metrics]
    checked = 0
    for metric in inconclusive:
        if metric.name not in png_baseline.reservoir.values or metric.n_needed is None:
            continue
        # Never below the batch that was not enough.
        assert metric.n_needed > metric.n_current
        # Batches of the estimated size detect the effect with the same test (KS on per-image
        # values) at the strictest Holm level in at least 70% of independent draws.
        b, c = png_baseline.values(metric.name), cur.values(metric.name)
        rng = np.random.default_rng(12345)
        k, draws, hits = metric.n_needed, 200, 0
        for _ in range(draws):
            bb = b[rng.integers(0, b.size, size=max(k, b.size))]
            cc = c[rng.integers(0, c.size, size=k)]
            hits += KSDetector().fit(bb).test(cc).p_value <= _alpha_over_m(report)
        assert hits >= 0.7 * draws, (metric.name, k, hits)
        assert f"about {k} current images" in (metric.explanation or "")
        checked += 1
    assert checked >= 1
