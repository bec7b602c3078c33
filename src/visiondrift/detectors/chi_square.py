"""Chi-square / G-test for category counts, with a Monte-Carlo p-value valid for small counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from visiondrift.detectors._base import (
    Detector,
    PValueMethod,
    TestResult,
    check_alpha,
    check_choice,
    check_int,
    check_seed,
    permutation_pvalue,
)
from visiondrift.detectors.distances import (
    check_cost_matrix,
    class_wasserstein,
    jensen_shannon,
    population_stability_index,
    total_variation,
)
from visiondrift.errors import ConfigError

__all__ = ["CategoricalSample", "ChiSquareDetector", "ChiSquareMethod", "ChiSquareStatistic"]

ChiSquareStatistic = Literal["pearson", "g"]
ChiSquareMethod = Literal["monte-carlo", "asymptotic"]
#: What fit and test accept: a 1-D array of labels, or a mapping from category to count.
CategoricalSample = ArrayLike | Mapping[Hashable, int]

_OWNER = "ChiSquareDetector"


def _plain(value: Any) -> Hashable:
    """A numpy scalar label as the matching Python scalar (so it serialises to JSON)."""
    plain: Hashable = value.item() if isinstance(value, np.generic) else value
    return plain


def _ordered(categories: Sequence[Hashable]) -> list[Hashable]:
    try:
        return sorted(categories)  # type: ignore[type-var]
    except TypeError:
        return list(categories)


def count_categories(sample: CategoricalSample, name: str) -> dict[Hashable, int]:
    """Count a sample given as labels (1-D array-like) or as a ``{category: count}`` mapping."""
    if isinstance(sample, Mapping):
        counts: dict[Hashable, int] = {}
        for key, value in sample.items():
            number = float(value)
            if not np.isfinite(number) or number < 0 or number != int(number):
                raise ConfigError(
                    f"The {name} counts given to {_OWNER} must be non-negative integers. "
                    f"Got {value!r} for category {key!r}."
                )
            counts[_plain(key)] = counts.get(_plain(key), 0) + int(number)
    else:
        labels = np.asarray(sample)
        if labels.ndim != 1:
            raise ConfigError(
                f"The {name} labels given to {_OWNER} must be a 1-D array. "
                f"Got shape {labels.shape}."
            )
        if labels.dtype.kind in "fc" and not np.isfinite(labels).all():
            raise ConfigError(f"The {name} labels given to {_OWNER} contain NaN or infinity.")
        if labels.dtype.kind in "biuUS":
            keys, numbers = np.unique(labels, return_counts=True)
            counts = {_plain(k): int(n) for k, n in zip(keys, numbers, strict=True)}
        else:
            counts = dict(Counter(_plain(v) for v in labels.tolist()))
    if sum(counts.values()) == 0:
        raise ConfigError(f"The {name} sample given to {_OWNER} is empty.")
    return counts


def _statistic(
    current: NDArray[np.float64], pooled: NDArray[np.float64], n_current: int, kind: str
) -> NDArray[np.float64]:
    """Pearson X^2 or G for rows of current counts in the 2 x K table with fixed margins."""
    total = pooled.sum()
    expected_cur = pooled * (n_current / total)
    expected_ref = pooled - expected_cur
    reference = pooled - current
    if kind == "pearson":
        value = ((current - expected_cur) ** 2 / expected_cur).sum(axis=-1)
        value += ((reference - expected_ref) ** 2 / expected_ref).sum(axis=-1)
    else:
        value = special.xlogy(current, current / expected_cur).sum(axis=-1)
        value += special.xlogy(reference, reference / expected_ref).sum(axis=-1)
        value *= 2.0
    result: NDArray[np.float64] = np.maximum(value, 0.0)
    return result


class ChiSquareDetector(Detector):
    """Chi-square (or G) test of homogeneity for category counts, plus class-mix distances.

    Use it on predicted classes, image formats, colour modes: anything with a finite set of
    values. ``fit`` and ``test`` take either a 1-D array of labels (ints or strings), or a mapping
    ``{category: count}`` (for instance the predicted-class counts a profile keeps).

    The p-value is Monte-Carlo by default: holding both margins of the 2 x K table fixed (the
    permutation null), ``n_permutations`` current samples are drawn at once with
    :meth:`numpy.random.Generator.multivariate_hypergeometric`, and
    ``p = (1 + #{T* >= T}) / (B + 1)``. Unlike the chi-square approximation it stays valid with
    rare classes and tiny batches. ``method="asymptotic"`` uses the chi-square distribution with
    K - 1 degrees of freedom instead (fine when every expected count is at least about 5).

    The effect size is the Wasserstein distance between the two class distributions. With the
    default 0/1 ground distance it equals the total variation: the share of images whose class
    would have to change (unit "share of images"). A ``cost`` matrix between classes (for example
    0.2 between two benign skin lesions, 1 between benign and malignant) or ``ordered=True``
    (severity grades) give a distance in cost units or category steps. The details also report
    the Jensen-Shannon distance, the PSI and the total variation, and each category's shares.

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    statistic
        ``"pearson"`` (X^2) or ``"g"`` (likelihood-ratio G-test).
    method
        ``"monte-carlo"`` (permutation null, valid for small counts) or ``"asymptotic"``.
    n_permutations
        Number of Monte-Carlo draws B; the smallest attainable p-value is 1 / (B + 1).
    categories
        The categories, in order. ``None`` learns them from the data (sorted when they can be
        sorted); categories seen only in the current sample are added. Required with ``cost``;
        then any label outside the list raises :class:`~visiondrift.errors.ConfigError`.
    cost
        Square matrix of costs of moving one image between categories (zero diagonal), in the
        order of ``categories``.
    ordered
        Treat the categories as ordinal, one step apart, in the order of ``categories``.
    psi_epsilon
        Floor applied to empty proportions before the PSI is computed (see
        :func:`~visiondrift.detectors.distances.population_stability_index`).
    seed
        Seed of the Monte-Carlo draws; ``None`` draws fresh entropy on every call.

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd edition, Wiley. Sections 3.5 (exact and
    Monte-Carlo tests with fixed margins).
    Phipson, B. and Smyth, G. K. (2010). Permutation p-values should never be zero. Statistical
    Applications in Genetics and Molecular Biology 9(1), article 39.

    Examples
    --------
    >>> det = ChiSquareDetector(seed=0).fit({"cat": 50, "dog": 50})
    >>> result = det.test({"cat": 80, "dog": 20})
    >>> result.p_value <= 0.001, round(result.effect_size, 2), result.effect_unit
    (True, 0.3, 'share of images (total variation)')
    """

    _param_names: ClassVar[tuple[str, ...]] = (
        "alpha",
        "statistic",
        "method",
        "n_permutations",
        "categories",
        "cost",
        "ordered",
        "psi_epsilon",
        "seed",
    )

    def __init__(
        self,
        alpha: float = 0.05,
        statistic: ChiSquareStatistic = "pearson",
        method: ChiSquareMethod = "monte-carlo",
        n_permutations: int = 999,
        categories: Sequence[Hashable] | None = None,
        cost: ArrayLike | None = None,
        ordered: bool = False,
        psi_epsilon: float = 1e-4,
        seed: int | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha, _OWNER)
        check_choice(statistic, "statistic", _OWNER, ("pearson", "g"))
        self.statistic: ChiSquareStatistic = statistic
        check_choice(method, "method", _OWNER, ("monte-carlo", "asymptotic"))
        self.method: ChiSquareMethod = method
        self.n_permutations = check_int(n_permutations, "n_permutations", _OWNER, minimum=1)
        self.categories: list[Hashable] | None = None
        if categories is not None:
            self.categories = [_plain(c) for c in categories]
            if len(set(self.categories)) != len(self.categories) or not self.categories:
                raise ConfigError(
                    f"The 'categories' parameter of {_OWNER} must be a non-empty list without "
                    f"repeats. Got {self.categories!r} instead."
                )
        self.cost: list[list[float]] | None = None
        if cost is not None:
            if self.categories is None:
                raise ConfigError(
                    f"The 'cost' parameter of {_OWNER} needs 'categories' to say which row and "
                    "column is which category."
                )
            if ordered:
                raise ConfigError(f"Give {_OWNER} either 'cost' or 'ordered=True', not both.")
            self.cost = check_cost_matrix(cost, len(self.categories)).tolist()
        if not isinstance(ordered, bool):
            raise ConfigError(
                f"The 'ordered' parameter of {_OWNER} must be True or False. "
                f"Got {ordered!r} instead."
            )
        self.ordered = ordered
        if not isinstance(psi_epsilon, int | float) or not 0.0 < psi_epsilon < 1.0:
            raise ConfigError(
                f"The 'psi_epsilon' parameter of {_OWNER} must be in (0, 1). "
                f"Got {psi_epsilon!r} instead."
            )
        self.psi_epsilon = float(psi_epsilon)
        self.seed = check_seed(seed, _OWNER)

    def fit(self, reference: CategoricalSample) -> Self:
        """Count the reference categories (labels or a ``{category: count}`` mapping)."""
        counts = self._checked_counts(reference, "reference")
        if self.categories is not None:
            self.categories_ = list(self.categories)
        else:
            self.categories_ = _ordered(list(counts))
        self.reference_ = np.array([counts.get(c, 0) for c in self.categories_], dtype=np.float64)
        return self

    def test(self, current: CategoricalSample) -> TestResult:
        """Test the current categories (labels or a ``{category: count}`` mapping)."""
        self._check_fitted()
        counts = self._checked_counts(current, "current")
        categories = list(self.categories_)
        new = [c for c in counts if c not in set(categories)]
        categories += _ordered(new)
        if self.ordered and self.categories is None:
            categories = _ordered(categories)
        ref = np.zeros(len(categories), dtype=np.float64)
        ref[[categories.index(c) for c in self.categories_]] = self.reference_
        cur = np.array([counts.get(c, 0) for c in categories], dtype=np.float64)
        statistic, p_value, method = self._homogeneity(ref, cur)
        cost = None if self.cost is None else np.asarray(self.cost, dtype=np.float64)
        wasserstein = class_wasserstein(ref, cur, cost, ordered=self.ordered)
        ref_share, cur_share = ref / ref.sum(), cur / cur.sum()
        change = cur_share - ref_share
        largest = int(np.argmax(np.abs(change)))
        if self.cost is not None:
            unit = "class-cost units (Wasserstein distance)"
        elif self.ordered:
            unit = "category steps (Wasserstein distance)"
        else:
            unit = "share of images (total variation)"
        return TestResult(
            detector=self.name,
            statistic=statistic,
            p_value=p_value,
            effect_size=wasserstein,
            effect_unit=unit,
            n_reference=int(ref.sum()),
            n_current=int(cur.sum()),
            method=method,
            details={
                "statistic_kind": self.statistic,
                "categories": categories,
                "reference_share": ref_share.tolist(),
                "current_share": cur_share.tolist(),
                "largest_change": {
                    "category": categories[largest],
                    "change": float(change[largest]),
                },
                "new_categories": new,
                "total_variation": total_variation(ref, cur),
                "jensen_shannon": jensen_shannon(ref, cur),
                "psi": population_stability_index(ref, cur, self.psi_epsilon),
                "wasserstein": wasserstein,
            },
        )

    def _checked_counts(self, sample: CategoricalSample, name: str) -> dict[Hashable, int]:
        counts = count_categories(sample, name)
        if self.categories is not None:
            unknown = [c for c in counts if c not in set(self.categories)]
            if unknown:
                raise ConfigError(
                    f"The {name} sample given to {_OWNER} has categories {unknown!r} that are "
                    f"not in its 'categories' parameter {self.categories!r}."
                )
        return counts

    def _homogeneity(
        self, ref: NDArray[np.float64], cur: NDArray[np.float64]
    ) -> tuple[float, float, PValueMethod]:
        pooled = ref + cur
        present = pooled > 0
        pooled, cur = pooled[present], cur[present]
        n_current = int(cur.sum())
        observed = float(_statistic(cur, pooled, n_current, self.statistic))
        if pooled.size < 2:  # a single category: both samples are identical in mix
            return 0.0, 1.0, "monte-carlo" if self.method == "monte-carlo" else "asymptotic"
        if self.method == "asymptotic":
            return observed, float(stats.chi2.sf(observed, pooled.size - 1)), "asymptotic"
        rng = np.random.default_rng(self.seed)
        draws = rng.multivariate_hypergeometric(
            pooled.astype(np.int64), n_current, size=self.n_permutations
        ).astype(np.float64)
        null = _statistic(draws, pooled, n_current, self.statistic)
        return observed, permutation_pvalue(observed, null), "monte-carlo"

    def to_dict(self) -> dict[str, Any]:
        """Parameters and the reference counts, JSON-serialisable for int or str categories."""
        state: dict[str, Any] = {"detector": self.name, "params": self.get_params()}
        if self.is_fitted:
            state["reference"] = {
                "categories": list(self.categories_),
                "counts": [int(c) for c in self.reference_],
            }
        return state

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a detector saved with :meth:`to_dict`."""
        if state.get("detector") != cls.__name__:
            raise ConfigError(f"Cannot load a {state.get('detector')!r} state into {cls.__name__}.")
        detector = cls(**dict(state.get("params", {})))
        if "reference" in state:
            saved = state["reference"]
            detector.fit(dict(zip(saved["categories"], saved["counts"], strict=True)))
        return detector

    categories_: list[Hashable]
