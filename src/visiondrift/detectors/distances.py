"""Distances between two category distributions (predicted classes, image formats, ...).

Each function takes two vectors of non-negative counts or proportions over the same categories
(in the same order) and normalises them to proportions first.

References
----------
Lin, J. (1991). Divergence measures based on the Shannon entropy. IEEE Transactions on
Information Theory 37(1), 145-151.
Yurdakul, B. (2018). Statistical properties of population stability index. Dissertation, Western
Michigan University.
Villani, C. (2009). Optimal Transport: Old and New. Springer. (Chapter 6, Wasserstein distances.)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, stats
from scipy.spatial import distance

from visiondrift.errors import ConfigError

__all__ = [
    "check_cost_matrix",
    "class_wasserstein",
    "jensen_shannon",
    "population_stability_index",
    "total_variation",
]


def _proportions(counts: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(counts, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ConfigError(
            f"The {name} counts must be a non-empty 1-D array. Got shape {arr.shape}."
        )
    if not np.isfinite(arr).all() or (arr < 0).any() or arr.sum() <= 0:
        raise ConfigError(
            f"The {name} counts must be finite, non-negative and not all zero. Got {arr.tolist()}."
        )
    result: NDArray[np.float64] = arr / arr.sum()
    return result


def _pair(reference: ArrayLike, current: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    p = _proportions(reference, "reference")
    q = _proportions(current, "current")
    if p.shape != q.shape:
        raise ConfigError(
            f"Both count vectors must cover the same categories. Got {p.size} and {q.size}."
        )
    return p, q


def total_variation(reference: ArrayLike, current: ArrayLike) -> float:
    """Total variation distance: the share of images whose category would have to change.

    Examples
    --------
    >>> round(total_variation([50, 50], [80, 20]), 6)
    0.3
    """
    p, q = _pair(reference, current)
    return float(0.5 * np.abs(p - q).sum())


def jensen_shannon(reference: ArrayLike, current: ArrayLike) -> float:
    """Jensen-Shannon distance, base-2 logarithms (square root of the divergence), in [0, 1].

    Examples
    --------
    >>> jensen_shannon([1, 0], [0, 1])
    1.0
    """
    p, q = _pair(reference, current)
    return float(distance.jensenshannon(p, q, base=2.0))


def population_stability_index(
    reference: ArrayLike, current: ArrayLike, epsilon: float = 1e-4
) -> float:
    """Population stability index ``sum((q - p) * ln(q / p))``.

    An empty category would make the index infinite, so proportions below ``epsilon`` are raised
    to ``epsilon`` and both vectors renormalised before the sum. Common reading: below 0.1 stable,
    0.1 to 0.25 moderate shift, above 0.25 large shift.

    Examples
    --------
    >>> round(population_stability_index([50, 50], [60, 40]), 4)
    0.0405
    """
    if not 0.0 < epsilon < 1.0:
        raise ConfigError(f"The 'epsilon' of the PSI must be in (0, 1). Got {epsilon!r} instead.")
    p, q = _pair(reference, current)
    p = np.maximum(p, epsilon)
    q = np.maximum(q, epsilon)
    p /= p.sum()
    q /= q.sum()
    return float(np.sum((q - p) * np.log(q / p)))


def class_wasserstein(
    reference: ArrayLike,
    current: ArrayLike,
    cost: ArrayLike | None = None,
    *,
    ordered: bool = False,
) -> float:
    """Wasserstein-1 (earth mover's) distance between two category distributions.

    The ground distance says what moving one image from category i to category j costs:

    - default: 0/1 for unordered classes, which makes the distance the total variation;
    - ``ordered=True``: the categories lie at positions 0, 1, 2, ... in the given order and moving
      costs the number of steps (computed by :func:`scipy.stats.wasserstein_distance`);
    - ``cost``: a square matrix of non-negative costs with a zero diagonal, solved as a transport
      problem with :func:`scipy.optimize.linprog` (fine up to a few hundred categories).

    Examples
    --------
    >>> class_wasserstein([50, 50, 0], [0, 50, 50])
    0.5
    >>> class_wasserstein([50, 50, 0], [0, 50, 50], ordered=True)
    1.0
    """
    p, q = _pair(reference, current)
    if cost is not None and ordered:
        raise ConfigError("Give either a 'cost' matrix or 'ordered=True', not both.")
    if cost is None and not ordered:
        return float(0.5 * np.abs(p - q).sum())
    if ordered:
        positions = np.arange(p.size, dtype=np.float64)
        return float(stats.wasserstein_distance(positions, positions, p, q))
    matrix = check_cost_matrix(cost, p.size)
    k = p.size
    # Variables: the k x k transport plan, row-major. Row sums = p, column sums = q.
    a_rows = np.kron(np.eye(k), np.ones((1, k)))
    a_cols = np.kron(np.ones((1, k)), np.eye(k))
    res = optimize.linprog(
        matrix.ravel(),
        A_eq=np.vstack([a_rows, a_cols]),
        b_eq=np.concatenate([p, q]),
        bounds=(0.0, None),
        method="highs",
    )
    if not res.success:  # pragma: no cover - the transport problem is always feasible
        raise ConfigError(f"The transport problem could not be solved: {res.message}")
    return max(0.0, float(res.fun))


def check_cost_matrix(cost: ArrayLike | None, size: int) -> NDArray[np.float64]:
    """Validate a class-cost matrix: square ``size`` x ``size``, finite, >= 0, zero diagonal."""
    matrix = np.asarray(cost, dtype=np.float64)
    if matrix.shape != (size, size):
        raise ConfigError(
            f"The 'cost' matrix must be {size} x {size} (one row and column per category). "
            f"Got shape {matrix.shape}."
        )
    if not np.isfinite(matrix).all() or (matrix < 0).any() or np.any(np.diag(matrix) != 0):
        raise ConfigError("The 'cost' matrix must be finite and non-negative with a zero diagonal.")
    return matrix
