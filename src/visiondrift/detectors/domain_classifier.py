"""Domain classifier: can a logistic regression tell the current images from the reference?"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, Literal, Self

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
    subsample,
)
from visiondrift.errors import ConfigError

__all__ = ["DomainClassifierDetector", "DomainPValue"]

DomainPValue = Literal["fold-mannwhitney", "permutation"]
_OWNER = "DomainClassifierDetector"


def _as_matrix(values: ArrayLike, name: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    return check_sample(arr, _OWNER, name, ndim=2, min_size=2)


class DomainClassifierDetector(Detector):
    """Domain classifier test: cross-validated AUC of reference-versus-current classification.

    A logistic regression on standardised features (image properties, embeddings) learns to tell
    reference rows (label 0) from current rows (label 1). Stratified k-fold cross-validation gives
    out-of-fold scores; the effect size is the mean of the per-fold AUCs (unit "AUC, 0.5 =
    indistinguishable"; 1 means every current image can be told apart). The fitted coefficients
    (``details["feature_weights"]``, mean over folds, per standardised feature) say which
    features give the batch away.

    p-value (``p_value_method``):

    - ``"fold-mannwhitney"`` (default, cheap): in each fold, a one-sided Mann-Whitney test asks
      whether the held-out current rows score higher than the held-out reference rows. Under the
      null hypothesis every row is exchangeable; the fold's model was fitted on the other folds
      only, and the stratified split does not depend on the features, so given the training folds
      the held-out labels are a uniformly random assignment of the fold's fixed counts to its rows:
      each fold's Mann-Whitney p-value is valid (exact up to scipy's normal approximation for large
      folds). The fold p-values are dependent, so they are combined with Bonferroni,
      ``p = min(1, k * min_j p_j)``, which is valid under any dependence. Standardising with the
      pooled mean and standard deviation uses no label, so it does not break the argument.
    - ``"permutation"``: the whole cross-validation is rerun on ``n_permutations`` random
      relabellings and ``p = (1 + #{AUC* >= AUC}) / (B + 1)``. Exact in level for any model, but
      k * B model fits: use it for small samples or offline.

    Cost is bounded by seeded subsampling to ``max_reference`` and ``max_current`` rows. With the
    defaults, 1,000 current rows against a 10,000-row reference with 20 features take about
    0.1 s. scikit-learn is imported only when a test runs.

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    n_splits
        Folds of the stratified cross-validation (reduced to the size of the smaller sample when
        that has fewer rows; each sample needs at least 2 rows).
    C
        Inverse L2 regularisation strength of the logistic regression (scikit-learn's ``C``).
    max_iter
        Iteration limit of the logistic regression solver; ``details["converged"]`` reports
        whether every fit converged.
    max_reference
        Rows of the reference kept (seeded subsample) above this size.
    max_current
        Rows of the current sample kept (seeded subsample) above this size.
    p_value_method
        ``"fold-mannwhitney"`` or ``"permutation"``, see above.
    n_permutations
        Number of relabellings B for ``p_value_method="permutation"``.
    seed
        Seed of the subsampling, folds and permutations; ``None`` draws fresh entropy.

    References
    ----------
    Lopez-Paz, D. and Oquab, M. (2017). Revisiting classifier two-sample tests. ICLR.
    Rabanser, S., Günnemann, S. and Lipton, Z. C. (2019). Failing loudly: an empirical study of
    methods for detecting dataset shift. NeurIPS 32.
    Vovk, V. and Wang, R. (2020). Combining p-values via averaging. Biometrika 107(4), 791-808.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> det = DomainClassifierDetector(seed=0).fit(rng.normal(size=(400, 4)))
    >>> result = det.test(rng.normal(loc=[1.0, 0.0, 0.0, 0.0], size=(200, 4)))
    >>> result.p_value < 1e-6, result.effect_size > 0.7
    (True, True)
    """

    _param_names: ClassVar[tuple[str, ...]] = (
        "alpha",
        "n_splits",
        "C",
        "max_iter",
        "max_reference",
        "max_current",
        "p_value_method",
        "n_permutations",
        "seed",
    )
    _fitted_scalars: ClassVar[tuple[str, ...]] = ("n_reference_seen_",)

    def __init__(
        self,
        alpha: float = 0.05,
        n_splits: int = 5,
        C: float = 1.0,
        max_iter: int = 1000,
        max_reference: int = 2000,
        max_current: int = 2000,
        p_value_method: DomainPValue = "fold-mannwhitney",
        n_permutations: int = 99,
        seed: int | None = None,
    ) -> None:
        self.alpha = check_alpha(alpha, _OWNER)
        self.n_splits = check_int(n_splits, "n_splits", _OWNER, minimum=2)
        if isinstance(C, bool) or not isinstance(C, int | float) or not 0 < C < float("inf"):
            raise ConfigError(
                f"The 'C' parameter of {_OWNER} must be a positive number. Got {C!r} instead."
            )
        self.C = float(C)
        self.max_iter = check_int(max_iter, "max_iter", _OWNER, minimum=1)
        self.max_reference = check_int(max_reference, "max_reference", _OWNER, minimum=2)
        self.max_current = check_int(max_current, "max_current", _OWNER, minimum=2)
        check_choice(p_value_method, "p_value_method", _OWNER, ("fold-mannwhitney", "permutation"))
        self.p_value_method: DomainPValue = p_value_method
        self.n_permutations = check_int(n_permutations, "n_permutations", _OWNER, minimum=1)
        self.seed = check_seed(seed, _OWNER)

    def fit(self, reference: ArrayLike) -> Self:
        """Keep the reference: an (n, d) feature array (1-D is one feature), subsampled if large."""
        ref = _as_matrix(reference, "reference")
        self.n_reference_seen_ = int(ref.shape[0])
        self.reference_ = subsample(ref, self.max_reference, np.random.default_rng(self.seed))
        return self

    def test(self, current: ArrayLike) -> TestResult:
        """Test an (m, d) feature array with the reference's number of columns."""
        self._check_fitted()
        cur = _as_matrix(current, "current")
        ref = self.reference_
        if cur.shape[1] != ref.shape[1]:
            raise ConfigError(
                f"The current sample given to {_OWNER} has {cur.shape[1]} columns; the reference "
                f"has {ref.shape[1]}."
            )
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        n_current_seen = int(cur.shape[0])
        cur = subsample(cur, self.max_current, rng)
        pooled = np.concatenate([ref, cur])
        scale = pooled.std(axis=0)
        features = (pooled - pooled.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
        labels = np.r_[np.zeros(ref.shape[0], dtype=np.int64), np.ones(cur.shape[0], np.int64)]
        n_splits = min(self.n_splits, ref.shape[0], cur.shape[0])
        fold_seed = int(rng.integers(2**32))
        auc, fold_p, weights, converged = self._cross_validate(
            features, labels, n_splits, fold_seed, with_p_values=True
        )
        method: PValueMethod
        if self.p_value_method == "permutation":
            null = np.array(
                [
                    self._cross_validate(
                        features,
                        rng.permutation(labels),
                        n_splits,
                        int(rng.integers(2**32)),
                        with_p_values=False,
                    )[0].mean()
                    for _ in range(self.n_permutations)
                ]
            )
            p_value = permutation_pvalue(float(auc.mean()), null)
            method = "permutation"
        else:
            p_value = min(1.0, n_splits * float(fold_p.min()))
            method = "cross-validated"
        details: dict[str, Any] = {
            "fold_auc": auc.tolist(),
            "fold_p_values": fold_p.tolist(),
            "n_splits": n_splits,
            "feature_weights": weights.tolist(),
            "converged": converged,
            "n_reference_used": int(ref.shape[0]),
            "n_current_used": int(cur.shape[0]),
        }
        return TestResult(
            detector=self.name,
            statistic=float(auc.mean()),
            p_value=p_value,
            effect_size=float(auc.mean()),
            effect_unit="AUC, 0.5 = indistinguishable",
            n_reference=self.n_reference_seen_,
            n_current=n_current_seen,
            method=method,
            details=details,
        )

    def _cross_validate(
        self,
        features: NDArray[np.float64],
        labels: NDArray[np.int64],
        n_splits: int,
        fold_seed: int,
        *,
        with_p_values: bool,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], bool]:
        """Per-fold AUCs, one-sided Mann-Whitney p-values, mean coefficients, convergence."""
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=fold_seed)
        aucs, p_values = [], []
        weights = np.zeros(features.shape[1], dtype=np.float64)
        converged = True
        for train, held_out in folds.split(features, labels):
            model = LogisticRegression(C=self.C, max_iter=self.max_iter)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                model.fit(features[train], labels[train])
            converged &= not any(issubclass(w.category, ConvergenceWarning) for w in caught)
            weights += model.coef_[0] / n_splits
            scores = model.decision_function(features[held_out])
            is_current = labels[held_out] == 1
            cur_scores, ref_scores = scores[is_current], scores[~is_current]
            if with_p_values:
                res = stats.mannwhitneyu(cur_scores, ref_scores, alternative="greater")
                u_stat, p_value = float(res.statistic), float(res.pvalue)
            else:  # permutation replicates need the AUC only
                u_stat = float(stats.rankdata(scores)[is_current].sum())
                u_stat -= cur_scores.size * (cur_scores.size + 1) / 2.0
                p_value = 1.0
            aucs.append(u_stat / (cur_scores.size * ref_scores.size))
            p_values.append(p_value)
        return np.array(aucs), np.array(p_values), weights, converged

    n_reference_seen_: int
