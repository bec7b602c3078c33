"""Two-sample Kolmogorov-Smirnov test on per-image values."""

from __future__ import annotations

import warnings
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
)

__all__ = ["KSDetector", "KSMethod", "ks_pvalues"]

KSMethod = Literal["auto", "exact", "asymp"]
_KS_METHODS: tuple[str, ...] = ("auto", "exact", "asymp")


def ks_pvalues(
    reference: NDArray[np.float64],
    current: NDArray[np.float64],
    method: KSMethod,
    exact_max_size: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], PValueMethod]:
    """KS statistics, p-values and statistic signs along axis 0, plus the method really used.

    ``"auto"`` resolves to the exact distribution when the larger sample has at most
    ``exact_max_size`` values. When scipy cannot compute an exact p-value it falls back to the
    asymptotic one; the fallback is reported instead of raised as a warning.
    """
    resolved = method
    if method == "auto":
        larger = max(reference.shape[0], current.shape[0])
        resolved = "exact" if larger <= exact_max_size else "asymp"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        res = stats.ks_2samp(reference, current, method=resolved, axis=0)
    fell_back = any("Switching to method=asymp" in str(w.message) for w in caught)
    used: PValueMethod = "exact" if resolved == "exact" and not fell_back else "asymptotic"
    statistic = np.atleast_1d(np.asarray(res.statistic, dtype=np.float64))
    p_value = np.clip(np.atleast_1d(np.asarray(res.pvalue, dtype=np.float64)), 0.0, 1.0)
    sign = np.atleast_1d(np.asarray(res.statistic_sign, dtype=np.float64))
    return statistic, p_value, sign, used


def direction_word(sign: float) -> str:
    """Name the direction of a KS statistic sign (``+1``: the reference EDF lies above)."""
    if sign > 0:
        return "current larger"
    if sign < 0:
        return "current smaller"
    return "none"


class KSDetector(Detector):
    """Kolmogorov-Smirnov two-sample test.

    The statistic D is the largest gap between the two empirical distribution functions: the share
    of images that would have to move for the two samples to look alike. It is also the effect size
    (unit: share of images, from 0 to 1). With ties (integer widths, clipped values) the exact and
    asymptotic p-values are conservative, so the false-alarm rate stays at most ``alpha``. The test
    is most sensitive in the middle of the distribution; for shifts in the tails use
    :class:`~visiondrift.detectors.AndersonDarlingDetector`.

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    method
        ``"auto"`` uses the exact distribution when the larger sample has at most
        ``exact_max_size`` values and the asymptotic one otherwise; ``"exact"`` and ``"asymp"``
        force one. The method really used is reported in :attr:`TestResult.method`.
    exact_max_size
        Largest sample size for which ``"auto"`` computes the exact p-value. Above it the
        asymptotic p-value is accurate and much cheaper.

    References
    ----------
    Hodges, J. L. (1958). The significance probability of the Smirnov two-sample test. Arkiv för
    Matematik 3(5), 469-486.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> det = KSDetector().fit(rng.normal(size=200))
    >>> result = det.test(rng.normal(loc=1.0, size=200))
    >>> result.p_value < 1e-6, result.method
    (True, 'exact')
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "method", "exact_max_size")

    def __init__(
        self, alpha: float = 0.05, method: KSMethod = "auto", exact_max_size: int = 1000
    ) -> None:
        self.alpha = check_alpha(alpha, "KSDetector")
        self.method: KSMethod = method
        check_choice(method, "method", "KSDetector", _KS_METHODS)
        self.exact_max_size = check_int(exact_max_size, "exact_max_size", "KSDetector", minimum=1)

    def fit(self, reference: ArrayLike) -> Self:
        """Store the sorted reference values (a 1-D array of per-image values)."""
        self.reference_ = np.sort(check_sample(reference, self.name, "reference"))
        return self

    def test(self, current: ArrayLike) -> TestResult:
        """Test a 1-D array of per-image values against the reference."""
        self._check_fitted()
        cur = check_sample(current, self.name, "current")
        statistic, p_value, sign, used = ks_pvalues(
            self.reference_, cur, self.method, self.exact_max_size
        )
        d = float(statistic[0])
        return TestResult(
            detector=self.name,
            statistic=d,
            p_value=float(p_value[0]),
            effect_size=d,
            effect_unit="share of images (KS distance D)",
            n_reference=int(self.reference_.size),
            n_current=int(cur.size),
            method=used,
            details={
                "statistic_sign": int(sign[0]),
                "direction": direction_word(float(sign[0])),
                "median_shift": float(np.median(cur) - np.median(self.reference_)),
            },
        )
