"""Exact results of each detector on small or seeded data, checked against independent formulas."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import pdist

import visiondrift.detectors as detectors
from visiondrift.detectors import (
    AndersonDarlingDetector,
    BBSDDetector,
    ChiSquareDetector,
    CramerVonMisesDetector,
    DomainClassifierDetector,
    KSDetector,
    MMDDetector,
    anderson_darling,
    bbsd,
    chi_square,
    class_wasserstein,
    cramer_von_mises,
    distances,
    domain_classifier,
    jensen_shannon,
    ks,
    mmd,
    multitest,
    population_stability_index,
    total_variation,
)
from visiondrift.errors import ConfigError


def test_all_is_complete_and_importable() -> None:
    public_modules = (
        anderson_darling,
        bbsd,
        chi_square,
        cramer_von_mises,
        distances,
        domain_classifier,
        ks,
        mmd,
    )
    for module in (*public_modules, multitest):
        missing = set(module.__all__) - set(detectors.__all__)
        assert not missing, f"{module.__name__} exports {missing} but the package does not"
    for name in detectors.__all__:
        assert getattr(detectors, name) is not None
    assert sorted(detectors.__all__) == detectors.__all__


# --- Kolmogorov-Smirnov ----------------------------------------------------------------------


def test_ks_statistic_matches_a_hand_computed_gap() -> None:
    # ECDF gaps: at 2 -> 2/4 - 0; at 3 -> 3/4 - 1/4; at 4 -> 1 - 2/4: D = 1/2, current larger.
    result = KSDetector().fit([1.0, 2.0, 3.0, 4.0]).test([3.0, 4.0, 5.0, 6.0])
    assert result.statistic == pytest.approx(0.5)
    assert result.effect_size == result.statistic
    assert result.details["direction"] == "current larger"
    assert result.method == "exact"
    # Exact null of D for n = m = 4 (Gnedenko-Korolyuk): P(D >= 1/2) = 1 - P(D <= 1/4) ...
    assert result.p_value == pytest.approx(stats.ks_2samp([1, 2, 3, 4], [3, 4, 5, 6]).pvalue)


def test_ks_reports_the_method_it_really_used() -> None:
    rng = np.random.default_rng(0)
    small = KSDetector(exact_max_size=100).fit(rng.normal(size=50))
    assert small.test(rng.normal(size=50)).method == "exact"
    assert small.test(rng.normal(size=150)).method == "asymptotic"
    assert KSDetector(method="asymp").fit([1, 2, 3]).test([1, 2]).method == "asymptotic"


# --- Anderson-Darling ------------------------------------------------------------------------


@pytest.mark.parametrize("ties", [False, True])
def test_anderson_darling_statistic_equals_scipy(ties: bool) -> None:
    rng = np.random.default_rng(3)
    ref, cur = rng.normal(size=40), rng.normal(0.4, size=25)
    if ties:
        ref, cur = np.round(ref), np.round(cur)
    result = AndersonDarlingDetector(n_permutations=9, seed=0).fit(ref).test(cur)
    with warnings.catch_warnings():  # scipy warns when its tabulated p-value is capped
        warnings.simplefilter("ignore", UserWarning)
        expected = stats.anderson_ksamp([ref, cur], variant="midrank")
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-10)


def test_anderson_darling_permutation_p_value_agrees_with_scipy() -> None:
    rng = np.random.default_rng(4)
    ref, cur = np.round(rng.normal(size=30), 1), np.round(rng.normal(0.5, size=20), 1)
    ours = AndersonDarlingDetector(n_permutations=1999, seed=1).fit(ref).test(cur)
    theirs = stats.anderson_ksamp(
        [ref, cur],
        variant="midrank",
        method=stats.PermutationMethod(n_resamples=1999, rng=np.random.default_rng(2)),
    )
    # Two independent Monte-Carlo estimates of the same p-value: within 4 standard errors.
    se = np.sqrt(theirs.pvalue * (1 - theirs.pvalue) / 1999) * np.sqrt(2)
    assert abs(ours.p_value - theirs.pvalue) < 4 * se + 1e-3


def test_anderson_darling_effect_is_the_standardised_wasserstein_distance() -> None:
    ref = np.array([0.0, 1.0, 2.0, 3.0])
    result = AndersonDarlingDetector(seed=0).fit(ref).test(ref + 2.0)
    assert result.effect_size == pytest.approx(2.0 / np.std(ref, ddof=1))


def test_anderson_darling_large_samples_use_the_tabulated_p_value() -> None:
    rng = np.random.default_rng(5)
    detector = AndersonDarlingDetector(permutation_max_size=100, seed=0).fit(rng.normal(size=80))
    result = detector.test(rng.normal(size=80))
    assert result.method == "asymptotic"
    assert result.details.get("p_value_bound") == "cap 0.25"
    assert result.p_value == pytest.approx(0.25)
    cur = rng.normal(loc=2.0, size=80)
    shifted = detector.test(cur)
    assert shifted.details.get("p_value_bound") == "floor 0.001"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = stats.anderson_ksamp([detector.reference_, cur], variant="midrank")
    assert shifted.statistic == pytest.approx(expected.statistic)
    assert shifted.p_value == pytest.approx(expected.pvalue)


def test_constant_samples_give_no_drift() -> None:
    result = AndersonDarlingDetector(seed=0).fit([1.0, 1.0, 1.0]).test([1.0, 1.0])
    assert (result.statistic, result.p_value, result.effect_size) == (0.0, 1.0, 0.0)


# --- Cramér-von Mises ------------------------------------------------------------------------


@pytest.mark.parametrize("ties", [False, True])
def test_cramer_von_mises_statistic_equals_scipy(ties: bool) -> None:
    rng = np.random.default_rng(12)
    ref, cur = rng.normal(size=35), rng.normal(0.3, size=28)
    if ties:
        ref, cur = np.round(ref, 1), np.round(cur, 1)
    result = CramerVonMisesDetector(n_permutations=9, seed=0).fit(ref).test(cur)
    expected = stats.cramervonmises_2samp(ref, cur, method="asymptotic")
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-10)
    assert result.method == "permutation"


def test_cramer_von_mises_picks_exact_without_ties_on_small_samples() -> None:
    ref, cur = [0.1, 0.5, 0.9, 1.3, 2.2], [1.0, 1.7, 2.5, 3.1]
    result = CramerVonMisesDetector().fit(ref).test(cur)
    assert result.method == "exact"
    assert result.p_value == pytest.approx(stats.cramervonmises_2samp(ref, cur, "exact").pvalue)
    rng = np.random.default_rng(13)
    big = CramerVonMisesDetector(permutation_max_size=50).fit(rng.normal(size=60))
    assert big.test(rng.normal(size=40)).method == "asymptotic"


def test_cramer_von_mises_permutation_matches_exact_without_ties() -> None:
    rng = np.random.default_rng(14)
    ref, cur = rng.normal(size=12), rng.normal(0.8, size=10)
    exact = CramerVonMisesDetector(method="exact").fit(ref).test(cur).p_value
    perm = CramerVonMisesDetector(method="permutation", n_permutations=4999, seed=0)
    assert perm.fit(ref).test(cur).p_value == pytest.approx(exact, abs=0.02)


# --- chi-square / G --------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "lambda_"), [("pearson", None), ("g", "log-likelihood")])
def test_chi_square_statistic_equals_scipy_contingency(kind: str, lambda_: str | None) -> None:
    ref = {"jpeg": 120, "png": 40, "webp": 8, "bmp": 2}
    cur = {"jpeg": 50, "png": 30, "webp": 15, "bmp": 0}
    table = np.array([[ref[k] for k in sorted(ref)], [cur[k] for k in sorted(ref)]])
    expected = stats.chi2_contingency(table, correction=False, lambda_=lambda_)
    det = ChiSquareDetector(statistic=kind, method="asymptotic").fit(ref)  # type: ignore[arg-type]
    result = det.test(cur)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    monte_carlo = ChiSquareDetector(statistic=kind, seed=0).fit(ref).test(cur)  # type: ignore[arg-type]
    assert monte_carlo.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert monte_carlo.method == "monte-carlo"


def test_chi_square_monte_carlo_p_value_matches_fisher_on_a_small_table() -> None:
    # For a 2 x 2 table, the Pearson statistic orders tables like |a - E[a]|, so the Monte-Carlo
    # p-value estimates the two-sided Fisher test of the same table (central hypergeometric null).
    ref, cur = ["x"] * 9 + ["y"] * 1, ["x"] * 3 + ["y"] * 5
    det = ChiSquareDetector(n_permutations=19999, seed=3).fit(ref)
    table = np.array([[9, 1], [3, 5]])
    hypergeom = stats.hypergeom(18, 6, 8)  # y-count among 8 current of 18, 6 y in total
    expected_y = 8 * 6 / 18
    support = np.arange(0, 7)
    extreme = np.abs(support - expected_y) >= abs(5 - expected_y) - 1e-12
    exact = hypergeom.pmf(support)[extreme].sum()
    assert det.test(cur).p_value == pytest.approx(exact, abs=0.01)
    assert table.sum() == 18


def test_chi_square_labels_and_counts_are_equivalent() -> None:
    labels = np.array([0, 0, 1, 2, 2, 2, 1, 0])
    counts = {0: 3, 1: 2, 2: 3}
    by_labels = ChiSquareDetector(seed=0).fit(labels).test([2, 2, 1])
    by_counts = ChiSquareDetector(seed=0).fit(counts).test({1: 1, 2: 2})
    assert by_labels == by_counts


def test_chi_square_reports_new_categories_and_shares() -> None:
    result = ChiSquareDetector(seed=0).fit(["cat"] * 10).test(["cat"] * 5 + ["dog"] * 5)
    assert result.details["new_categories"] == ["dog"]
    assert result.details["current_share"] == [0.5, 0.5]
    assert result.effect_size == pytest.approx(0.5)


def test_chi_square_rejects_unknown_categories_and_bad_counts() -> None:
    with pytest.raises(ConfigError, match=r"has categories \['fox'\] that are not in"):
        ChiSquareDetector(categories=["cat", "dog"]).fit(["cat", "fox"])
    with pytest.raises(ConfigError, match=r"must be non-negative integers\. Got 1\.5"):
        ChiSquareDetector().fit({"cat": 1.5})
    with pytest.raises(ConfigError, match="is empty"):
        ChiSquareDetector().fit({"cat": 0})


# --- categorical distances -------------------------------------------------------------------


def test_categorical_distances_on_hand_computed_examples() -> None:
    assert total_variation([50, 50], [80, 20]) == pytest.approx(0.3)
    assert jensen_shannon([1, 0], [0, 1]) == pytest.approx(1.0)
    assert jensen_shannon([1, 1], [1, 1]) == pytest.approx(0.0)
    psi = 0.1 * np.log(0.6 / 0.5) + (-0.1) * np.log(0.4 / 0.5)
    assert population_stability_index([50, 50], [60, 40]) == pytest.approx(psi)
    # An empty bin costs ln(q / epsilon), finite, and grows as epsilon shrinks.
    assert population_stability_index([1, 0], [1, 1], epsilon=1e-3) < population_stability_index(
        [1, 0], [1, 1], epsilon=1e-6
    )


def test_class_wasserstein_with_a_cost_matrix() -> None:
    steps = np.abs(np.subtract.outer(np.arange(3), np.arange(3))).astype(float)
    assert class_wasserstein([1, 0, 0], [0, 0, 1], steps) == pytest.approx(2.0)
    assert class_wasserstein([1, 0, 0], [0, 0, 1], ordered=True) == pytest.approx(2.0)
    rng = np.random.default_rng(6)
    p, q = rng.integers(0, 20, size=5), rng.integers(1, 20, size=5)
    zero_one = 1.0 - np.eye(5)
    assert class_wasserstein(p, q, zero_one) == pytest.approx(total_variation(p, q), abs=1e-9)
    assert class_wasserstein(p, q, steps_5 := np.abs(np.subtract.outer(*[np.arange(5)] * 2))) == (
        pytest.approx(class_wasserstein(p, q, ordered=True), abs=1e-9)
    )
    assert steps_5.shape == (5, 5)


def test_chi_square_detector_uses_the_cost_matrix_for_its_effect() -> None:
    cost = [[0.0, 0.2, 1.0], [0.2, 0.0, 1.0], [1.0, 1.0, 0.0]]
    det = ChiSquareDetector(categories=["nevus", "keratosis", "melanoma"], cost=cost, seed=0)
    det.fit({"nevus": 50, "keratosis": 50, "melanoma": 0})
    result = det.test({"nevus": 0, "keratosis": 100, "melanoma": 0})
    assert result.effect_size == pytest.approx(0.5 * 0.2)
    assert result.effect_unit == "class-cost units (Wasserstein distance)"
    assert result.details["total_variation"] == pytest.approx(0.5)


# --- MMD ---------------------------------------------------------------------------------------


def _direct_mmd2(x: np.ndarray, y: np.ndarray, width: float) -> float:
    def k(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.exp(-np.sum((a - b) ** 2) / (2 * width**2)))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_mmd_statistic_equals_the_direct_quadratic_formula() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(12, 3)), rng.normal(0.5, size=(9, 3))
    result = MMDDetector(n_permutations=9, seed=0).fit(x).test(y)
    width = float(np.median(pdist(np.vstack([x, y]))))
    assert result.details["bandwidth"] == pytest.approx(width)
    assert result.statistic == pytest.approx(_direct_mmd2(x, y, width), rel=1e-10)
    fixed = MMDDetector(n_permutations=9, bandwidth=2.0, seed=0).fit(x).test(y)
    assert fixed.statistic == pytest.approx(_direct_mmd2(x, y, 2.0), rel=1e-10)
    assert fixed.effect_size == pytest.approx(np.sqrt(max(fixed.statistic, 0.0)))


def test_mmd_subsamples_above_its_documented_sizes() -> None:
    rng = np.random.default_rng(8)
    det = MMDDetector(n_permutations=9, max_reference=50, max_current=40, seed=0)
    result = det.fit(rng.normal(size=(500, 2))).test(rng.normal(size=(300, 2)))
    assert (result.n_reference, result.n_current) == (500, 300)
    assert (result.details["n_reference_used"], result.details["n_current_used"]) == (50, 40)


def test_mmd_rejects_mismatched_columns() -> None:
    det = MMDDetector(n_permutations=9).fit(np.zeros((5, 3)))
    with pytest.raises(ConfigError, match="has 2 columns; the reference has 3"):
        det.test(np.zeros((5, 2)))


# --- BBSD ----------------------------------------------------------------------------------------


def test_bbsd_is_per_class_ks_with_bonferroni() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.dirichlet([1, 1, 1, 1], size=60), rng.dirichlet([2, 1, 1, 1], size=50)
    result = BBSDDetector(class_names=["a", "b", "c", "d"]).fit(ref).test(cur)
    per_class = [stats.ks_2samp(ref[:, c], cur[:, c]) for c in range(4)]
    assert [row["statistic"] for row in result.details["per_class"]] == pytest.approx(
        [r.statistic for r in per_class]
    )
    assert result.p_value == pytest.approx(min(1.0, 4 * min(r.pvalue for r in per_class)))
    assert result.effect_size == pytest.approx(max(r.statistic for r in per_class))
    assert (
        result.details["most_shifted_class"]
        == "abcd"[int(np.argmax([r.statistic for r in per_class]))]
    )


# --- domain classifier -------------------------------------------------------------------------


def test_domain_classifier_separates_disjoint_samples_perfectly() -> None:
    rng = np.random.default_rng(10)
    ref, cur = rng.normal(size=(50, 3)), rng.normal(size=(40, 3)) + np.array([10.0, 0.0, 0.0])
    result = DomainClassifierDetector(seed=0).fit(ref).test(cur)
    assert result.effect_size == pytest.approx(1.0)
    assert result.details["fold_auc"] == pytest.approx([1.0] * 5)
    assert abs(result.details["feature_weights"][0]) > abs(result.details["feature_weights"][1])
    # Bonferroni over 5 folds of the one-sided Mann-Whitney p-values.
    assert result.p_value == pytest.approx(5 * min(result.details["fold_p_values"]))


def test_domain_classifier_permutation_p_value_is_exact_in_form() -> None:
    rng = np.random.default_rng(11)
    ref, cur = rng.normal(size=(20, 2)), rng.normal(size=(20, 2)) + 3.0
    det = DomainClassifierDetector(n_splits=2, p_value_method="permutation", n_permutations=9)
    result = det.fit(ref).test(cur)
    assert result.method == "permutation"
    assert result.p_value == pytest.approx(0.1)  # (1 + 0) / (9 + 1): no relabelling does better


def test_domain_classifier_needs_two_rows_per_sample() -> None:
    with pytest.raises(ConfigError, match="needs at least 2 value"):
        DomainClassifierDetector().fit(np.zeros((1, 3)))
