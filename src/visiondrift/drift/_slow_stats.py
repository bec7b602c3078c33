"""The two-sample tests and the correction of the slow-drift checks (:mod:`visiondrift.drift.slow`).

Welch's t-test on moments, two-sample Kolmogorov-Smirnov on per-image values (p-values from
Kolmogorov's limiting distribution), and Holm's step-down procedure with its per-check
thresholds. Plain numpy and scipy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import special, stats

from visiondrift.profiles.sketches import Moments

__all__ = ["holm", "ks_tests", "welch_tests"]


def welch_tests(
    pairs: Sequence[tuple[Moments, Moments]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Welch's two-sided test of each ``(baseline, sample)`` pair: (t, p-value)."""
    n_b = np.array([b.count for b, _ in pairs], dtype=np.float64)
    var_b = np.array([b.std**2 for b, _ in pairs], dtype=np.float64)
    n = np.array([m.count for _, m in pairs], dtype=np.float64)
    var = np.array([m.std**2 for _, m in pairs], dtype=np.float64)
    change = np.array([m.mean - b.mean for b, m in pairs], dtype=np.float64)
    a, b = var / n, var_b / n_b
    se = np.sqrt(a + b)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = a**2 / np.maximum(n - 1.0, 1.0) + b**2 / np.maximum(n_b - 1.0, 1.0)
        df = np.where(denom > 0, (a + b) ** 2 / denom, np.inf)
        t = np.where(se > 0, change / se, np.where(change == 0, 0.0, np.copysign(np.inf, change)))
    p = np.minimum(1.0, 2.0 * stats.t.sf(np.abs(t), df))
    # No variation on either side: the means are exact, any shift is certain.
    p = np.where(se > 0, p, np.where(change != 0, 0.0, 1.0))
    return t, p


def ks_tests(
    pairs: Sequence[tuple[NDArray[np.float64], NDArray[np.float64]]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-sample Kolmogorov-Smirnov of each ``(sorted baseline, sample)`` pair: (D, p).

    The p-value is Kolmogorov's limiting distribution at the effective size ``n m / (n + m)``:
    fast, and never below scipy's finite-size one (``ks_2samp(method="asymp")``), so never more
    liberal than it; ties make it more conservative still.
    """
    d = np.empty(len(pairs))
    en = np.empty(len(pairs))
    for i, (base, values) in enumerate(pairs):
        y = np.sort(values)
        both = np.concatenate([base, y])
        gap = (
            np.searchsorted(base, both, side="right") / base.size
            - np.searchsorted(y, both, side="right") / y.size
        )
        d[i] = float(np.abs(gap).max())
        en[i] = base.size * y.size / (base.size + y.size)
    p = np.clip(special.kolmogorov(np.sqrt(en) * d), 0.0, 1.0)
    return d, p


def holm(p: NDArray[np.float64], level: float) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Holm's per-check thresholds and rejections at family-wise ``level``."""
    m = p.size
    order = np.argsort(p, kind="stable")
    thresholds = np.empty(m)
    thresholds[order] = level / (m - np.arange(m))
    passed = p[order] <= thresholds[order]
    # Holm stops at the first check that does not pass.
    stop = int(np.argmin(passed)) if not passed.all() else m
    rejected = np.zeros(m, dtype=bool)
    rejected[order[:stop]] = True
    return thresholds, rejected
