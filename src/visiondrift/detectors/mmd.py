"""Kernel two-sample test: maximum mean discrepancy with a Gaussian kernel and permutation null."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visiondrift.detectors._base import (
    Detector,
    TestResult,
    check_alpha,
    check_int,
    check_sample,
    check_seed,
    permutation_pvalue,
    subsample,
)
from visiondrift.errors import ConfigError

__all__ = ["MMDDetector", "gaussian_kernel", "median_bandwidth", "mmd2_unbiased"]

_OWNER = "MMDDetector"


def _as_matrix(values: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return check_sample(arr, _OWNER, name, ndim=2, min_size=2)


def _squared_distances(pooled: NDArray[np.float64]) -> NDArray[np.float64]:
    norms = np.einsum("ij,ij->i", pooled, pooled)
    d2: NDArray[np.float64] = norms[:, None] + norms[None, :] - 2.0 * (pooled @ pooled.T)
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def median_bandwidth(squared_distances: NDArray[np.float64]) -> float:
    """Median heuristic: the median distance between distinct pairs of pooled points.

    Pairs at distance zero (duplicated points) are left out so that many repeated values cannot
    collapse the bandwidth to zero; when every distance is zero the bandwidth is 1 (any value
    gives the same, null, result).
    """
    upper = squared_distances[np.triu_indices_from(squared_distances, k=1)]
    positive = upper[upper > 0.0]
    if positive.size == 0:
        return 1.0
    return float(np.median(np.sqrt(positive)))


def gaussian_kernel(
    squared_distances: NDArray[np.float64], bandwidth: float
) -> NDArray[np.float64]:
    """``exp(-d^2 / (2 bandwidth^2))`` applied to a matrix of squared distances."""
    result: NDArray[np.float64] = np.exp(squared_distances / (-2.0 * bandwidth**2))
    return result


def mmd2_unbiased(
    kernel: NDArray[np.float64], membership: NDArray[np.float64], n_reference: int
) -> NDArray[np.float64]:
    """Unbiased MMD^2 for each row of ``membership`` (1 = reference, 0 = current).

    ``kernel`` is the pooled kernel matrix with a zero diagonal. One matrix product covers every
    row: with ``a`` the membership and ``b = 1 - a``, the three kernel sums are ``a K a``,
    ``a K b = a K 1 - a K a`` and ``b K b = 1 K 1 - 2 a K 1 + a K a``.
    """
    n = float(n_reference)
    m = float(kernel.shape[0] - n_reference)
    ka = membership @ kernel
    a_k_a = np.einsum("ij,ij->i", ka, membership)
    row_sums = kernel.sum(axis=1)
    a_k_1 = membership @ row_sums
    total = float(row_sums.sum())
    b_k_b = total - 2.0 * a_k_1 + a_k_a
    a_k_b = a_k_1 - a_k_a
    result: NDArray[np.float64] = (
        a_k_a / (n * (n - 1.0)) + b_k_b / (m * (m - 1.0)) - 2.0 * a_k_b / (n * m)
    )
    return result


class MMDDetector(Detector):
    """Maximum mean discrepancy test with a Gaussian kernel and a permutation null.

    MMD compares two samples of vectors (probability vectors, embeddings, several image properties
    at once) through all their moments at once: it is zero only when the distributions are equal.
    The kernel is ``exp(-|x - y|^2 / (2 s^2))`` with the bandwidth ``s`` set by the median
    heuristic on the pooled sample (a function of the pooled sample only, so the permutation test
    stays exact) or fixed by ``bandwidth``.

    Speed: the pooled kernel matrix is computed once; the ``n_permutations`` reshuffles are rows of
    a 0/1 membership matrix, and all statistics of a batch of rows come from one matrix product.
    Samples larger than ``max_reference`` / ``max_current`` rows are subsampled without
    replacement (seeded): the reference once in :meth:`fit`, the current sample in :meth:`test`.
    With the defaults, 1,000 current rows against a 10,000-row reference in 64 dimensions take
    about 0.2 s on two cores; the cost grows with the square of the pooled size kept.

    The statistic is the unbiased estimate of MMD^2; the effect size is its square root (0 when the
    estimate is negative), in kernel units: 0 means the same distribution, sqrt(2) is the maximum.

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    n_permutations
        Number of permutations B; the smallest attainable p-value is 1 / (B + 1).
    bandwidth
        ``"median"`` (median heuristic on the pooled sample) or a fixed positive kernel width, for
        effect sizes comparable from one batch to the next.
    max_reference
        Rows of the reference kept (seeded subsample) above this size.
    max_current
        Rows of the current sample kept (seeded subsample) above this size.
    batch_size
        Permutations computed together in one matrix product.
    seed
        Seed of the subsampling and the permutations; ``None`` draws fresh entropy.

    References
    ----------
    Gretton, A., Borgwardt, K. M., Rasch, M. J., Schölkopf, B. and Smola, A. (2012). A kernel
    two-sample test. Journal of Machine Learning Research 13, 723-773.
    Rabanser, S., Günnemann, S. and Lipton, Z. C. (2019). Failing loudly: an empirical study of
    methods for detecting dataset shift. NeurIPS 32.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> det = MMDDetector(n_permutations=199, seed=0).fit(rng.normal(size=(200, 5)))
    >>> det.test(rng.normal(loc=0.5, size=(100, 5))).p_value
    0.005
    """

    _param_names: ClassVar[tuple[str, ...]] = (
        "alpha",
        "n_permutations",
        "bandwidth",
        "max_reference",
        "max_current",
        "batch_size",
        "seed",
    )
    _fitted_scalars: ClassVar[tuple[str, ...]] = ("n_reference_seen_",)

    def __init__(
        self,
        alpha: float = 0.05,
        n_permutations: int = 999,
        bandwidth: float | Literal["median"] = "median",
        max_reference: int = 1000,
        max_current: int = 1000,
        batch_size: int = 256,
        seed: int | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha, _OWNER)
        self.n_permutations = check_int(n_permutations, "n_permutations", _OWNER, minimum=1)
        if bandwidth != "median" and (
            isinstance(bandwidth, bool)
            or not isinstance(bandwidth, int | float)
            or not np.isfinite(bandwidth)
            or bandwidth <= 0
        ):
            raise ConfigError(
                f"The 'bandwidth' parameter of {_OWNER} must be 'median' or a positive number. "
                f"Got {bandwidth!r} instead."
            )
        self.bandwidth: float | Literal["median"] = (
            "median" if bandwidth == "median" else float(bandwidth)
        )
        self.max_reference = check_int(max_reference, "max_reference", _OWNER, minimum=2)
        self.max_current = check_int(max_current, "max_current", _OWNER, minimum=2)
        self.batch_size = check_int(batch_size, "batch_size", _OWNER, minimum=1)
        self.seed = check_seed(seed, _OWNER)

    def fit(self, reference: ArrayLike) -> Self:
        """Keep the reference: an (n, d) array (a 1-D array is one feature), subsampled if large."""
        ref = _as_matrix(reference, "reference")
        rng = np.random.default_rng(self.seed)
        self.n_reference_seen_ = int(ref.shape[0])
        self.reference_ = subsample(ref, self.max_reference, rng)
        return self

    def test(self, current: ArrayLike) -> TestResult:
        """Test an (m, d) array with the reference's number of columns."""
        self._check_fitted()
        cur = _as_matrix(current, "current")
        ref = self.reference_
        if cur.shape[1] != ref.shape[1]:
            raise ConfigError(
                f"The current sample given to {_OWNER} has {cur.shape[1]} columns; the reference "
                f"has {ref.shape[1]}."
            )
        # Two independent streams: subsampling and permutations.
        sub_rng, perm_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2)
        )
        n_current_seen = int(cur.shape[0])
        cur = subsample(cur, self.max_current, sub_rng)
        pooled = np.concatenate([ref, cur])
        d2 = _squared_distances(pooled)
        width = median_bandwidth(d2) if self.bandwidth == "median" else self.bandwidth
        kernel = gaussian_kernel(d2, width)
        np.fill_diagonal(kernel, 0.0)
        n_ref, n_pool = ref.shape[0], pooled.shape[0]
        base = np.zeros(n_pool, dtype=np.float64)
        base[:n_ref] = 1.0
        observed = float(mmd2_unbiased(kernel, base[None, :], n_ref)[0])
        null = np.empty(self.n_permutations, dtype=np.float64)
        for start in range(0, self.n_permutations, self.batch_size):
            size = min(self.batch_size, self.n_permutations - start)
            membership = perm_rng.permuted(np.tile(base, (size, 1)), axis=1)
            null[start : start + size] = mmd2_unbiased(kernel, membership, n_ref)
        return TestResult(
            detector=self.name,
            statistic=observed,
            p_value=permutation_pvalue(observed, null),
            effect_size=float(np.sqrt(max(observed, 0.0))),
            effect_unit="MMD (Gaussian kernel units; 0 = same distribution, max sqrt(2))",
            n_reference=self.n_reference_seen_,
            n_current=n_current_seen,
            method="permutation",
            details={
                "bandwidth": width,
                "n_reference_used": int(n_ref),
                "n_current_used": int(cur.shape[0]),
                "mmd2_unbiased": observed,
            },
        )
