"""Domain classifier: can a linear discriminant tell the current images from the reference?"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from visiondrift.detectors._base import PValueMethod, TestResult, check_choice, permutation_pvalue
from visiondrift.detectors._linear import CrossFittedDetector, permuted_labels

__all__ = ["DomainClassifierDetector", "DomainPValue"]

DomainPValue = Literal["fold-mannwhitney", "permutation"]
_OWNER = "DomainClassifierDetector"


def fold_auc(
    scores: NDArray[np.float64],
    labels: NDArray[np.int64],
    folds: NDArray[np.int64],
    *,
    with_p_values: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per-fold AUC of the held-out scores and one-sided Mann-Whitney p-values (or ones)."""
    aucs, p_values = [], []
    for fold in np.unique(folds):
        held = folds == fold
        is_current = labels[held] == 1
        fold_scores = scores[held]
        n_cur, n_ref = int(is_current.sum()), int((~is_current).sum())
        if n_cur == 0 or n_ref == 0:
            continue
        if with_p_values:
            res = stats.mannwhitneyu(
                fold_scores[is_current], fold_scores[~is_current], alternative="greater"
            )
            u_stat, p_value = float(res.statistic), float(res.pvalue)
        else:  # permutation replicates need the AUC only
            u_stat = float(stats.rankdata(fold_scores)[is_current].sum()) - n_cur * (n_cur + 1) / 2
            p_value = 1.0
        aucs.append(u_stat / (n_cur * n_ref))
        p_values.append(p_value)
    return np.array(aucs), np.array(p_values)


class DomainClassifierDetector(CrossFittedDetector):
    """Domain classifier test: cross-validated AUC of reference-versus-current classification.

    A linear discriminant (ridge least squares on the labels, which for two classes is Fisher's
    discriminant; see :mod:`visiondrift.detectors._linear`) on standardised features (image
    properties, model outputs) learns to tell reference rows (label 0) from current rows
    (label 1). Stratified k-fold cross-validation gives out-of-fold scores; the effect size is the
    mean of the per-fold AUCs (unit "AUC, 0.5 = indistinguishable"; 1 means every current image
    can be told apart). The fitted coefficients (``details["feature_weights"]``, mean over folds,
    per standardised feature) say which features give the batch away, and :meth:`out_of_fold`
    gives every row's out-of-fold score (a monotone estimate of the density ratio
    ``p_current(x) / p_reference(x)``) for ranking images.

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
    - ``"permutation"``: the whole cross-validation is rerun on ``n_permutations`` relabellings
      that permute the labels within each fold, and ``p = (1 + #{AUC* >= AUC}) / (B + 1)``. Exact
      in level; the discriminant's closed form makes the relabelled fits two matrix products.

    Cost is bounded by seeded subsampling to ``max_reference`` and ``max_current`` rows; a fit is
    one small linear solve per fold (no iterative solver, no scikit-learn).

    Parameters
    ----------
    alpha
        Significance level used by :meth:`TestResult.drift` callers; kept for the contract.
    n_splits
        Folds of the stratified cross-validation (reduced to the size of the smaller sample when
        that has fewer rows; each sample needs at least 2 rows).
    C
        Inverse strength of the ridge penalty: each fold minimises
        ``||y - X w||^2 + ||w||^2 / C`` on standardised features.
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

    _owner: ClassVar[str] = _OWNER
    _param_names: ClassVar[tuple[str, ...]] = (
        "alpha",
        "n_splits",
        "C",
        "max_reference",
        "max_current",
        "p_value_method",
        "n_permutations",
        "seed",
    )

    def __init__(
        self,
        alpha: float = 0.05,
        n_splits: int = 5,
        C: float = 1.0,
        max_reference: int = 2000,
        max_current: int = 2000,
        p_value_method: DomainPValue = "fold-mannwhitney",
        n_permutations: int = 99,
        seed: int | None = None,
    ) -> None:
        super().__init__(alpha, n_splits, C, max_reference, max_current, n_permutations, seed)
        check_choice(p_value_method, "p_value_method", _OWNER, ("fold-mannwhitney", "permutation"))
        self.p_value_method: DomainPValue = p_value_method

    def test(self, current: ArrayLike) -> TestResult:
        """Test an (m, d) feature array with the reference's number of columns."""
        n_current_seen = int(np.asarray(current).shape[0]) if np.ndim(current) else 0
        found, models = self._fold_models(current)
        labels = found.labels
        scores = np.r_[found.reference_scores, found.current_scores]
        auc, fold_p = fold_auc(scores, labels, found.folds)
        method: PValueMethod
        if self.p_value_method == "permutation":
            relabelled = permuted_labels(
                labels, found.folds, self.n_permutations, self._relabelling_rng()
            )
            null_scores = models.null_scores(labels, relabelled)
            null = np.array(
                [
                    fold_auc(
                        null_scores[b].astype(np.float64),
                        relabelled[b].astype(np.int64),
                        found.folds,
                        with_p_values=False,
                    )[0].mean()
                    for b in range(self.n_permutations)
                ]
            )
            p_value = permutation_pvalue(float(auc.mean()), null)
            method = "permutation"
        else:
            p_value = min(1.0, found.n_splits * float(fold_p.min()))
            method = "cross-validated"
        details: dict[str, Any] = {
            "fold_auc": auc.tolist(),
            "fold_p_values": fold_p.tolist(),
            "n_splits": found.n_splits,
            "feature_weights": found.weights.tolist(),
            "n_reference_used": int(found.reference_scores.size),
            "n_current_used": int(found.current_scores.size),
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
