"""Black-box shift detection: per-class KS tests on the model's probability vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visiondrift.detectors._base import (
    Detector,
    TestResult,
    check_alpha,
    check_choice,
    check_int,
    check_sample,
)
from visiondrift.detectors.ks import KSMethod, direction_word, ks_pvalues
from visiondrift.errors import ConfigError

__all__ = ["BBSDDetector"]

_OWNER = "BBSDDetector"


class BBSDDetector(Detector):
    """Black-box shift detection (BBSD) on softmax outputs, per-class KS with Bonferroni.

    For each of the C classes, the model's probability for that class is compared between the
    reference and the current images with a two-sample Kolmogorov-Smirnov test; the C p-values
    are combined with a Bonferroni correction, ``p = min(1, C * min_c p_c)``, so the detector keeps
    its level whatever the dependence between classes. This is the best-performing detector of
    Rabanser et al. (2019) across their shift types, and it needs no labels.

    The statistic and the effect size are the largest per-class KS distance D (unit: share of
    images); ``details["per_class"]`` lists each class with its D, raw and adjusted p-value and
    direction (whether the current images get a higher or lower probability for that class).

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    method
        KS p-value method per class, as in :class:`~visiondrift.detectors.KSDetector`.
    exact_max_size
        Largest sample size for which ``method="auto"`` computes exact KS p-values.
    class_names
        Names of the C classes (columns) for the details; ``None`` numbers them from 0.

    References
    ----------
    Rabanser, S., Günnemann, S. and Lipton, Z. C. (2019). Failing loudly: an empirical study of
    methods for detecting dataset shift. NeurIPS 32.
    Lipton, Z. C., Wang, Y.-X. and Smola, A. (2018). Detecting and correcting for label shift with
    black box predictors. ICML 35.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.dirichlet([1.0, 1.0, 1.0], size=300)
    >>> current = rng.dirichlet([3.0, 1.0, 1.0], size=300)
    >>> result = BBSDDetector(class_names=["cat", "dog", "fox"]).fit(reference).test(current)
    >>> result.p_value < 1e-6, result.details["most_shifted_class"]
    (True, 'cat')
    """

    _param_names: ClassVar[tuple[str, ...]] = ("alpha", "method", "exact_max_size", "class_names")

    def __init__(
        self,
        alpha: float = 0.05,
        method: KSMethod = "auto",
        exact_max_size: int = 1000,
        class_names: Sequence[str] | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha, _OWNER)
        check_choice(method, "method", _OWNER, ("auto", "exact", "asymp"))
        self.method: KSMethod = method
        self.exact_max_size = check_int(exact_max_size, "exact_max_size", _OWNER, minimum=1)
        self.class_names: list[str] | None = None
        if class_names is not None:
            self.class_names = [str(name) for name in class_names]
            if not self.class_names:
                raise ConfigError(f"The 'class_names' parameter of {_OWNER} must not be empty.")

    def _matrix(self, values: ArrayLike, name: str) -> NDArray[np.float64]:
        arr = check_sample(values, _OWNER, name, ndim=2)
        if self.class_names is not None and arr.shape[1] != len(self.class_names):
            raise ConfigError(
                f"The {name} probabilities given to {_OWNER} have {arr.shape[1]} columns but "
                f"'class_names' names {len(self.class_names)} classes."
            )
        return arr

    def fit(self, reference: ArrayLike) -> Self:
        """Keep the reference probability vectors: an (n, C) array, one row per image."""
        self.reference_ = self._matrix(reference, "reference")
        return self

    def test(self, current: ArrayLike) -> TestResult:
        """Test an (m, C) array of current probability vectors."""
        self._check_fitted()
        cur = self._matrix(current, "current")
        ref = self.reference_
        if cur.shape[1] != ref.shape[1]:
            raise ConfigError(
                f"The current probabilities given to {_OWNER} have {cur.shape[1]} columns; the "
                f"reference has {ref.shape[1]}."
            )
        statistic, p_value, sign, used = ks_pvalues(ref, cur, self.method, self.exact_max_size)
        n_classes = statistic.size
        adjusted = np.minimum(1.0, p_value * n_classes)
        names = self.class_names or [str(i) for i in range(n_classes)]
        per_class: list[dict[str, Any]] = [
            {
                "class": names[i],
                "statistic": float(statistic[i]),
                "p_value": float(p_value[i]),
                "p_value_adjusted": float(adjusted[i]),
                "direction": direction_word(float(sign[i])),
            }
            for i in range(n_classes)
        ]
        top = int(np.argmax(statistic))
        return TestResult(
            detector=self.name,
            statistic=float(statistic[top]),
            p_value=float(adjusted.min()),
            effect_size=float(statistic[top]),
            effect_unit="share of images (largest per-class KS distance D)",
            n_reference=int(ref.shape[0]),
            n_current=int(cur.shape[0]),
            method=used,
            details={"most_shifted_class": names[top], "per_class": per_class},
        )
