"""Fisher's exact test on two shares (unusable files, correct predictions).

Owns :class:`FisherExactDetector` and its sample type :class:`Proportion`: the one place where
the comparison runs a Fisher test (the ``integrity`` and ``accuracy`` metrics and their
images-needed resampling). May import numpy, scipy.stats and the detector base only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from visiondrift.detectors._base import Detector, TestResult, check_alpha, check_choice
from visiondrift.errors import ConfigError

__all__ = ["FisherAlternative", "FisherExactDetector", "Proportion"]

_OWNER = "FisherExactDetector"


@dataclass(frozen=True)
class Proportion:
    """``count`` of ``total`` items have the property (for example files that are unusable)."""

    count: int
    total: int

    def __post_init__(self) -> None:
        count, total = self.count, self.total
        if (
            isinstance(count, bool)
            or isinstance(total, bool)
            or not isinstance(count, int | np.integer)
            or not isinstance(total, int | np.integer)
            or not 0 <= count <= total
        ):
            raise ConfigError(
                "A Proportion needs integers 0 <= count <= total. "
                f"Got count={count!r}, total={total!r} instead."
            )

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else math.nan


BinarySample = Proportion | ArrayLike
FisherAlternative = Literal["two-sided", "greater", "less"]


def _as_proportion(sample: BinarySample, name: str) -> Proportion:
    if isinstance(sample, Proportion):
        out = sample
    else:
        arr = np.asarray(sample, dtype=np.float64)
        if arr.ndim != 1 or not np.isin(arr, (0.0, 1.0)).all():
            raise ConfigError(
                f"The {name} sample given to {_OWNER} must be a Proportion or a 1-D array of 0/1 "
                f"outcomes. Got an array of shape {arr.shape}."
            )
        out = Proportion(int(arr.sum()), int(arr.size))
    if out.total < 1:
        raise ConfigError(f"The {name} sample given to {_OWNER} needs at least 1 item. Got 0.")
    return out


class FisherExactDetector(Detector):
    """Fisher's exact test of two shares in a 2 x 2 table (exact for any counts).

    The effect size is the difference of the shares, current minus reference (unit: share of
    items); the statistic is the sample odds ratio (0 when it is not finite).

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    alternative
        ``"two-sided"`` (default), ``"greater"`` (the current share is larger) or ``"less"``.

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd edition, Wiley. Section 3.5.

    Examples
    --------
    >>> det = FisherExactDetector().fit(Proportion(2, 200))
    >>> result = det.test(Proportion(30, 200))
    >>> result.p_value < 1e-6, round(result.effect_size, 2), result.method
    (True, 0.14, 'exact')
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "alternative")

    def __init__(self, alpha: float = 0.05, alternative: FisherAlternative = "two-sided") -> None:
        self.alpha = check_alpha(alpha, _OWNER)
        check_choice(alternative, "alternative", _OWNER, ("two-sided", "greater", "less"))
        self.alternative: FisherAlternative = alternative

    def fit(self, reference: BinarySample) -> Self:
        """Count the reference: a :class:`Proportion` or a 1-D array of 0/1 outcomes."""
        ref = _as_proportion(reference, "reference")
        self.reference_ = np.array([ref.count, ref.total], dtype=np.float64)
        return self

    def test(self, current: BinarySample) -> TestResult:
        """Test the current share (a :class:`Proportion` or 0/1 outcomes) against the fit."""
        self._check_fitted()
        cur = _as_proportion(current, "current")
        kb, nb = int(self.reference_[0]), int(self.reference_[1])
        # scipy's alternatives are about the odds ratio of the first row: "greater" (current
        # share larger) is "less" for a table whose first row is the reference.
        flipped = {"greater": "less", "less": "greater"}.get(self.alternative, "two-sided")
        res = stats.fisher_exact(
            [[kb, nb - kb], [cur.count, cur.total - cur.count]], alternative=flipped
        )
        statistic = float(res.statistic)
        return TestResult(
            detector=self.name,
            statistic=statistic if math.isfinite(statistic) else 0.0,
            p_value=min(1.0, max(0.0, float(res.pvalue))),
            effect_size=cur.share - kb / nb,
            effect_unit="difference of the shares (current minus reference)",
            n_reference=nb,
            n_current=cur.total,
            method="exact",
            details={
                "reference_count": kb,
                "current_count": cur.count,
                "reference_share": kb / nb,
                "current_share": cur.share,
            },
        )

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> Self:
        """Rebuild a detector saved with :meth:`to_dict`."""
        if state.get("detector") != cls.__name__:
            raise ConfigError(f"Cannot load a {state.get('detector')!r} state into {cls.__name__}.")
        detector = cls(**dict(state.get("params", {})))
        if "reference" in state:
            count, total = (int(v) for v in state["reference"])
            detector.fit(Proportion(count, total))
        return detector
