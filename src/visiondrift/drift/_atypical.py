"""The report's atypical images: the batch images that show the change.

Images are ranked by the domain score of :mod:`visiondrift.drift._domain`: a cross-fitted
estimate of how much more likely an image is in the batch than in the baseline. That points at
the images the change made unusual, not at those that were already rare in the baseline (a
darkening leaves a naturally dark photo about as common as before, and makes the darkened
bright photos new). Only images beyond the baseline's own ``1 - CONTAMINATION_GAMMA`` quantile
of the score are listed, each with why it was picked: its score, the share of baseline images
it outscores, and its per-image values that lie furthest on the side the batch moved to,
against the baseline median.

Without a domain score (too few images per side) the ranking falls back to absolute rarity
on the drifted metrics (:func:`by_rarity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats

from visiondrift.drift._config import DriftConfig
from visiondrift.drift._details import OutputsDetails
from visiondrift.drift._domain import (
    CONTAMINATION_GAMMA,
    DomainFeatures,
    contamination_detector,
    domain_features,
)
from visiondrift.drift._model import AtypicalImage, MetricResult
from visiondrift.measure.properties import PROPERTIES
from visiondrift.profiles import Profile

__all__ = ["MAX_REASONS", "atypical_images", "balanced_probability", "by_domain", "by_rarity"]

_SPECS = {spec.name: spec for spec in PROPERTIES}
#: Per-image values named for each image, besides its domain score.
MAX_REASONS: Final = 3
#: L2 penalty on the slope of the score-to-probability calibration (keeps it finite when the
#: two samples separate perfectly).
_CALIBRATION_PENALTY: Final = 1e-3


def atypical_images(
    base: Profile, cur: Profile, drifted: Sequence[MetricResult], config: DriftConfig
) -> list[AtypicalImage]:
    """The report's atypical images: by domain score, or by rarity without one; none without
    drift."""
    if not drifted or config.n_atypical <= 0 or len(cur.reservoir) == 0:
        return []
    features = domain_features(base, cur)
    if features is None:
        return by_rarity(base, cur, drifted, config.n_atypical)
    return by_domain(cur, features, config)


def balanced_probability(
    scores: NDArray[np.float64], labels: NDArray[np.int64]
) -> tuple[float, float]:
    """Slope and intercept mapping a score to P(batch | score) with equal priors (Platt).

    A one-dimensional logistic regression of the labels on out-of-fold scores, each sample
    weighted by the inverse of its size, so that 0.5 means "as likely in either" and ``p``
    means the image is ``p / (1 - p)`` times as likely in the batch as in the baseline.
    """
    weight = np.where(
        labels == 1, 0.5 / max(int(labels.sum()), 1), 0.5 / max(int((labels == 0).sum()), 1)
    )
    sign = np.where(labels == 1, 1.0, -1.0)
    spread = float(np.std(scores)) or 1.0
    x = scores / spread

    def loss(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        margin = sign * (theta[0] * x + theta[1])
        value = float(np.sum(weight * np.logaddexp(0.0, -margin)))
        value += _CALIBRATION_PENALTY * float(theta[0]) ** 2
        g = -weight * sign * special.expit(-margin)
        grad = np.array(
            [float(np.sum(g * x)) + 2 * _CALIBRATION_PENALTY * theta[0], float(np.sum(g))]
        )
        return value, grad

    fit = optimize.minimize(loss, np.zeros(2), jac=True, method="L-BFGS-B")
    return float(fit.x[0]) / spread, float(fit.x[1])


@dataclass(frozen=True)
class _Ranked:
    scores: NDArray[np.float64]
    baseline_scores: NDArray[np.float64]
    threshold: float
    weights: NDArray[np.float64]
    probability: NDArray[np.float64]


def _rank(features: DomainFeatures, config: DriftConfig) -> _Ranked:
    """Domain score of every batch image: out of fold for the rows the classifier used, by the
    mean fold model for the others (which no fold saw)."""
    detector = contamination_detector(config).fit(features.baseline)
    found = detector.out_of_fold(features.current)
    scores = found.score(features.current)
    scores[found.current_rows] = found.current_scores
    ref = found.reference_scores
    k = max(1, int(np.floor(CONTAMINATION_GAMMA * ref.size)))
    threshold = float(np.sort(ref)[ref.size - k])
    slope, intercept = balanced_probability(np.r_[ref, found.current_scores], found.labels)
    probability = special.expit(slope * scores + intercept)
    return _Ranked(scores, ref, threshold, _shift_weights(features), probability)


def _shift_weights(features: DomainFeatures) -> NDArray[np.float64]:
    """How far, and which way, the batch moved on each value, per unit of the value.

    The standardised mean difference (batch minus baseline, over the pooled standard deviation)
    divided by that deviation: an image's ``weight * (value - baseline median)`` is positive when
    it lies on the side the batch moved to, and large when it lies far on a value that moved
    much. The reasons name the values with the largest such terms; unlike the classifier's own
    coefficients, these do not trade correlated values off against each other.
    """
    spread = np.vstack([features.baseline, features.current]).std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    shift = (features.current.mean(axis=0) - features.baseline.mean(axis=0)) / spread
    weights: NDArray[np.float64] = shift / spread
    return weights


def by_domain(cur: Profile, features: DomainFeatures, config: DriftConfig) -> list[AtypicalImage]:
    """Batch images beyond the baseline's high quantile of the domain score, highest first."""
    ranked = _rank(features, config)
    order = np.argsort(-ranked.scores, kind="stable")[: config.n_atypical]
    centre = np.median(features.baseline, axis=0)
    centre_raw = np.median(features.baseline_raw, axis=0)
    out = []
    for i in order:
        if ranked.scores[i] <= ranked.threshold:
            break
        beaten = float(np.mean(ranked.baseline_scores < ranked.scores[i]))
        than = "every baseline image" if beaten == 1.0 else f"{_percent(beaten)} of baseline images"
        reasons = [f"domain score {ranked.probability[i]:.2f}, higher than {than}"]
        contribution = ranked.weights * (features.current[i] - centre)
        for j in np.argsort(-contribution)[:MAX_REASONS]:
            if contribution[j] <= 0:
                break
            col = features.columns[j]
            value, median = float(features.current_raw[i, j]), float(centre_raw[j])
            if value == median:
                continue
            word = col.more if value > median else col.less
            reasons.append(f"{col.label} {value:.3g} vs baseline median {median:.3g}: {word}")
        out.append(
            AtypicalImage(
                name=cur.reservoir.names[int(features.current_rows[i])],
                score=float(ranked.probability[i]),
                reasons=reasons,
                ranking="domain score",
            )
        )
    return out


def _percent(share: float) -> str:
    """A share as a percentage that never rounds up to a claim it does not meet."""
    value = np.floor(share * 1000) / 10
    return f"{value:.0f}%" if value >= 10 or value == int(value) else f"{value:.1f}%"


@dataclass(frozen=True)
class _Column:
    """One per-image score of the atypical-image ranking: baseline and current values."""

    label: str
    baseline: NDArray[np.float64]
    current: NDArray[np.float64]
    #: +1: larger than the baseline is atypical; -1: smaller is.
    direction: float


def _output_columns(base: Profile, cur: Profile, drifted: Sequence[MetricResult]) -> list[_Column]:
    """Output outlier scores, when a model-output metric drifted: low confidence, and the
    probability of the class whose output distribution moved most (black-box shift detection)."""
    names = {m.name for m in drifted}
    out: list[_Column] = []
    if not names & {"confidence", "outputs", "class_mix", "embedding"}:
        return out
    bv, cv = base.reservoir.values, cur.reservoir.values
    if "model_confidence" in bv and "model_confidence" in cv:
        confidence = next((m for m in drifted if m.name == "confidence"), None)
        # Less sure is atypical, unless the model became more sure on the whole batch.
        sign = 1.0 if confidence is not None and (confidence.change or 0.0) > 0 else -1.0
        out.append(
            _Column("model confidence", bv["model_confidence"], cv["model_confidence"], sign)
        )
    outputs = next((m for m in drifted if m.name == "outputs"), None)
    pb, pc = base.reservoir.vectors.get("probs"), cur.reservoir.vectors.get("probs")
    details = None if outputs is None else outputs.details
    if (
        isinstance(details, OutputsDetails)
        and pb is not None
        and pc is not None
        and base.model is not None
    ):
        top = details.most_shifted_class
        classes = list(base.model.class_names)
        if top in classes and pb.shape[1] == len(classes) == pc.shape[1]:
            k = classes.index(top)
            words = {d.class_name: d.direction for d in details.per_class}
            word = words.get(top, "current larger")
            direction = -1.0 if word == "current smaller" else 1.0
            out.append(
                _Column(
                    f"probability of '{top}'",
                    pb[:, k].astype(np.float64),
                    pc[:, k].astype(np.float64),
                    direction,
                )
            )
    return out


def by_rarity(
    base: Profile, cur: Profile, drifted: Sequence[MetricResult], n: int
) -> list[AtypicalImage]:
    """Current images furthest from the baseline, in the direction of each drifted property,
    and (with a model whose outputs drifted) by output outlier score."""
    columns = [
        _Column(
            _SPECS[m.name].label,
            base.values(m.name),
            cur.values(m.name),
            1.0 if (m.change or 0.0) >= 0 else -1.0,
        )
        for m in drifted
        if m.name in _SPECS and m.name in cur.reservoir.values and m.name in base.reservoir.values
    ]
    columns += [
        c for c in _output_columns(base, cur, drifted) if c.current.size == len(cur.reservoir)
    ]
    columns = [c for c in columns if c.baseline.size > 0]
    if not columns or len(cur.reservoir) == 0 or n <= 0:
        return []
    scores = np.zeros((len(cur.reservoir), len(columns)))
    centres = []
    for j, col in enumerate(columns):
        centre = float(np.median(col.baseline))
        spread = (
            float(stats.median_abs_deviation(col.baseline, scale="normal"))
            or float(np.std(col.baseline))
            or 1.0
        )
        centres.append(centre)
        scores[:, j] = col.direction * (col.current - centre) / spread
    best = np.argsort(-scores.max(axis=1), kind="stable")[:n]
    out = []
    for i in best:
        if scores[i].max() <= 0:
            break
        order = np.argsort(-scores[i])[:3]
        reasons = []
        for j in order:
            if scores[i, j] <= 0:
                continue
            col = columns[j]
            value = float(col.current[i])
            reasons.append(
                f"{col.label} {value:.3g} vs baseline median {centres[j]:.3g} "
                f"({scores[i, j]:.1f} robust SD)"
            )
        out.append(
            AtypicalImage(
                name=cur.reservoir.names[i],
                score=float(scores[i].max()),
                reasons=reasons,
                ranking="robust distance",
            )
        )
    return out
