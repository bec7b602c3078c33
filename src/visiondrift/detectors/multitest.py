"""Family-wise and false-discovery corrections for the tests of one comparison.

A comparison runs many tests (one per metric). Reporting each raw p-value against ``alpha`` would
raise an alarm on data with no drift far more often than ``alpha``; these procedures adjust the
p-values so that the whole comparison keeps its error rate.

References
----------
Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian Journal of
Statistics 6(2), 65-70.
Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57(1), 289-300.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift.detectors._base import TestResult, check_alpha
from visiondrift.errors import ConfigError

__all__ = [
    "CorrectedTests",
    "Correction",
    "adjust_pvalues",
    "benjamini_hochberg",
    "bonferroni",
    "correct_results",
    "holm",
    "reject",
]

Correction = Literal["holm", "bh", "bonferroni", "none"]


def _as_pvalues(p_values: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ConfigError(f"p-values must be a one-dimensional sequence. Got shape {p.shape}.")
    if p.size and (np.isnan(p).any() or (p < 0).any() or (p > 1).any()):
        raise ConfigError(f"p-values must lie in [0, 1]. Got {p.tolist()}.")
    return p


def bonferroni(p_values: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    """Bonferroni-adjusted p-values: ``min(1, m * p)``."""
    p = _as_pvalues(p_values)
    return np.minimum(1.0, p * p.size)


def holm(p_values: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    """Holm step-down adjusted p-values (controls the family-wise error rate).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.03, 0.06, 0.06, 0.02]
    """
    p = _as_pvalues(p_values)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted


def benjamini_hochberg(p_values: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    """Benjamini-Hochberg step-up adjusted p-values (controls the false discovery rate).

    Examples
    --------
    >>> benjamini_hochberg([0.01, 0.04, 0.03, 0.005]).round(3).tolist()
    [0.02, 0.04, 0.04, 0.02]
    """
    p = _as_pvalues(p_values)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    adjusted = np.empty_like(p)
    adjusted[order] = adjusted_sorted
    return adjusted


def adjust_pvalues(
    p_values: Sequence[float] | NDArray[np.float64], method: Correction = "holm"
) -> NDArray[np.float64]:
    """Adjust ``p_values`` with the named procedure (``holm``, ``bh``, ``bonferroni``, ``none``)."""
    if method == "holm":
        return holm(p_values)
    if method == "bh":
        return benjamini_hochberg(p_values)
    if method == "bonferroni":
        return bonferroni(p_values)
    if method == "none":
        return _as_pvalues(p_values).copy()
    raise ConfigError(
        f"The 'correction' parameter must be one of 'holm', 'bh', 'bonferroni', 'none'. "
        f"Got {method!r} instead."
    )


def reject(
    p_values: Sequence[float] | NDArray[np.float64],
    alpha: float = 0.05,
    method: Correction = "holm",
) -> NDArray[np.bool_]:
    """Which hypotheses the procedure rejects at level ``alpha`` (adjusted p-value <= alpha).

    Examples
    --------
    >>> reject([0.01, 0.04, 0.03, 0.005], alpha=0.05).tolist()
    [True, False, False, True]
    """
    level = check_alpha(alpha, "reject")
    result: NDArray[np.bool_] = adjust_pvalues(p_values, method) <= level
    return result


@dataclass(frozen=True)
class CorrectedTests:
    """The tests of one comparison after a multiplicity correction.

    ``adjusted[i]`` and ``rejected[i]`` belong to ``results[i]``. ``drift`` is the verdict of the
    whole comparison: with ``holm`` or ``bonferroni`` its false-alarm probability on data without
    drift is at most ``alpha`` however many tests there are; with ``bh`` the expected share of
    false discoveries among the rejected tests is at most ``alpha``.
    """

    __test__ = False  # not a pytest test class

    results: tuple[TestResult, ...]
    adjusted: tuple[float, ...]
    rejected: tuple[bool, ...]
    alpha: float
    method: Correction

    @property
    def drift(self) -> bool:
        """Whether at least one test is rejected after correction."""
        return any(self.rejected)

    @property
    def drifted(self) -> tuple[TestResult, ...]:
        """The rejected tests, smallest adjusted p-value first."""
        order = sorted(
            (i for i, hit in enumerate(self.rejected) if hit), key=lambda i: self.adjusted[i]
        )
        return tuple(self.results[i] for i in order)


def correct_results(
    results: Sequence[TestResult], alpha: float = 0.05, method: Correction = "holm"
) -> CorrectedTests:
    """Adjust the p-values of a comparison's tests together and decide which ones reject.

    Examples
    --------
    >>> from visiondrift.detectors import TestResult
    >>> def result(p):
    ...     return TestResult("KSDetector", 0.1, p, 0.1, "share of images", 100, 100, "exact")
    >>> corrected = correct_results([result(p) for p in (0.01, 0.04, 0.03, 0.005)])
    >>> corrected.drift, corrected.rejected
    (True, (True, False, False, True))
    """
    level = check_alpha(alpha, "correct_results")
    adjusted = adjust_pvalues([r.p_value for r in results], method)
    return CorrectedTests(
        results=tuple(results),
        adjusted=tuple(float(p) for p in adjusted),
        rejected=tuple(bool(p <= level) for p in adjusted),
        alpha=level,
        method=method,
    )
