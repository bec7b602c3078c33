"""Multiplicity corrections checked against published worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from visiondrift.detectors import (
    TestResult,
    adjust_pvalues,
    benjamini_hochberg,
    bonferroni,
    correct_results,
    holm,
    reject,
)
from visiondrift.errors import ConfigError

# Benjamini and Hochberg (1995), section 4.1: the 15 p-values of the myocardial infarction study.
BH_1995 = [
    0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000,
]  # fmt: skip


def test_bh_1995_example_rejects_four_where_bonferroni_type_procedures_reject_three() -> None:
    assert reject(BH_1995, 0.05, "bh").sum() == 4
    assert reject(BH_1995, 0.05, "bh")[:4].all()
    assert reject(BH_1995, 0.05, "holm").sum() == 3
    assert reject(BH_1995, 0.05, "bonferroni").sum() == 3


def test_holm_worked_example() -> None:
    # Four hypotheses, alpha = 0.05: sorted p 0.005 <= 0.05/4 and 0.01 <= 0.05/3 are rejected;
    # 0.03 > 0.05/2 stops the procedure (Holm 1979, the step-down rule).
    p = [0.01, 0.04, 0.03, 0.005]
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert reject(p, 0.05, "holm").tolist() == [True, False, False, True]
    assert bonferroni(p) == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_adjusted_p_values_are_ordered_like_the_raw_ones_and_bounded() -> None:
    rng = np.random.default_rng(0)
    p = rng.uniform(size=50) ** 3
    for method in ("holm", "bh", "bonferroni"):
        adjusted = adjust_pvalues(p, method)  # type: ignore[arg-type]
        order = np.argsort(p)
        assert np.all(np.diff(adjusted[order]) >= 0)
        assert np.all(adjusted >= p)
        assert np.all(adjusted <= 1)
    assert np.all(holm(p) <= bonferroni(p))
    assert np.all(benjamini_hochberg(p) <= holm(p))


def test_family_wise_error_of_holm_on_independent_nulls() -> None:
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(2000, 20))
    alarms = np.array([reject(row, 0.05, "holm").any() for row in p])
    assert alarms.mean() <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)


def test_correct_results_combines_detector_results() -> None:
    def result(p: float) -> TestResult:
        return TestResult("KSDetector", 0.2, p, 0.2, "share of images", 50, 50, "exact")

    results = [result(p) for p in (0.01, 0.04, 0.03, 0.005)]
    corrected = correct_results(results, alpha=0.05, method="holm")
    assert corrected.drift
    assert corrected.rejected == (True, False, False, True)
    assert corrected.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert corrected.drifted == (results[3], results[0])
    assert not correct_results(results, alpha=0.01).drift
    assert not correct_results([]).drift


def test_invalid_inputs_are_rejected() -> None:
    with pytest.raises(ConfigError, match="p-values must lie in"):
        holm([0.5, 1.5])
    with pytest.raises(ConfigError, match="The 'correction' parameter must be one of"):
        adjust_pvalues([0.5], "sidak")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="The 'alpha' parameter of correct_results"):
        correct_results([], alpha=0.0)
