"""Atypical images point at the change, and a part of the batch that is new is detected.

Real photo crops (``visiondrift.demo.samples``): the baseline holds naturally dark photos (crops of
the Hubble deep field), which a ranking by absolute rarity picks whatever the batch did; the
domain score picks the images the change made unusual.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance
from scipy import stats

import visiondrift
from visiondrift.decode import decode_image
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.detectors import ContaminationDetector, beyond_quantile
from visiondrift.drift import compare
from visiondrift.drift._atypical import by_rarity
from visiondrift.drift._domain import CONTAMINATION_GAMMA, domain_features
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.sources import FolderSource

SIZE = (96, 96)
#: Darkening of the darkened half of the batch (every pixel x0.6).
GAIN = 0.6
#: The broken camera of the contamination test: a failing sensor (Gaussian noise, sd 40 levels).
BROKEN = CameraChange(gain=1.0, blur=0.0, noise=40.0)


def _darken(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return ImageEnhance.Brightness(image).enhance(GAIN)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Profile:
    out = tmp_path_factory.mktemp("atypical-baseline")
    make_dataset(out, 300, size=SIZE, seed=31, photos=photos)
    assert any(p.name.startswith("hubble") for p in out.iterdir())
    return visiondrift.profile(out)


def _batch(root: Path, photos: list, parts: list[tuple[str, int, int, bool]]) -> Path:
    """A folder of crops, each part (prefix, count, seed, broken) written with its own prefix."""
    for prefix, n, seed, broken in parts:
        part = root / prefix
        transform = (_darken if prefix == "dark" else BROKEN) if broken else None
        make_dataset(part, n, size=SIZE, seed=seed, photos=photos, transform=transform)
        for f in part.iterdir():
            f.rename(root / f"{prefix}-{f.name}")
        shutil.rmtree(part)
    return root


def test_under_a_darkening_the_picked_images_are_darkened_ones(
    baseline: Profile, tmp_path: Path, photos: list
) -> None:
    folder = _batch(tmp_path, photos, [("clean", 60, 32, False), ("dark", 60, 33, True)])
    assert any(p.name.startswith("clean-hubble") for p in folder.iterdir())
    current = visiondrift.profile(folder)
    report = compare(baseline, current)
    assert report.overall_drift_detected
    picked = report.atypical_images
    assert len(picked) >= 6
    assert all(a.ranking == "domain score" for a in picked)
    names = [a.name for a in picked]
    assert sum(n.startswith("dark-") for n in names) >= 0.9 * len(picked), names
    # The batch's naturally dark clean crops (the baseline has many like them) are not picked.
    assert not any(n.startswith("clean-hubble") for n in names), names
    for a in picked:
        assert a.reasons[0].startswith(f"domain score {a.score:.2f}, higher than ")
        assert 0.5 < a.score <= 1.0
        if a.name.startswith("dark-"):
            assert "brighter" not in " ".join(a.reasons)
    assert any("brightness" in r and r.endswith(": darker") for a in picked for r in a.reasons)
    # Absolute rarity on the drifted metrics picks the batch's naturally dark clean crops (the
    # baseline's own outliers): the ranking above is what makes the difference.
    rare = by_rarity(baseline, current, report.drifted, len(picked))
    assert any(a.name.startswith("clean-") for a in rare), [a.name for a in rare]


def test_a_tenth_of_the_batch_broken_is_detected_and_picked(
    baseline: Profile, tmp_path: Path, photos: list
) -> None:
    folder = _batch(tmp_path, photos, [("clean", 360, 34, False), ("broken", 40, 35, True)])
    report = compare(baseline, visiondrift.profile(folder))
    share = report.metric("contamination")
    assert share.family == "contamination"
    assert share.status == "drift"
    assert share.p_adjusted <= report.alpha, (share.p_value, share.details)
    # The excess share estimates the broken tenth.
    assert 0.05 <= share.effect_size <= 0.2
    assert share.explanation is not None
    assert "of the batch looks new" in share.explanation
    # In the report's sentences the share is said once: with the classifier when it drifted too.
    told = [s for s in report.explanations if "looks new" in s]
    assert len(told) == 1, report.explanations
    if report.metric("domain").status == "drift":
        assert told[0].startswith("A classifier tells the batch"), told
        assert f"about {share.effect_size:.0%} of the batch looks new" in told[0], told
    picked = report.atypical_images
    assert len(picked) >= 5
    broken = sum(a.name.startswith("broken-") for a in picked)
    assert broken >= 0.8 * len(picked), [a.name for a in picked]


@pytest.fixture(scope="module")
def per_image(tmp_path_factory: pytest.TempPathFactory, photos: list) -> list[Profile]:
    """One profile per real crop, so that any split's profile is a merge (exact)."""
    out = tmp_path_factory.mktemp("atypical-null")
    make_dataset(out, 200, size=SIZE, seed=36, photos=photos)
    config = ProfileConfig()
    profiles = []
    for item in FolderSource(out).items:
        builder = ProfileBuilder(config)
        builder.add_image(item, decode_image(item.path, item.name, config.limits))  # type: ignore[arg-type]
        profiles.append(builder.build())
    return profiles


def test_contamination_test_is_calibrated_on_no_drift_splits(per_image: list[Profile]) -> None:
    """Random 120/80 splits of one real folder: rejections at alpha stay within their bound,
    and the p-values are not piled up near zero."""
    trials, alpha = 100, 0.05
    rng = np.random.default_rng(37)
    p_values = []
    for trial in range(trials):
        order = rng.permutation(len(per_image))
        base = Profile.merge_all([per_image[i] for i in order[:120]])
        cur = Profile.merge_all([per_image[i] for i in order[120:]])
        features = domain_features(base, cur)
        assert features is not None
        detector = ContaminationDetector(gamma=CONTAMINATION_GAMMA, n_permutations=199, seed=trial)
        p_values.append(detector.fit(features.baseline).test(features.current).p_value)
    p = np.array(p_values)
    bound = stats.binom.ppf(0.99, trials, alpha)
    assert int((p <= alpha).sum()) <= bound, sorted(p)[:10]
    assert int((p <= 0.2).sum()) <= stats.binom.ppf(0.99, trials, 0.2)


def test_threshold_is_the_references_own_high_quantile() -> None:
    """Twenty reference scores 0..19 and five current ones: at gamma 0.1 the threshold is the
    second-largest reference score (18), one reference row (19) and three current rows pass."""
    scores = np.r_[np.arange(20.0), [18.5, 30.0, 40.0, 5.0, 18.0]][None, :]
    is_current = np.r_[np.zeros(20, bool), np.ones(5, bool)][None, :]
    threshold, n_cur, n_ref = beyond_quantile(scores, is_current, 0.1)
    assert threshold.tolist() == [18.0]
    assert n_cur.tolist() == [3]
    assert n_ref.tolist() == [1]


def test_the_same_images_elsewhere_give_the_same_report(
    photo_dir: Path, changed_dir: Path, tmp_path: Path
) -> None:
    """Sampling keys hash the files' paths; the domain score's folds must not follow them, or the
    same images copied to another folder could get another verdict. (Sums over the reservoir run
    in key order, so floating results may differ in their last bits: compared to 1e-9.)"""
    results = []
    for place in ("here", "somewhere_else_entirely"):
        base, cur = tmp_path / place / "base", tmp_path / place / "cur"
        shutil.copytree(photo_dir, base)
        shutil.copytree(changed_dir, cur)
        report = compare(visiondrift.profile(base, workers=1), visiondrift.profile(cur, workers=1))
        results.append(
            [(m.name, m.status, m.p_value, m.effect_size, m.n_needed) for m in report.metrics]
        )
        assert {"domain", "contamination"} <= {m.family for m in report.metrics}
    here, there = results
    assert [(n, s, k) for n, s, _, _, k in here] == [(n, s, k) for n, s, _, _, k in there]
    for (name, _, p, effect, _), (_, _, p2, effect2, _) in zip(here, there, strict=True):
        assert p == pytest.approx(p2, rel=1e-9), name
        assert effect == pytest.approx(effect2, rel=1e-9, abs=1e-12), name
