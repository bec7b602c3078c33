"""Output metrics of a comparison: what the model says, and how right it is when labels exist.

With a model in both profiles, four more :class:`Candidate` records join the same family-wise
correction as the input metrics:

- ``confidence`` (family ``confidence``): Kolmogorov-Smirnov on per-image top-1 probabilities;
  effect = shift of the mean confidence (the original rule, > 0.1, is the ``medium`` band);
- ``class_mix`` (family ``class_mix``): G-test with a Monte-Carlo permutation null on the
  predicted-class counts (valid with small counts); effect = Wasserstein distance between the
  class distributions, with a 0/1 ground distance (= total variation) unless a class-cost matrix
  is configured (the original rule, > 0.15, is the ``medium`` band);
- ``outputs`` (family ``outputs``): black-box shift detection, per-class KS on the probability
  vectors with a Bonferroni correction; effect = the largest per-class KS distance D;
- ``accuracy`` (family ``accuracy``, only when both sides have labels matching the class names):
  Fisher's exact test on correct / wrong counts; effect = change of accuracy.

:func:`model_summary` gives the per-side view a report shows: prediction mix, confidence
distribution, low-confidence share and, with labels, accuracy, per-class recall and precision,
confusion matrix and expected calibration error.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from visiondrift.detectors.bbsd import BBSDDetector
from visiondrift.detectors.chi_square import ChiSquareDetector
from visiondrift.detectors.fisher import FisherExactDetector, Proportion
from visiondrift.detectors.ks import KSDetector
from visiondrift.drift._config import DriftConfig
from visiondrift.drift._details import (
    AccuracyDetails,
    ClassMixDetails,
    ClassShift,
    ConfidenceDetails,
    ConfidenceHistogram,
    LabelMetrics,
    ModelOutputSummary,
    OutputsDetails,
)
from visiondrift.drift._input import (
    Candidate,
    baseline_draw,
    fisher_resampler,
    ks_resampler,
    repeated,
)
from visiondrift.errors import IncompatibleProfilesError
from visiondrift.profiles import Profile
from visiondrift.profiles.model_summary import CONFIDENCE_BINS, ModelSummary

__all__ = [
    "ECE_BINS",
    "accuracy_candidates",
    "class_mix_candidates",
    "confidence_candidates",
    "label_metrics",
    "model_summary",
    "outputs_candidates",
]

#: Equal-width confidence bins of the expected calibration error.
ECE_BINS = 10


def _models(base: Profile, cur: Profile) -> tuple[ModelSummary, ModelSummary] | None:
    if base.model is None or cur.model is None:
        return None
    if base.model.class_names != cur.model.class_names:
        raise IncompatibleProfilesError(
            "The two profiles were made with models of different classes "
            f"({list(base.model.class_names)} vs {list(cur.model.class_names)}); their outputs "
            "are not comparable. Profile the current images with the baseline's model."
        )
    return base.model, cur.model


def label_metrics(profile: Profile) -> LabelMetrics | None:
    """Accuracy, per-class recall / precision, confusion matrix and ECE from the reservoir.

    Only images whose label is one of the model's class names count; ``None`` when there are
    none (no labels, or folder names that are not class names).
    """
    if profile.model is None or "model_class" not in profile.reservoir.values:
        return None
    names = profile.model.class_names
    index = {name: i for i, name in enumerate(names)}
    labels = profile.reservoir.labels
    keep = np.array([lab is not None and lab in index for lab in labels], dtype=bool)
    n_labelled = sum(lab is not None for lab in labels)
    if not keep.any():
        return None
    y = np.array([index[lab] for lab in labels if lab is not None and lab in index], dtype=int)
    pred = profile.reservoir.values["model_class"][keep].astype(int)
    conf = profile.reservoir.values["model_confidence"][keep]
    k = len(names)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    correct = y == pred
    diag = np.diag(confusion)
    rows, cols = confusion.sum(axis=1), confusion.sum(axis=0)
    recall = {names[i]: float(diag[i] / rows[i]) for i in range(k) if rows[i]}
    precision = {names[i]: float(diag[i] / cols[i]) for i in range(k) if cols[i]}
    bins = np.minimum((conf * ECE_BINS).astype(int), ECE_BINS - 1)
    ece = 0.0
    for b in range(ECE_BINS):
        sel = bins == b
        if sel.any():
            ece += float(sel.sum()) / conf.size * abs(float(correct[sel].mean() - conf[sel].mean()))
    return LabelMetrics(
        n=int(keep.sum()),
        n_correct=int(correct.sum()),
        n_labels_not_classes=int(n_labelled - keep.sum()),
        accuracy=float(correct.mean()),
        recall=recall,
        precision=precision,
        confusion_matrix=confusion.tolist(),
        expected_calibration_error=ece,
        ece_bins=ECE_BINS,
    )


def model_summary(profile: Profile) -> ModelOutputSummary | None:
    """What the model said about one side of a comparison, for the report."""
    model = profile.model
    if model is None:
        return None
    conf = profile.reservoir.values.get("model_confidence", np.zeros(0))
    percentiles = (
        {str(q): float(np.percentile(conf, q)) for q in (1, 5, 25, 50, 75, 95, 99)}
        if conf.size
        else {}
    )
    return ModelOutputSummary(
        description=dict(model.description),
        class_names=list(model.class_names),
        n=model.n,
        predicted=dict(model.predicted.counts),
        frequencies=model.frequencies,
        confidence_mean=model.confidence.mean if model.n else None,
        confidence_std=model.confidence.std if model.n else None,
        confidence_percentiles=percentiles,
        confidence_histogram=ConfidenceHistogram(
            edges=np.linspace(0.0, 1.0, CONFIDENCE_BINS + 1).tolist(),
            counts=model.confidence_hist.tolist(),
        ),
        low_confidence_share=model.low_confidence_share,
        low_confidence_threshold=profile.config.low_confidence,
        confidence_per_class={k: v.mean for k, v in model.class_confidence.items()},
        labels=label_metrics(profile),
    )


def _confidence_candidate(
    base: Profile, cur: Profile, mb: ModelSummary, mc: ModelSummary
) -> Candidate | None:
    # A batch of only unusable images has a model summary but no per-image model values.
    empty = np.zeros(0, dtype=np.float64)
    b = base.reservoir.values.get("model_confidence", empty)
    c = cur.reservoir.values.get("model_confidence", empty)
    if b.size < 2 or c.size < 1:
        return None
    result = KSDetector().fit(b).test(c)
    b_mean, c_mean = mb.confidence.mean, mc.confidence.mean
    sd = float(np.std(b, ddof=1))

    def sentence() -> str:
        if c_mean < b_mean:
            return (
                f"The model is less sure: mean confidence fell from {b_mean:.2f} to {c_mean:.2f}."
            )
        return f"The model is more sure: mean confidence rose from {b_mean:.2f} to {c_mean:.2f}."

    return Candidate(
        name="confidence",
        label="model confidence",
        family="confidence",
        unit="probability",
        baseline=b_mean,
        current=c_mean,
        test="Kolmogorov-Smirnov on per-image top-1 probabilities",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=c_mean - b_mean,
        effect_unit="change of the mean top-1 probability",
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=abs(c_mean - b_mean) / sd if sd > 0 else None,
        sentence=sentence,
        relative_change=(c_mean - b_mean) / b_mean if b_mean else None,
        resample=ks_resampler(b, c),
        details=ConfidenceDetails(
            ks_method=result.method,
            baseline_low_confidence_share=mb.low_confidence_share,
            current_low_confidence_share=mc.low_confidence_share,
            baseline_margin_mean=mb.margin.mean,
            current_margin_mean=mc.margin.mean,
            baseline_entropy_mean=mb.entropy.mean,
            current_entropy_mean=mc.entropy.mean,
        ),
    )


def _class_phrase(name: str, before: float, after: float) -> str:
    shares = f"({before:.0%} → {after:.0%})"
    if before == 0:
        return f"'{name}' is now predicted for {after:.0%} of images (never in the baseline)"
    if after == 0:
        return f"'{name}' is no longer predicted {shares}"
    ratio = after / before
    if ratio >= 1:
        return f"'{name}' is predicted {ratio:.1f}x as often {shares}"
    return f"'{name}' is predicted {1 / ratio:.1f}x less often {shares}"


def _class_mix_candidate(
    mb: ModelSummary, mc: ModelSummary, config: DriftConfig
) -> Candidate | None:
    names = mb.class_names
    b = np.array([mb.predicted.counts.get(n, 0) for n in names], dtype=np.int64)
    c = np.array([mc.predicted.counts.get(n, 0) for n in names], dtype=np.int64)
    keep = np.flatnonzero(b + c)
    if keep.size < 2 or b.sum() == 0 or c.sum() == 0:
        return None
    categories = [names[i] for i in keep]
    cost = None
    if config.class_cost is not None:
        matrix = np.asarray(config.class_cost, dtype=np.float64)
        if matrix.shape != (len(names), len(names)):
            raise IncompatibleProfilesError(
                f"The class-cost matrix is {matrix.shape[0]} x {matrix.shape[1]} but the model "
                f"has {len(names)} classes ({list(names)}); give one row and column per class."
            )
        cost = matrix[np.ix_(keep, keep)]
    detector = ChiSquareDetector(
        statistic="g",
        n_permutations=config.permutations,
        categories=categories,
        cost=cost,
        seed=config.seed,
    )
    result = detector.fit({n: int(b[i]) for i, n in zip(keep, categories, strict=True)}).test(
        {n: int(c[i]) for i, n in zip(keep, categories, strict=True)}
    )
    pb, pc = b / b.sum(), c / c.sum()
    b_mix = dict(zip(names, pb.tolist(), strict=True))
    c_mix = dict(zip(names, pc.tolist(), strict=True))
    ground = "class-cost matrix" if cost is not None else "0/1 (every class equally far apart)"

    def resample_one(k: int, rng: np.random.Generator) -> float:
        xb = rng.multinomial(baseline_draw(k, int(b.sum())), pb[keep])
        xc = rng.multinomial(k, pc[keep])
        seed = int(rng.integers(2**31))
        again = ChiSquareDetector(
            statistic="g",
            n_permutations=config.permutations,
            categories=categories,
            cost=cost,
            seed=seed,
        )
        fitted = again.fit({n: int(v) for n, v in zip(categories, xb, strict=True)})
        return fitted.test({n: int(v) for n, v in zip(categories, xc, strict=True)}).p_value

    def sentence() -> str:
        order = sorted(names, key=lambda n: -abs(c_mix[n] - b_mix[n]))[:2]
        parts = "; ".join(_class_phrase(n, b_mix[n], c_mix[n]) for n in order)
        return f"The mix of predicted classes changed: {parts}."

    return Candidate(
        name="class_mix",
        label="predicted class mix",
        family="class_mix",
        unit="share of images",
        baseline=None,
        current=None,
        test="G-test on predicted-class counts with a Monte-Carlo permutation null",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=result.effect_size,
        effect_unit=f"Wasserstein distance between class distributions, ground distance {ground}"
        + (" (= total variation, share of images)" if cost is None else ""),
        n_baseline=int(b.sum()),
        n_current=int(c.sum()),
        standardised=None,
        sentence=sentence,
        resample=repeated(resample_one),
        details=ClassMixDetails(
            baseline_mix=b_mix,
            current_mix=c_mix,
            ground_distance="cost matrix" if cost is not None else "0/1",
            statistic_kind="g",
            total_variation=float(result.details["total_variation"]),
            jensen_shannon=float(result.details["jensen_shannon"]),
            psi=float(result.details["psi"]),
            wasserstein=float(result.details["wasserstein"]),
        ),
    )


def _outputs_candidate(base: Profile, cur: Profile, names: tuple[str, ...]) -> Candidate | None:
    b = base.reservoir.vectors.get("probs")
    c = cur.reservoir.vectors.get("probs")
    if b is None or c is None or b.shape[0] < 2 or c.shape[0] < 1 or b.shape[1] != c.shape[1]:
        return None
    class_names = list(names) if len(names) == b.shape[1] else None
    result = BBSDDetector(class_names=class_names).fit(b).test(c)
    top = str(result.details["most_shifted_class"])
    per_class = {
        str(d["class"]): ClassShift(
            class_name=str(d["class"]),
            statistic=float(d["statistic"]),
            p_value=float(d["p_value"]),
            p_value_adjusted=float(d["p_value_adjusted"]),
            direction=_direction(str(d["direction"])),
        )
        for d in result.details["per_class"]
    }
    direction = per_class[top].direction

    def resample_one(k: int, rng: np.random.Generator) -> float:
        rows_b = b[rng.integers(0, b.shape[0], size=baseline_draw(k, b.shape[0]))]
        rows_c = c[rng.integers(0, c.shape[0], size=k)]
        return BBSDDetector(class_names=class_names).fit(rows_b).test(rows_c).p_value

    def sentence() -> str:
        where = {"current larger": "higher", "current smaller": "lower"}.get(direction, "shifted")
        return (
            f"The model's output probabilities shifted (black-box shift detection): the "
            f"probability of '{top}' moved most, {where} in the current images "
            f"(KS D = {result.effect_size:.2f})."
        )

    return Candidate(
        name="outputs",
        label="model output probabilities",
        family="outputs",
        unit="share of images",
        baseline=None,
        current=None,
        test="Black-box shift detection: per-class KS, Bonferroni over classes",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=result.effect_size,
        effect_unit=result.effect_unit,
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=None,
        sentence=sentence,
        resample=repeated(resample_one),
        details=OutputsDetails(most_shifted_class=top, per_class=list(per_class.values())),
    )


def _accuracy_candidate(base: Profile, cur: Profile) -> Candidate | None:
    lb, lc = label_metrics(base), label_metrics(cur)
    if lb is None or lc is None:
        return None
    nb, nc = lb.n, lc.n
    kb, kc = lb.n_correct, lc.n_correct
    res = FisherExactDetector().fit(Proportion(kb, nb)).test(Proportion(kc, nc))
    ab, ac = kb / nb, kc / nc

    def sentence() -> str:
        verb = "fell" if ac < ab else "rose"
        return f"Accuracy {verb} from {ab:.0%} to {ac:.0%} (on {nb} and {nc} labelled images)."

    return Candidate(
        name="accuracy",
        label="accuracy on labelled images",
        family="accuracy",
        unit="share of images",
        baseline=ab,
        current=ac,
        test="Fisher's exact test on correct / wrong counts",
        statistic=res.statistic,
        p_value=res.p_value,
        effect_size=ac - ab,
        effect_unit="change of accuracy (share of labelled images)",
        n_baseline=nb,
        n_current=nc,
        standardised=None,
        sentence=sentence,
        proportions=(ab, ac),
        resample=fisher_resampler(ab, nb, ac),
        details=AccuracyDetails(baseline=lb, current=lc),
    )


def _direction(word: str) -> Literal["current larger", "current smaller", "none"]:
    if word == "current larger":
        return "current larger"
    if word == "current smaller":
        return "current smaller"
    return "none"


def confidence_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The model's top-1 confidence (family ``confidence``), with a model on both sides."""
    models = _models(base, cur)
    found = None if models is None else _confidence_candidate(base, cur, *models)
    return [] if found is None else [found]


def class_mix_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The predicted-class mix (family ``class_mix``), with a model on both sides."""
    models = _models(base, cur)
    found = None if models is None else _class_mix_candidate(*models, config)
    return [] if found is None else [found]


def outputs_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """Black-box shift detection on the output probabilities (family ``outputs``)."""
    models = _models(base, cur)
    found = None if models is None else _outputs_candidate(base, cur, models[0].class_names)
    return [] if found is None else [found]


def accuracy_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """Accuracy on labelled images (family ``accuracy``), with labels on both sides."""
    found = None if _models(base, cur) is None else _accuracy_candidate(base, cur)
    return [] if found is None else [found]
