"""Multivariate metrics of a comparison: the images as a whole, not one property at a time.

Two more :class:`Candidate` records join the same family-wise correction as the input and
output metrics:

- ``embedding`` (family ``embedding``, when both profiles hold the model's projected embedding):
  maximum mean discrepancy with a Gaussian kernel (median-heuristic bandwidth) and a seeded
  permutation null (:class:`~visiondrift.detectors.mmd.MMDDetector`). The effect is MMD in
  kernel units (0 = same distribution, at most sqrt(2)). Default bands (0.05, 0.10, 0.20): with
  the median bandwidth, a batch of which every image moved by about a tenth of the typical
  distance between two baseline images gives MMD near 0.1; a mixture in which a fraction ``f`` of
  the images comes from a distant distribution gives roughly ``f`` times the distance of that
  part, so 0.05 / 0.10 / 0.20 read "a few percent / a tenth / a fifth of the batch looks new".
- ``domain`` (family ``domain``, always when both profiles have at least a few images): a
  domain classifier (:class:`~visiondrift.detectors.domain_classifier.DomainClassifierDetector`,
  logistic regression, stratified 5-fold cross-validation, valid fold-wise Mann-Whitney p-value)
  on the standardised per-image properties. The effect is the cross-validated AUC minus 0.5
  (0 = the batch cannot be told from the baseline, 0.5 = every image can be); default bands
  (0.05, 0.10, 0.20).

Both are ``detection`` metrics: they decide whether anything changed, but they see changes
nobody would notice, so their severity is capped (see :mod:`visiondrift.drift._config`).

Both subsample inside the detectors (seeded) so that a 1,000-image batch against a
10,000-image baseline stays well under a second.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import NDArray

from visiondrift.detectors.domain_classifier import DomainClassifierDetector
from visiondrift.detectors.mmd import MMDDetector
from visiondrift.drift._config import DriftConfig
from visiondrift.drift._input import Candidate
from visiondrift.profiles import Profile
from visiondrift.properties import PROPERTIES

__all__ = [
    "DOMAIN_MAX_CURRENT",
    "DOMAIN_MAX_REFERENCE",
    "MMD_MAX_CURRENT",
    "MMD_MAX_REFERENCE",
    "MMD_PERMUTATIONS",
    "domain_candidate",
    "embedding_candidate",
    "multivariate_candidates",
]

#: Rows of each side the MMD test keeps (seeded subsample) and its permutations. The smallest
#: permutation p-value, 1 / (permutations + 1), must survive the family-wise correction of a
#: comparison of some 30 tests: 999 lets it do so up to 50 tests at alpha = 0.05.
MMD_MAX_REFERENCE = 1000
MMD_MAX_CURRENT = 500
MMD_PERMUTATIONS = 999
#: Rows of each side the domain classifier keeps (seeded subsample).
DOMAIN_MAX_REFERENCE = 2000
DOMAIN_MAX_CURRENT = 1000
#: Fewest images per side for the multivariate tests.
MIN_ROWS = 10


def embedding_candidate(base: Profile, cur: Profile, config: DriftConfig) -> Candidate | None:
    """MMD between the projected embeddings of the two reservoirs, or ``None`` without them."""
    b = base.reservoir.vectors.get("embedding")
    c = cur.reservoir.vectors.get("embedding")
    if b is None or c is None or b.ndim != 2 or c.ndim != 2 or b.shape[1] != c.shape[1]:
        return None
    if b.shape[0] < MIN_ROWS or c.shape[0] < MIN_ROWS:
        return None
    detector = MMDDetector(
        n_permutations=MMD_PERMUTATIONS,
        max_reference=MMD_MAX_REFERENCE,
        max_current=MMD_MAX_CURRENT,
        seed=config.seed,
    )
    result = detector.fit(b.astype(np.float64)).test(c.astype(np.float64))
    effect = result.effect_size

    def sentence() -> str:
        return (
            f"The model sees the images differently: the distance between the batch's and the "
            f"baseline's embeddings is MMD {effect:.3f} (kernel units, 0 = same, at most 1.41)."
        )

    return Candidate(
        name="embedding",
        label="model embedding",
        family="embedding",
        unit="kernel units",
        baseline=None,
        current=None,
        test="Maximum mean discrepancy (Gaussian kernel, median bandwidth), permutation null",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=effect,
        effect_unit=result.effect_unit,
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=None,
        sentence=sentence,
        role="detection",
        details=dict(result.details),
    )


def _property_matrix(profile: Profile, names: list[str]) -> NDArray[np.float64]:
    return np.column_stack([profile.reservoir.values[n] for n in names]).astype(np.float64)


def domain_candidate(base: Profile, cur: Profile, config: DriftConfig) -> Candidate | None:
    """Domain classifier on the per-image properties, or ``None`` with too few images."""
    names = [
        s.name
        for s in PROPERTIES
        if s.name in base.reservoir.values and s.name in cur.reservoir.values
    ]
    if not names or len(base.reservoir) < MIN_ROWS or len(cur.reservoir) < MIN_ROWS:
        return None
    b = _property_matrix(base, names)
    c = _property_matrix(cur, names)
    # Missing values become the baseline median (a column that is never finite is dropped).
    pooled = np.vstack([b, c])
    finite = np.isfinite(pooled)
    keep = finite.any(axis=0)
    if not keep.any():
        return None
    kept = [bool(k) for k in np.atleast_1d(keep)]
    b, c = b[:, keep], c[:, keep]
    names = [n for n, k in zip(names, kept, strict=True) if k]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fill = np.nanmedian(np.where(np.isfinite(b), b, np.nan), axis=0)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    b = np.where(np.isfinite(b), b, fill)
    c = np.where(np.isfinite(c), c, fill)
    # Columns with no spread in either sample carry no information (e.g. a fixed image size).
    varying: list[bool] = (np.ptp(np.vstack([b, c]), axis=0) > 0).tolist()
    if not any(varying):
        return None
    b, c = b[:, varying], c[:, varying]
    names = [n for n, v in zip(names, varying, strict=True) if v]
    detector = DomainClassifierDetector(
        max_reference=DOMAIN_MAX_REFERENCE, max_current=DOMAIN_MAX_CURRENT, seed=config.seed
    )
    result = detector.fit(b).test(c)
    auc = float(result.effect_size)
    weights = [float(w) for w in result.details.get("feature_weights", [])]
    order = sorted(range(len(names)), key=lambda i: -abs(weights[i]))[:3] if weights else []
    labels = {s.name: s.label for s in PROPERTIES}
    top = [labels.get(names[i], names[i]) for i in order]

    def sentence() -> str:
        if auc >= 0.75:
            how = "the images differ as a whole"
        elif auc >= 0.6:
            how = "many images differ"
        else:
            how = "some images differ"
        clues = f" (mostly by {', '.join(top)})" if top else ""
        return f"A classifier tells the batch from the baseline with AUC {auc:.2f}{clues}: {how}."

    return Candidate(
        name="domain",
        label="domain classifier on image properties",
        family="domain",
        unit="AUC",
        baseline=0.5,
        current=auc,
        test="Domain classifier (logistic regression, 5-fold CV, fold-wise Mann-Whitney, "
        "Bonferroni over folds)",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=max(auc - 0.5, 0.0),
        effect_unit="cross-validated AUC minus 0.5 (0 = indistinguishable, 0.5 = all told apart)",
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=None,
        sentence=sentence,
        role="detection",
        details={
            "auc": auc,
            "features": names,
            "feature_weights": dict(zip(names, weights, strict=False)),
            "fold_auc": list(result.details.get("fold_auc", [])),
            "n_reference_used": result.details.get("n_reference_used"),
            "n_current_used": result.details.get("n_current_used"),
        },
    )


def multivariate_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The embedding MMD (with embeddings on both sides) and the domain classifier."""
    found = [embedding_candidate(base, cur, config), domain_candidate(base, cur, config)]
    return [c for c in found if c is not None]
