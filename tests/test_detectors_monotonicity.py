"""A stronger shift never gives a smaller effect size (seeded data, one base sample per test)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from visiondrift.detectors import (
    AndersonDarlingDetector,
    BBSDDetector,
    ChiSquareDetector,
    CramerVonMisesDetector,
    Detector,
    DomainClassifierDetector,
    KSDetector,
    MMDDetector,
)

STRENGTHS = [0.0, 0.25, 0.5, 1.0, 2.0, 4.0]


def _effects(detector: Detector, reference: object, shifted: Callable[[float], object]) -> list:
    detector.fit(reference)  # type: ignore[arg-type]
    return [detector.test(shifted(s)).effect_size for s in STRENGTHS]  # type: ignore[arg-type]


def _assert_non_decreasing(effects: list[float]) -> None:
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(effects)), effects
    assert effects[-1] > effects[0]


@pytest.mark.parametrize(
    "detector",
    [
        KSDetector(),
        AndersonDarlingDetector(n_permutations=19, seed=0),
        CramerVonMisesDetector(n_permutations=19, seed=0),
    ],
    ids=["ks", "anderson_darling", "cramer_von_mises"],
)
@pytest.mark.parametrize("kind", ["location", "scale"])
def test_one_dimensional_effects_grow_with_the_shift(detector: Detector, kind: str) -> None:
    rng = np.random.default_rng(0)
    reference, base = rng.normal(size=300), rng.normal(size=200)
    if kind == "location":
        effects = _effects(detector, reference, lambda s: base + s)
    else:
        effects = _effects(detector, reference, lambda s: base * (1.0 + s))
    _assert_non_decreasing(effects)


def test_class_mix_effects_grow_as_the_mix_moves() -> None:
    reference = {"a": 500, "b": 300, "c": 200}
    target = {"a": 0, "b": 100, "c": 900}

    def mix(s: float) -> dict[str, int]:
        t = s / max(STRENGTHS)
        return {k: round((1 - t) * reference[k] + t * target[k]) for k in reference}

    for params in ({}, {"ordered": True}):
        detector = ChiSquareDetector(seed=0, n_permutations=19, **params)  # type: ignore[arg-type]
        detector.fit(reference)
        results = [detector.test(mix(s)) for s in STRENGTHS]
        _assert_non_decreasing([r.effect_size for r in results])
        for key in ("jensen_shannon", "psi", "total_variation"):
            _assert_non_decreasing([r.details[key] for r in results])


def test_mmd_effect_grows_with_a_mean_shift() -> None:
    rng = np.random.default_rng(1)
    reference, base = rng.normal(size=(200, 8)), rng.normal(size=(150, 8))
    detector = MMDDetector(n_permutations=19, seed=0)
    _assert_non_decreasing(_effects(detector, reference, lambda s: base + s / 2))


def test_bbsd_effect_grows_as_one_class_gains_confidence() -> None:
    rng = np.random.default_rng(2)
    # The batch starts as the reference itself: an independent batch starts with a chance gap in
    # some class that a small shift of another class first closes, so D can dip at first.
    reference = rng.dirichlet([1.0, 1.0, 1.0], size=300)
    base = reference.copy()

    def sharpen(s: float) -> np.ndarray:
        weights = np.array([np.exp(s / 2), 1.0, 1.0])
        scaled = base * weights
        return scaled / scaled.sum(axis=1, keepdims=True)

    _assert_non_decreasing(_effects(BBSDDetector(), reference, sharpen))


def test_domain_classifier_auc_grows_with_a_mean_shift() -> None:
    rng = np.random.default_rng(3)
    reference, base = rng.normal(size=(200, 4)), rng.normal(size=(150, 4))
    detector = DomainClassifierDetector(seed=0)
    _assert_non_decreasing(_effects(detector, reference, lambda s: base + np.array([s, 0, 0, 0])))
