"""Cross-fitted linear discriminant shared by the domain-classifier and contamination detectors.

The classifier is a ridge-regularised least-squares fit of the labels (0 = reference,
1 = current) on standardised features: for two classes its direction is Fisher's linear
discriminant, ``(S + lambda I)^-1 (mean_current - mean_reference)`` up to a scale (Hastie,
Tibshirani and Friedman, *The Elements of Statistical Learning*, 2nd ed., section 4.3). It has a
closed form, so that

- a fit costs one small ``d x d`` solve (no iterative solver, no scikit-learn import), and
- the fits of *many* relabellings share it: the coefficients are linear in the labels, so the
  out-of-fold scores of ``B`` label vectors are two matrix products per fold. That makes an
  exact permutation test of the whole cross-validated procedure cheap.

Folds are stratified (each fold holds about ``1/k`` of each sample). Relabellings permute the
labels *within* each fold, which keeps every fold's rows and label counts, hence its Gram matrix.
Under the null hypothesis (all rows exchangeable), conditional on which rows fell into which fold
and on the folds' label counts, every within-fold relabelling is equally likely, so a
permutation p-value over these relabellings is exact in level for any statistic of the
out-of-fold scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from visiondrift.detectors._base import (
    Detector,
    check_alpha,
    check_int,
    check_sample,
    check_seed,
    subsample,
)
from visiondrift.errors import ConfigError

__all__ = [
    "CrossFittedDetector",
    "DomainScores",
    "FoldModels",
    "permuted_labels",
    "standardise",
    "stratified_folds",
]


def standardise(
    pooled: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Pooled z-scores (no label used), with the centre and scale that make them."""
    centre = pooled.mean(axis=0)
    scale = pooled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (pooled - centre) / scale, centre, scale


def stratified_folds(
    labels: NDArray[np.int64], n_splits: int, rng: np.random.Generator
) -> NDArray[np.int64]:
    """Fold index of every row: each label's rows shuffled and dealt round-robin."""
    folds = np.empty(labels.size, dtype=np.int64)
    start = int(rng.integers(n_splits))
    for value in (0, 1):
        rows = rng.permutation(np.flatnonzero(labels == value))
        folds[rows] = (start + np.arange(rows.size)) % n_splits
        start = (start + rows.size) % n_splits
    return folds


def permuted_labels(
    labels: NDArray[np.int64], folds: NDArray[np.int64], n: int, rng: np.random.Generator
) -> NDArray[np.float32]:
    """``n`` relabellings (rows of the result) that permute the labels within each fold.

    Each fold's current rows of a relabelling are a uniformly random subset of the fold's rows of
    the fold's current-row count (the positions of the smallest of uniform random keys).
    """
    out = np.zeros((n, labels.size), dtype=np.float32)
    for fold in np.unique(folds):
        rows = np.flatnonzero(folds == fold)
        n_current = int(labels[rows].sum())
        if n_current == 0:
            continue
        keys = rng.random((n, rows.size))
        chosen = np.argpartition(keys, n_current - 1, axis=1)[:, :n_current]
        out[np.arange(n)[:, None], rows[chosen]] = 1.0
    return out


class FoldModels:
    """The k fold models of the discriminant, for the observed labels and for relabellings.

    Each fold's model is ``w = (Xt'Xt + ridge I)^-1 Xt'y`` on the other folds' rows ``Xt``,
    centred on their mean; a held-out row ``x`` scores ``(x - mean) . w``. Because ``Xt`` is
    centred, ``Xt'y = Xt'(y - mean(y))``: no intercept is needed, and a relabelling's right-hand
    side is ``Z'y`` over all rows minus the held-out fold's, less ``n_current_train * mean``
    (every relabelling has the same current-row count per fold).
    """

    def __init__(
        self, features: NDArray[np.float64], folds: NDArray[np.int64], ridge: float
    ) -> None:
        self.features = features
        self.folds = folds
        d = features.shape[1]
        self._held: list[NDArray[np.intp]] = []
        self._centre: list[NDArray[np.float64]] = []
        self._inverse: list[NDArray[np.float64]] = []
        for fold in range(int(folds.max()) + 1):
            train = folds != fold
            centre = features[train].mean(axis=0)
            x = features[train] - centre
            self._held.append(np.flatnonzero(~train))
            self._centre.append(centre)
            self._inverse.append(np.linalg.inv(x.T @ x + ridge * np.eye(d)))
        self._z32 = features.astype(np.float32)

    def scores(self, labels: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Out-of-fold scores of ``labels`` and the mean fold coefficients."""
        y = labels.astype(np.float64)
        scores = np.zeros(y.size, dtype=np.float64)
        weights = np.zeros(self.features.shape[1], dtype=np.float64)
        for held, centre, inverse in zip(self._held, self._centre, self._inverse, strict=True):
            train = np.ones(y.size, dtype=bool)
            train[held] = False
            coef = inverse @ ((self.features[train] - centre).T @ y[train])
            scores[held] = (self.features[held] - centre) @ coef
            weights += coef / len(self._held)
        return scores, weights

    def null_scores(
        self, labels: NDArray[np.int64], relabelled: NDArray[np.float32]
    ) -> NDArray[np.float32]:
        """Out-of-fold scores (float32, B x rows) of within-fold relabellings of ``labels``."""
        z32 = self._z32
        out = np.zeros(relabelled.shape, dtype=np.float32)
        yz_all = relabelled @ z32
        n_current = float(labels.sum())
        for held, centre, inverse in zip(self._held, self._centre, self._inverse, strict=True):
            n_current_train = n_current - float(labels[held].sum())
            c32 = centre.astype(np.float32)
            rhs = yz_all - relabelled[:, held] @ z32[held] - n_current_train * c32
            coef = rhs @ inverse.astype(np.float32)  # the inverse is symmetric
            out[:, held] = coef @ (z32[held] - c32).T
        return out


@dataclass(frozen=True)
class DomainScores:
    """Per-row out-of-fold scores of a reference-versus-current discriminant.

    ``reference_scores`` and ``current_scores`` are the out-of-fold scores of the rows used
    (``current_rows`` are their indices in the current sample given; the reference was subsampled
    at fit time); higher means more like the current sample. ``weights`` are the mean fold
    coefficients per standardised feature, and :meth:`score` scores any rows with them (for rows
    that no fold saw, such as current rows left out of the subsample).
    """

    reference_scores: NDArray[np.float64]
    current_scores: NDArray[np.float64]
    current_rows: NDArray[np.intp]
    weights: NDArray[np.float64]
    centre: NDArray[np.float64]
    scale: NDArray[np.float64]
    folds: NDArray[np.int64]
    features: NDArray[np.float64]
    n_splits: int
    quadratic: bool = False

    @property
    def labels(self) -> NDArray[np.int64]:
        """0 for the reference rows, then 1 for the current rows used."""
        out: NDArray[np.int64] = np.concatenate(
            [
                np.zeros(self.reference_scores.size, np.int64),
                np.ones(self.current_scores.size, np.int64),
            ]
        )
        return out

    def score(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        """Scores of raw feature rows by the mean fold model."""
        z = (rows - self.centre) / self.scale
        out: NDArray[np.float64] = (np.hstack([z, z * z]) if self.quadratic else z) @ self.weights
        return out


class CrossFittedDetector(Detector):
    """Shared parameters and the out-of-fold fit of the cross-fitted linear detectors."""

    _owner: ClassVar[str] = "CrossFittedDetector"
    _fitted_scalars: ClassVar[tuple[str, ...]] = ("n_reference_seen_",)
    #: Whether the discriminant also sees the square of every standardised feature, so that a
    #: part of the sample far out on either side of a feature (a tail) moves the score.
    _quadratic: ClassVar[bool] = False

    def __init__(
        self,
        alpha: float,
        n_splits: int,
        C: float,
        max_reference: int,
        max_current: int,
        n_permutations: int,
        seed: int | None,
    ) -> None:
        owner = self._owner
        self.alpha = check_alpha(alpha, owner)
        self.n_splits = check_int(n_splits, "n_splits", owner, minimum=2)
        if isinstance(C, bool) or not isinstance(C, int | float) or not 0 < C < float("inf"):
            raise ConfigError(
                f"The 'C' parameter of {owner} must be a positive number. Got {C!r} instead."
            )
        self.C = float(C)
        self.max_reference = check_int(max_reference, "max_reference", owner, minimum=2)
        self.max_current = check_int(max_current, "max_current", owner, minimum=2)
        self.n_permutations = check_int(n_permutations, "n_permutations", owner, minimum=1)
        self.seed = check_seed(seed, owner)

    def _matrix(self, values: ArrayLike, name: str) -> NDArray[np.float64]:
        arr = np.asarray(values, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        return check_sample(arr, self._owner, name, ndim=2, min_size=2)

    def fit(self, reference: ArrayLike) -> Self:
        """Keep the reference: an (n, d) feature array (1-D is one feature), subsampled if large."""
        ref = self._matrix(reference, "reference")
        self.n_reference_seen_ = int(ref.shape[0])
        self.reference_ = subsample(ref, self.max_reference, np.random.default_rng(self.seed))
        return self

    def out_of_fold(self, current: ArrayLike) -> DomainScores:
        """Out-of-fold scores of the (subsampled) reference and current rows."""
        found, _ = self._fold_models(current)
        return found

    def _fold_models(self, current: ArrayLike) -> tuple[DomainScores, FoldModels]:
        """The observed out-of-fold scores, and the fold models for relabellings."""
        self._check_fitted()
        cur = self._matrix(current, "current")
        ref = self.reference_
        if cur.shape[1] != ref.shape[1]:
            raise ConfigError(
                f"The current sample given to {self._owner} has {cur.shape[1]} columns; the "
                f"reference has {ref.shape[1]}."
            )
        rng = np.random.default_rng(np.random.SeedSequence(self.seed).spawn(1)[0])
        rows = np.arange(cur.shape[0])
        if cur.shape[0] > self.max_current:
            rows = np.sort(rng.choice(cur.shape[0], size=self.max_current, replace=False))
        used = cur[rows]
        features, centre, scale = standardise(np.concatenate([ref, used]))
        if self._quadratic:
            features = np.hstack([features, features * features])
        labels = np.r_[np.zeros(ref.shape[0], np.int64), np.ones(used.shape[0], np.int64)]
        n_splits = min(self.n_splits, ref.shape[0], used.shape[0])
        folds = stratified_folds(labels, n_splits, np.random.default_rng(rng.integers(2**32)))
        models = FoldModels(features, folds, 1.0 / self.C)
        scores, weights = models.scores(labels)
        n_ref = ref.shape[0]
        found = DomainScores(
            reference_scores=scores[:n_ref],
            current_scores=scores[n_ref:],
            current_rows=rows,
            weights=weights,
            centre=centre,
            scale=scale,
            folds=folds,
            features=features,
            n_splits=n_splits,
            quadratic=self._quadratic,
        )
        return found, models

    def _relabelling_rng(self) -> np.random.Generator:
        """The generator of the within-fold relabellings (seeded apart from the folds)."""
        return np.random.default_rng(np.random.SeedSequence(self.seed).spawn(2)[1])

    n_reference_seen_: int
