"""The domain score: how much more likely each image is in the batch than in the baseline.

One cross-fitted linear discriminant (see :mod:`visiondrift.detectors._linear`) on the per-image
values of the two reservoirs (image properties, and with a model on both sides its confidence,
margin and entropy) gives every image an out-of-fold score, a monotone estimate of the density
ratio ``p_batch(x) / p_baseline(x)``. Three things use it:

- ``domain`` (family ``domain``): can the batch be told from the baseline at all? Effect: the
  cross-validated AUC minus 0.5 (0 = indistinguishable, 0.5 = every image can be told apart);
  p-value: fold-wise one-sided Mann-Whitney with Bonferroni over the folds.
- ``contamination`` (family ``contamination``): is a *part* of the batch new? The share of
  batch images beyond the baseline's own ``1 - CONTAMINATION_GAMMA`` quantile of the score, tested
  with a within-fold permutation null of the whole procedure (exact in level). Effect: the
  excess share of the batch beyond that quantile, which estimates the share of the batch that is
  new ("one camera in ten is broken" gives about 0.1).
- the report's atypical images (:mod:`visiondrift.drift._atypical`): the batch images with the
  highest scores, that is those the change made unusual, not those that were already rare.

Both tests subsample (seeded) so that a 1,000-image batch against a 10,000-image baseline stays
well under a second.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from visiondrift.detectors.contamination import ContaminationDetector
from visiondrift.detectors.domain_classifier import DomainClassifierDetector
from visiondrift.drift._config import DriftConfig
from visiondrift.drift._details import ContaminationDetails, DomainDetails
from visiondrift.drift._input import Candidate
from visiondrift.measure.properties import PROPERTIES
from visiondrift.profiles import Profile

__all__ = [
    "CONTAMINATION_GAMMA",
    "CONTAMINATION_MAX_CURRENT",
    "CONTAMINATION_MAX_REFERENCE",
    "CONTAMINATION_PERMUTATIONS",
    "DOMAIN_MAX_CURRENT",
    "DOMAIN_MAX_REFERENCE",
    "MIN_ROWS",
    "DomainFeatures",
    "contamination_candidate",
    "domain_candidate",
    "domain_features",
]

#: Rows of each side the domain score keeps (seeded subsample).
DOMAIN_MAX_REFERENCE: Final = 2000
DOMAIN_MAX_CURRENT: Final = 1000
#: Fewest images per side for the domain score.
MIN_ROWS: Final = 10
#: Share of the baseline above the contamination threshold (the baseline's 95th percentile).
CONTAMINATION_GAMMA: Final = 0.05
#: Largest number of within-fold relabellings of the contamination test's permutation null.
#: The smallest p-value is 1/3000: a Holm correction over m tests needs p <= alpha / m at its
#: first step (0.002 for 25 tests at alpha 0.05), and the Monte-Carlo p-value of a clear
#: contamination must sit well below that, not at it. Only a batch that looks contaminated
#: draws them all (see ``ContaminationDetector.stop_after``).
CONTAMINATION_PERMUTATIONS: Final = 2999
#: Rows of each side the contamination test keeps (seeded subsample): each relabelling refits
#: the fold models on these rows, and 500 batch rows already hold 50 images of a broken tenth.
CONTAMINATION_MAX_REFERENCE: Final = 1000
CONTAMINATION_MAX_CURRENT: Final = 500


@dataclass(frozen=True)
class Column:
    """One per-image value the domain score uses, and how a sentence names its direction."""

    name: str
    label: str
    more: str
    less: str
    #: Seen by the classifier as a logarithm (values floored at ``lo``).
    log: bool
    lo: float = 0.0


#: Model columns of the reservoir that the domain score uses (the predicted class is a category).
_MODEL_COLUMNS: Final = (
    Column("model_confidence", "model confidence", "more confident", "less confident", False),
    Column("model_margin", "model margin", "more decisive", "less decisive", False),
    Column("model_entropy", "output entropy", "more uncertain", "less uncertain", False),
)


@dataclass(frozen=True)
class DomainFeatures:
    """The per-image matrices of both reservoirs, column by column.

    ``baseline`` and ``current`` are the values the classifier sees (log of the log-scale
    properties, missing values as the baseline median); ``baseline_raw`` and ``current_raw`` the
    same in the property's own unit, for sentences.
    """

    columns: tuple[Column, ...]
    baseline: NDArray[np.float64]
    current: NDArray[np.float64]
    baseline_raw: NDArray[np.float64]
    current_raw: NDArray[np.float64]
    #: Reservoir index of each row of ``current`` (rows are in the order of their values, see
    #: :func:`_content_order`).
    current_rows: NDArray[np.intp]

    @property
    def with_model(self) -> bool:
        return any(c.name.startswith("model_") for c in self.columns)


def _candidates(base: Profile, cur: Profile) -> list[Column]:
    bv, cv = base.reservoir.values, cur.reservoir.values
    out = [
        Column(s.name, s.label, s.more, s.less, s.scale == "log", s.lo)
        for s in PROPERTIES
        if s.name in bv and s.name in cv
    ]
    return out + [c for c in _MODEL_COLUMNS if c.name in bv and c.name in cv]


def _content_order(profile: Profile, columns: Sequence[Column]) -> NDArray[np.intp]:
    """The reservoir's rows in the order of their values (first column first; sampling keys
    break ties).

    The classifier's folds and subsamples are seeded draws over row positions, so the rows must
    come in an order that depends on the images alone. Reservoir order does not: the sampling
    keys hash the files' paths, so the same images in another folder would be dealt into other
    folds and could get another verdict (the contamination p-value of one batch ranged from
    1/3000 to 1/300 with the folder's name before this).
    """
    res = profile.reservoir
    return np.lexsort((res.keys, *(res.values[c.name] for c in reversed(columns))))


def domain_features(base: Profile, cur: Profile) -> DomainFeatures | None:
    """The matrices of the domain score, or ``None`` with too few images or no usable column."""
    columns = _candidates(base, cur)
    if not columns or len(base.reservoir) < MIN_ROWS or len(cur.reservoir) < MIN_ROWS:
        return None
    base_rows = _content_order(base, columns)
    cur_rows = _content_order(cur, columns)
    b = np.column_stack([base.reservoir.values[c.name][base_rows] for c in columns])
    c = np.column_stack([cur.reservoir.values[c.name][cur_rows] for c in columns])
    b, c = b.astype(np.float64), c.astype(np.float64)
    finite_b, finite_c = np.isfinite(b), np.isfinite(c)
    # Missing values become the baseline median (a column never finite on a side is dropped).
    keep = finite_b.any(axis=0) & finite_c.any(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fill = np.nanmedian(np.where(finite_b, b, np.nan), axis=0)
    fill = np.where(np.isfinite(fill), fill, 0.0)
    b = np.where(finite_b, b, fill)
    c = np.where(finite_c, c, fill)
    # Columns with no spread in either sample carry no information (e.g. a fixed image size).
    keep &= np.ptp(np.vstack([b, c]), axis=0) > 0
    if not keep.any():
        return None
    kept = tuple(col for col, k in zip(columns, keep.tolist(), strict=True) if k)
    b, c = b[:, keep], c[:, keep]
    log = np.array([col.log for col in kept])
    floor = np.array([max(col.lo, 1e-12) for col in kept])

    def transform(values: NDArray[np.float64]) -> NDArray[np.float64]:
        out = values.copy()
        out[:, log] = np.log(np.maximum(values[:, log], floor[log]))
        return out

    return DomainFeatures(kept, transform(b), transform(c), b, c, cur_rows)


def _top_labels(features: DomainFeatures, weights: list[float], n: int = 3) -> list[str]:
    """The values with the largest weights (a value's square counts towards the value)."""
    d = len(features.columns)
    size = [
        abs(weights[i]) + (abs(weights[i + d]) if len(weights) >= 2 * d else 0.0) for i in range(d)
    ]
    order = sorted(range(d), key=lambda i: -size[i])[:n]
    return [features.columns[i].label for i in order]


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def domain_candidate(features: DomainFeatures, config: DriftConfig) -> Candidate:
    """Can a classifier tell the batch from the baseline (cross-validated AUC)?"""
    detector = DomainClassifierDetector(
        max_reference=DOMAIN_MAX_REFERENCE, max_current=DOMAIN_MAX_CURRENT, seed=config.seed
    )
    result = detector.fit(features.baseline).test(features.current)
    auc = float(result.effect_size)
    weights = [float(w) for w in result.details["feature_weights"]]
    top = _top_labels(features, weights)
    names = [c.name for c in features.columns]
    what = "image properties and model outputs" if features.with_model else "image properties"

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
        role="detection",
        name="domain",
        label=f"domain classifier on {what}",
        family="domain",
        unit="AUC",
        baseline=0.5,
        current=auc,
        test="Domain classifier (linear discriminant, 5-fold CV, fold-wise Mann-Whitney, "
        "Bonferroni over folds)",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=max(auc - 0.5, 0.0),
        effect_unit="cross-validated AUC minus 0.5 (0 = indistinguishable, 0.5 = all told apart)",
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=None,
        sentence=sentence,
        details=DomainDetails(
            auc=auc,
            features=names,
            feature_weights=dict(zip(names, weights, strict=True)),
            fold_auc=[float(v) for v in result.details.get("fold_auc", [])],
            n_reference_used=_optional_int(result.details.get("n_reference_used")),
            n_current_used=_optional_int(result.details.get("n_current_used")),
        ),
    )


def contamination_detector(config: DriftConfig) -> ContaminationDetector:
    """The detector behind the ``contamination`` metric and the atypical-image ranking."""
    return ContaminationDetector(
        gamma=CONTAMINATION_GAMMA,
        max_reference=CONTAMINATION_MAX_REFERENCE,
        max_current=CONTAMINATION_MAX_CURRENT,
        n_permutations=CONTAMINATION_PERMUTATIONS,
        seed=config.seed,
    )


def contamination_candidate(features: DomainFeatures, config: DriftConfig) -> Candidate:
    """Is a part of the batch new: more images beyond the baseline's high quantile than chance?"""
    result = contamination_detector(config).fit(features.baseline).test(features.current)
    d = result.details
    share_cur, share_ref = float(d["share_current_above"]), float(d["share_reference_above"])
    excess = float(result.effect_size)
    top = _top_labels(features, [float(w) for w in d["feature_weights"]])
    level = round(100 * (1 - CONTAMINATION_GAMMA))

    def sentence() -> str:
        clues = f" (mostly by {', '.join(top)})" if top else ""
        return (
            f"{share_cur:.0%} of the batch images lie beyond the {level}th percentile of the "
            f"domain score among baseline images, where {share_ref:.0%} of baseline images "
            f"lie: about {excess:.0%} of the batch looks new{clues}."
        )

    return Candidate(
        role="detection",
        name="contamination",
        label="share of atypical images (partial contamination)",
        family="contamination",
        unit="share of images",
        baseline=share_ref,
        current=share_cur,
        test=f"Share beyond the baseline's {level}th percentile of a cross-fitted domain score, "
        "within-fold permutation null",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=excess,
        effect_unit=f"excess share of the batch beyond the baseline's {level}th percentile of "
        "the domain score (estimated share of the batch that is new)",
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=None,
        sentence=sentence,
        proportions=(share_ref, share_cur),
        details=ContaminationDetails(
            gamma=float(d["gamma"]),
            share_current_above=share_cur,
            share_reference_above=share_ref,
            n_current_above=int(d["n_current_above"]),
            null_mean_current_above=float(d["null_mean_current_above"]),
            n_permutations=int(d["n_permutations"]),
            n_reference_used=int(d["n_reference_used"]),
            n_current_used=int(d["n_current_used"]),
        ),
    )
