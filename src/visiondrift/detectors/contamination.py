"""Partial contamination: are more current rows beyond the reference's own high quantile?"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visiondrift.detectors._base import TestResult, check_int
from visiondrift.detectors._linear import (
    CrossFittedDetector,
    DomainScores,
    FoldModels,
    permuted_labels,
)
from visiondrift.errors import ConfigError

__all__ = ["ContaminationDetector", "beyond_quantile"]

_OWNER = "ContaminationDetector"
#: Relabellings drawn (and held in memory) at a time.
_CHUNK = 100


def beyond_quantile(
    scores: NDArray[np.floating[Any]], is_current: NDArray[np.bool_], gamma: float
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Per row of ``scores`` (B x rows): the threshold and how many rows of each sample pass it.

    The threshold is the ``k``-th largest reference score, ``k = max(1, floor(gamma *
    n_reference))``: ``k - 1`` reference rows (without ties) score above it, never more than
    ``gamma`` of them. Every row of ``is_current`` must hold the same number of current rows.
    Returns (thresholds, current rows above, reference rows above).
    """
    n_ref = int(scores.shape[1] - is_current[0].sum())
    k = max(1, int(np.floor(gamma * n_ref)))
    masked = np.where(is_current, -np.inf, scores)
    kth = scores.shape[1] - k
    thresholds = np.partition(masked, kth, axis=1)[:, kth]
    above = scores > thresholds[:, None]
    n_cur_above = (above & is_current).sum(axis=1)
    n_ref_above = above.sum(axis=1) - n_cur_above
    return thresholds.astype(np.float64), n_cur_above.astype(np.int64), n_ref_above.astype(np.int64)


class ContaminationDetector(CrossFittedDetector):
    """Share of current rows beyond the reference's own high quantile of a domain score.

    A cross-fitted linear discriminant (as in
    :class:`~visiondrift.detectors.domain_classifier.DomainClassifierDetector`, but on every
    standardised feature *and its square*, so that a part of the sample far out on either side of
    a feature raises the score) scores every row out of fold: higher means more like the current
    sample, an estimate of the density ratio ``p_current(x) / p_reference(x)``. The threshold is
    the reference rows' own ``1 - gamma`` quantile of that score, and the statistic is the number
    of current rows above it.
    When a share ``f`` of the batch comes from somewhere new (one camera in ten broken) and the
    score puts those rows on top, about ``f + (1 - f) * gamma`` of the batch passes, against about
    ``gamma`` of the reference: the test sees a tail that a whole-sample comparison dilutes.

    The p-value is a permutation test of the whole procedure: the labels are permuted within
    each fold, every fold model is refitted, the scores, the threshold and the count are
    recomputed, and the observed count is ranked among the relabelled ones (sequentially: see
    ``stop_after``). Conditional on the
    folds' rows and label counts, every within-fold relabelling is equally likely under the null
    hypothesis (all rows exchangeable), so the p-value is exact in level; the discriminant's
    closed form makes the refits two matrix products (see :mod:`visiondrift.detectors._linear`).
    The smallest p-value is ``1 / (B + 1)``.

    Effect size: the excess share of the batch beyond the threshold,
    ``max(0, (s_cur - s_ref) / (1 - s_ref))`` with ``s_cur`` and ``s_ref`` the shares of current
    and reference rows above it; it estimates the share of the batch that is new when the new
    rows all score above the threshold (1 when every current row does, 0 when the batch looks
    like the reference).

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    gamma
        Share of the reference expected above the threshold (the threshold is the reference's
        ``1 - gamma`` quantile), in (0, 0.5).
    n_splits
        Folds of the stratified cross-fitting.
    C
        Inverse strength of the ridge penalty of the discriminant.
    max_reference
        Rows of the reference kept (seeded subsample) above this size.
    max_current
        Rows of the current sample kept (seeded subsample) above this size.
    n_permutations
        Largest number of within-fold relabellings B of the permutation null (the smallest
        p-value is ``1 / (B + 1)``).
    stop_after
        Stop drawing relabellings once this many reach the observed count (Besag and Clifford's
        sequential p-value): what keeps the test cheap when the batch looks like the baseline.
    seed
        Seed of the subsampling, folds and relabellings; ``None`` draws fresh entropy.

    References
    ----------
    Bates, S., Candès, E., Lei, L., Romano, Y. and Sesia, M. (2023). Testing for outliers with
    conformal p-values. Annals of Statistics 51(1), 149-178.
    Besag, J. and Clifford, P. (1991). Sequential Monte Carlo p-values. Biometrika 78(2),
    301-304.
    Phipson, B. and Smyth, G. K. (2010). Permutation p-values should never be zero. Statistical
    Applications in Genetics and Molecular Biology 9(1), article 39.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> batch = rng.normal(size=(200, 4))
    >>> batch[:20, 0] += 6.0  # one row in ten comes from elsewhere
    >>> det = ContaminationDetector(seed=0).fit(rng.normal(size=(400, 4)))
    >>> result = det.test(batch)
    >>> result.p_value < 0.01, 0.05 < result.effect_size < 0.2
    (True, True)
    """

    _owner: ClassVar[str] = _OWNER
    _quadratic: ClassVar[bool] = True
    _param_names: ClassVar[tuple[str, ...]] = (
        "alpha",
        "gamma",
        "n_splits",
        "C",
        "max_reference",
        "max_current",
        "n_permutations",
        "stop_after",
        "seed",
    )

    def __init__(
        self,
        alpha: float = 0.05,
        gamma: float = 0.05,
        n_splits: int = 5,
        C: float = 1.0,
        max_reference: int = 2000,
        max_current: int = 2000,
        n_permutations: int = 1999,
        stop_after: int = 10,
        seed: int | None = None,
    ) -> None:
        super().__init__(alpha, n_splits, C, max_reference, max_current, n_permutations, seed)
        self.stop_after = check_int(stop_after, "stop_after", _OWNER, minimum=1)
        if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not 0 < gamma < 0.5:
            raise ConfigError(
                f"The 'gamma' parameter of {_OWNER} must be in (0, 0.5). Got {gamma!r} instead."
            )
        self.gamma = float(gamma)

    def test(self, current: ArrayLike) -> TestResult:
        """Test an (m, d) feature array with the reference's number of columns."""
        found, models = self._fold_models(current)
        labels = found.labels
        is_current = labels == 1
        observed = np.r_[found.reference_scores, found.current_scores]
        thresholds, cur_above, ref_above = beyond_quantile(
            observed[None, :], is_current[None, :], self.gamma
        )
        count = int(cur_above[0])
        p_value, n_drawn, null_mean = self._permutation_pvalue(count, labels, found, models)
        n_ref, n_cur = found.reference_scores.size, found.current_scores.size
        share_cur = count / n_cur
        share_ref = float(ref_above[0]) / n_ref
        excess = max(0.0, (share_cur - share_ref) / (1.0 - share_ref))
        details: dict[str, Any] = {
            "gamma": self.gamma,
            "threshold": float(thresholds[0]),
            "share_current_above": share_cur,
            "share_reference_above": share_ref,
            "n_current_above": count,
            "null_mean_current_above": null_mean,
            "n_permutations": n_drawn,
            "n_splits": found.n_splits,
            "feature_weights": found.weights.tolist(),
            "n_reference_used": int(n_ref),
            "n_current_used": int(n_cur),
        }
        return TestResult(
            detector=self.name,
            statistic=float(count),
            p_value=p_value,
            effect_size=excess,
            effect_unit="excess share of the batch beyond the reference's high quantile",
            n_reference=self.n_reference_seen_,
            n_current=int(np.asarray(current).shape[0]),
            method="permutation",
            details=details,
        )

    def _permutation_pvalue(
        self, count: int, labels: NDArray[np.int64], found: DomainScores, models: FoldModels
    ) -> tuple[float, int, float]:
        """Sequential permutation p-value (Besag and Clifford), draws made, null mean count.

        Relabellings are drawn in chunks; after the ``stop_after``-th relabelling whose count
        reaches the observed one, at draw ``L``, the p-value is ``stop_after / L``; if all
        ``n_permutations`` draws are made with ``g < stop_after`` of them, it is
        ``(g + 1) / (B + 1)``. Both are valid p-values; a batch that looks like the baseline
        stops after a few dozen draws.
        """
        rng = self._relabelling_rng()
        drawn, reached, total = 0, 0, 0.0
        while drawn < self.n_permutations:
            n = min(_CHUNK, self.n_permutations - drawn)
            relabelled = permuted_labels(labels, found.folds, n, rng)
            null_scores = models.null_scores(labels, relabelled)
            _, null_counts, _ = beyond_quantile(null_scores, relabelled > 0.5, self.gamma)
            hits = np.cumsum(null_counts >= count)
            total += float(null_counts.sum())
            if reached + int(hits[-1]) >= self.stop_after:
                at = int(np.searchsorted(hits, self.stop_after - reached))
                total -= float(null_counts[at + 1 :].sum())
                drawn += at + 1
                return self.stop_after / drawn, drawn, total / drawn
            reached += int(hits[-1])
            drawn += n
        return (reached + 1.0) / (drawn + 1.0), drawn, total / max(drawn, 1)
