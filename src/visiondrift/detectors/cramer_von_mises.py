"""Two-sample Cramér-von Mises test with exact, permutation or asymptotic p-values."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from visiondrift.detectors._base import (
    Detector,
    PValueMethod,
    TestResult,
    check_alpha,
    check_choice,
    check_int,
    check_sample,
    check_seed,
    permutation_pvalue,
)
from visiondrift.detectors.anderson_darling import standardised_shift

__all__ = ["CVMMethod", "CramerVonMisesDetector"]

CVMMethod = Literal["auto", "exact", "permutation", "asymptotic"]
_CVM_METHODS: tuple[str, ...] = ("auto", "exact", "permutation", "asymptotic")
_OWNER = "CramerVonMisesDetector"


def _cvm_statistic(
    membership: NDArray[np.float64], midranks: NDArray[np.float64], n_current: int
) -> NDArray[np.float64]:
    """Anderson's (1962) T for rows of 0/1 current membership over the sorted pooled sample.

    ``midranks`` are the pooled midranks in sorted order. For each sample the ranks of its sorted
    values are compared with their positions 1, 2, ... inside the sample:
    ``U = n_ref * sum (r_i - i)^2 + n_cur * sum (s_j - j)^2`` and
    ``T = U / (n_ref n_cur N) - (4 n_ref n_cur - 1) / (6 N)``.
    """
    big_n = midranks.size
    n_reference = big_n - n_current
    reference = 1.0 - membership
    cur_sq = (((midranks - np.cumsum(membership, axis=1)) ** 2) * membership).sum(axis=1)
    ref_sq = (((midranks - np.cumsum(reference, axis=1)) ** 2) * reference).sum(axis=1)
    u = n_reference * ref_sq + n_current * cur_sq
    k = float(n_reference * n_current)
    result: NDArray[np.float64] = u / (k * big_n) - (4.0 * k - 1.0) / (6.0 * big_n)
    return result


class CramerVonMisesDetector(Detector):
    """Cramér-von Mises two-sample test: the whole gap between the two distribution functions.

    Where KS looks at the single largest gap between the empirical distribution functions, the
    Cramér-von Mises statistic integrates the squared gap over all values, so it sees shifts
    spread over the whole range (and more of the tails than KS). The statistic is Anderson's T,
    equal to :func:`scipy.stats.cramervonmises_2samp` (midranks with ties).

    p-value (``method="auto"``):

    - exact (scipy's enumeration) when there are no ties and both samples have at most
      ``exact_max_size`` values;
    - otherwise a permutation p-value when the pooled sample has at most
      ``permutation_max_size`` values: the only valid choice with ties, where the exact and
      asymptotic null distributions (derived for continuous data) are wrong;
    - otherwise the asymptotic distribution (accurate at these sizes; conservative with ties).

    The effect size is the Wasserstein-1 distance over the reference standard deviation
    ("standardised shift"), as for :class:`~visiondrift.detectors.AndersonDarlingDetector`.

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    method
        ``"auto"``, or force ``"exact"``, ``"permutation"`` or ``"asymptotic"``.
    n_permutations
        Number of permutations B; the smallest attainable p-value is 1 / (B + 1).
    exact_max_size
        Largest size of each sample for which ``"auto"`` uses the exact distribution.
    permutation_max_size
        Largest pooled sample size for which ``"auto"`` runs the permutation test.
    batch_size
        Permutations computed together in one array operation.
    seed
        Seed of the permutations; ``None`` draws fresh entropy on every call.

    References
    ----------
    Anderson, T. W. (1962). On the distribution of the two-sample Cramér-von Mises criterion.
    The Annals of Mathematical Statistics 33(3), 1148-1159.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> det = CramerVonMisesDetector(seed=0).fit(np.round(rng.normal(size=200), 1))
    >>> result = det.test(np.round(rng.normal(loc=0.5, size=150), 1))
    >>> result.p_value < 0.01, result.method
    (True, 'permutation')
    """

    _param_names: ClassVar[tuple[str, ...]] = (
        "alpha",
        "method",
        "n_permutations",
        "exact_max_size",
        "permutation_max_size",
        "batch_size",
        "seed",
    )

    def __init__(
        self,
        alpha: float = 0.05,
        method: CVMMethod = "auto",
        n_permutations: int = 999,
        exact_max_size: int = 20,
        permutation_max_size: int = 2000,
        batch_size: int = 256,
        seed: int | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha, _OWNER)
        check_choice(method, "method", _OWNER, _CVM_METHODS)
        self.method: CVMMethod = method
        self.n_permutations = check_int(n_permutations, "n_permutations", _OWNER, minimum=1)
        self.exact_max_size = check_int(exact_max_size, "exact_max_size", _OWNER, minimum=1)
        self.permutation_max_size = check_int(
            permutation_max_size, "permutation_max_size", _OWNER, minimum=2
        )
        self.batch_size = check_int(batch_size, "batch_size", _OWNER, minimum=1)
        self.seed = check_seed(seed, _OWNER)

    def fit(self, reference: ArrayLike) -> Self:
        """Store the reference: a 1-D array of at least 2 per-image values."""
        self.reference_ = np.sort(check_sample(reference, self.name, "reference", min_size=2))
        return self

    def test(self, current: ArrayLike) -> TestResult:
        """Test a 1-D array of at least 2 per-image values against the reference."""
        self._check_fitted()
        ref = self.reference_
        cur = np.sort(check_sample(current, self.name, "current", min_size=2))
        pooled = np.concatenate([ref, cur])
        order = np.argsort(pooled, kind="stable")
        midranks = stats.rankdata(pooled[order])
        membership = np.zeros(pooled.size, dtype=np.float64)
        membership[ref.size :] = 1.0
        membership = membership[order]
        observed = float(_cvm_statistic(membership[None, :], midranks, cur.size)[0])
        method = self._resolve(ref, cur, pooled)
        if method == "permutation":
            null = self._permutation_null(membership, midranks, cur.size)
            p_value = permutation_pvalue(observed, null)
        else:
            res = stats.cramervonmises_2samp(ref, cur, method=method)
            p_value = float(min(1.0, max(0.0, res.pvalue)))
        return TestResult(
            detector=self.name,
            statistic=observed,
            p_value=p_value,
            effect_size=standardised_shift(ref, cur),
            effect_unit="standardised shift (Wasserstein-1 / reference std)",
            n_reference=int(ref.size),
            n_current=int(cur.size),
            method=method,
            details={"mean_shift": float(cur.mean() - ref.mean())},
        )

    def _resolve(
        self, ref: NDArray[np.float64], cur: NDArray[np.float64], pooled: NDArray[np.float64]
    ) -> PValueMethod:
        if self.method != "auto":
            return self.method
        has_ties = np.unique(pooled).size < pooled.size
        if not has_ties and max(ref.size, cur.size) <= self.exact_max_size:
            return "exact"
        if pooled.size <= self.permutation_max_size:
            return "permutation"
        return "asymptotic"

    def _permutation_null(
        self, membership: NDArray[np.float64], midranks: NDArray[np.float64], n_current: int
    ) -> NDArray[np.float64]:
        rng = np.random.default_rng(self.seed)
        null = np.empty(self.n_permutations, dtype=np.float64)
        for start in range(0, self.n_permutations, self.batch_size):
            size = min(self.batch_size, self.n_permutations - start)
            shuffled = rng.permuted(np.tile(membership, (size, 1)), axis=1)
            null[start : start + size] = _cvm_statistic(shuffled, midranks, n_current)
        return null
