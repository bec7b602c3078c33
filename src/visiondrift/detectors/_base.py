"""The contract every detector follows.

Detectors follow scikit-learn's estimator contract: parameters are stored and validated in
``__init__``; ``fit(reference)`` learns from the baseline sample and sets attributes ending in
``_``; ``test(current)`` returns a frozen :class:`TestResult`; calling ``test`` before ``fit``
raises :class:`~visiondrift.errors.NotFittedError`. ``to_dict`` / ``from_dict`` save and restore a
fitted detector so that the same current sample gives the same result after a round trip.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visiondrift.errors import ConfigError, NotFittedError

__all__ = [
    "Detector",
    "PValueMethod",
    "TestResult",
    "check_alpha",
    "check_choice",
    "check_int",
    "check_sample",
    "check_seed",
    "permutation_pvalue",
    "subsample",
]

PValueMethod = Literal["exact", "asymptotic", "permutation", "monte-carlo", "cross-validated"]


@dataclass(frozen=True)
class TestResult:
    """What one two-sample test found.

    ``p_value`` answers "is the evidence enough?"; ``effect_size`` (in ``effect_unit``) answers
    "how big is the change?". They are separate questions and are reported separately.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class

    detector: str
    statistic: float
    p_value: float
    effect_size: float
    effect_unit: str
    n_reference: int
    n_current: int
    method: PValueMethod
    details: Mapping[str, Any] = field(default_factory=dict)

    def drift(self, alpha: float) -> bool:
        """Whether this single test rejects at level ``alpha`` (no multiplicity correction)."""
        return self.p_value <= alpha


def check_alpha(alpha: float, owner: str) -> float:
    """Validate a significance level, naming the class that received it."""
    if not isinstance(alpha, int | float) or not 0.0 < float(alpha) < 1.0:
        raise ConfigError(
            f"The 'alpha' parameter of {owner} must be in (0, 1). Got {alpha!r} instead."
        )
    return float(alpha)


def check_int(value: int, name: str, owner: str, *, minimum: int) -> int:
    """Validate an integer parameter that must be at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be an integer >= {minimum}. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_seed(seed: int | None, owner: str) -> int | None:
    """Validate a ``seed`` parameter: ``None`` (fresh entropy) or a non-negative integer."""
    if seed is None:
        return None
    return check_int(seed, "seed", owner, minimum=0)


def check_choice(value: str, name: str, owner: str, choices: tuple[str, ...]) -> str:
    """Validate a string option against its allowed values."""
    if value not in choices:
        allowed = ", ".join(repr(choice) for choice in choices)
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be one of {allowed}. Got {value!r} instead."
        )
    return value


def permutation_pvalue(observed: float, null: NDArray[np.float64], *, rtol: float = 1e-9) -> float:
    """Monte-Carlo p-value ``(1 + #{T* >= T}) / (B + 1)``.

    Counting the observed statistic as one of the draws makes the p-value valid (never below its
    level under the null) for any number of draws ``B`` (Phipson and Smyth, 2010). Null statistics
    within a relative ``rtol`` of the observed one count as ties (floating-point sums of the same
    numbers in another order differ in the last bits).

    References
    ----------
    Phipson, B. and Smyth, G. K. (2010). Permutation p-values should never be zero. Statistical
    Applications in Genetics and Molecular Biology 9(1), article 39.
    """
    threshold = observed - rtol * max(abs(observed), 1.0)
    exceed = int(np.count_nonzero(null >= threshold))
    return (1.0 + exceed) / (1.0 + null.size)


def subsample(
    values: NDArray[np.float64], max_size: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """At most ``max_size`` rows of ``values``, drawn without replacement, kept in order."""
    if values.shape[0] <= max_size:
        return values
    keep = np.sort(rng.choice(values.shape[0], size=max_size, replace=False))
    return values[keep]


def check_sample(
    values: ArrayLike, owner: str, name: str, *, ndim: int = 1, min_size: int = 1
) -> NDArray[np.float64]:
    """Return ``values`` as a finite float array of the expected rank, or raise ConfigError."""
    arr = np.asarray(values, dtype=np.float64)
    if ndim == 1 and arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != ndim:
        raise ConfigError(
            f"The {name} sample given to {owner} must have {ndim} dimension(s). "
            f"Got shape {arr.shape}."
        )
    if arr.shape[0] < min_size:
        raise ConfigError(
            f"The {name} sample given to {owner} needs at least {min_size} value(s). "
            f"Got {arr.shape[0]}."
        )
    if not np.isfinite(arr).all():
        raise ConfigError(
            f"The {name} sample given to {owner} contains NaN or infinite values; "
            "drop or impute them first."
        )
    return arr


class Detector(ABC):
    """Base class: a two-sample test fitted on a reference sample."""

    #: Names of the constructor parameters, in order; used by get_params and to_dict.
    _param_names: ClassVar[tuple[str, ...]] = ()
    #: Fitted attributes (JSON scalars) saved by to_dict besides the reference, e.g. the size of
    #: a reference that fit subsampled.
    _fitted_scalars: ClassVar[tuple[str, ...]] = ()

    @property
    def name(self) -> str:
        return type(self).__name__

    def get_params(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self._param_names}

    @property
    def is_fitted(self) -> bool:
        return hasattr(self, "reference_")

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(
                f"This {self.name} instance is not fitted yet. Call 'fit' with the reference "
                "sample before 'test'."
            )

    @abstractmethod
    def fit(self, reference: ArrayLike) -> Self:
        """Learn the reference sample; returns ``self``."""

    @abstractmethod
    def test(self, current: ArrayLike) -> TestResult:
        """Test ``current`` against the fitted reference."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable description of the detector and its fitted state."""
        state: dict[str, Any] = {"detector": self.name, "params": self.get_params()}
        if self.is_fitted:
            state["reference"] = np.asarray(self.reference_).tolist()
            state["fitted"] = {key: getattr(self, key) for key in self._fitted_scalars}
        return state

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a detector saved with :meth:`to_dict`."""
        if state.get("detector") != cls.__name__:
            raise ConfigError(f"Cannot load a {state.get('detector')!r} state into {cls.__name__}.")
        detector = cls(**dict(state.get("params", {})))
        if "reference" in state:
            detector.fit(np.asarray(state["reference"], dtype=np.float64))
            for key, value in dict(state.get("fitted", {})).items():
                if key in cls._fitted_scalars:
                    setattr(detector, key, value)
        return detector

    reference_: NDArray[np.float64]
