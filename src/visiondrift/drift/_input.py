"""Input metrics of a comparison: pixel statistics, image properties, integrity, category mixes.

Each function returns :class:`Candidate` records: a test on per-image values (never on pooled
pixels) with its raw p-value, and an effect size in the metric family's unit. The engine then
applies the family-wise correction and the severity bands.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from visiondrift.decode import BAD_FILE_REASONS
from visiondrift.detectors.chi_square import ChiSquareDetector
from visiondrift.detectors.fisher import FisherExactDetector, Proportion
from visiondrift.detectors.ks import KSDetector, ks_pvalues
from visiondrift.drift._config import (
    ABSOLUTE_SCALE_FLOORS,
    RELATIVE_SCALE_FLOORS,
    TEXTURE_PROPERTIES,
    DriftConfig,
)
from visiondrift.drift._details import (
    DistributionDetails,
    MetricDetails,
    MetricFamily,
    MixDetails,
    ShareDetails,
)
from visiondrift.drift._explain import (
    sentence_categorical,
    sentence_integrity,
    sentence_value,
)
from visiondrift.drift._model import Role
from visiondrift.measure.properties import PROPERTIES, PropertySpec
from visiondrift.profiles import Profile
from visiondrift.profiles.sketches import CategoryCounts

__all__ = [
    "DETECTION_CATEGORIES",
    "DETECTION_PROPERTIES",
    "NEEDED_MAX_BASELINE",
    "Candidate",
    "Resampler",
    "baseline_draw",
    "category_candidates",
    "fisher_resampler",
    "integrity_candidates",
    "ks_resampler",
    "property_candidate",
    "property_candidates",
    "repeated",
]

#: Properties that tell that the storage changed, not how the images look (role ``detection``):
#: the file size, and the JPEG quality read from the quantisation tables (what compression does
#: to the pixels is measured by ``blockiness``, an effect).
DETECTION_PROPERTIES: Final = frozenset({"file_size", "jpeg_quality"})
#: Category mixes that tell that the storage changed (role ``detection``); the label mix is an
#: effect.
DETECTION_CATEGORIES: Final = frozenset({"format_mix", "mode_mix"})

#: ``resample(k, draws, rng)``: the p-values of the metric's own test on ``draws`` current
#: batches of ``k`` images, each against a baseline of :func:`baseline_draw` images, all drawn
#: with replacement from the stored samples. Used to estimate how many images would settle an
#: inconclusive effect.
Resampler = Callable[[int, int, np.random.Generator], NDArray[np.float64]]


#: Largest baseline side of a resampled batch below ``k`` images (it grows with ``k`` beyond).
#: A smaller baseline than the real one only lowers the simulated power, so the estimate of the
#: images needed errs on the side of more images; it keeps the simulation fast.
NEEDED_MAX_BASELINE: Final = 1000


def baseline_draw(k: int, n_baseline: int) -> int:
    """Baseline images of a resampled batch of ``k`` current images."""
    return max(k, min(n_baseline, NEEDED_MAX_BASELINE))


def _draw(values: NDArray[Any], k: int, draws: int, rng: np.random.Generator) -> NDArray[Any]:
    """``draws`` resamples of ``k`` values, one per column."""
    return values[rng.integers(0, values.shape[0], size=(k, draws))]


def ks_resampler(base: NDArray[np.float64], cur: NDArray[np.float64]) -> Resampler:
    """Resampled Kolmogorov-Smirnov test (the test of the property and confidence metrics, with
    :class:`KSDetector`'s defaults), vectorised over the draws."""
    detector = KSDetector()

    def run(k: int, draws: int, rng: np.random.Generator) -> NDArray[np.float64]:
        b = _draw(base, baseline_draw(k, base.size), draws, rng)
        c = _draw(cur, k, draws, rng)
        return ks_pvalues(b, c, detector.method, detector.exact_max_size)[1]

    return run


def repeated(test: Callable[[int, np.random.Generator], float]) -> Resampler:
    """A :data:`Resampler` from a function that runs one resampled test."""

    def run(k: int, draws: int, rng: np.random.Generator) -> NDArray[np.float64]:
        return np.array([test(k, rng) for _ in range(draws)], dtype=np.float64)

    return run


def fisher_resampler(share_b: float, n_b: int, share_c: float) -> Resampler:
    """Resampled Fisher exact test on two shares (unusable files, accuracy)."""
    detector = FisherExactDetector()

    def run(k: int, draws: int, rng: np.random.Generator) -> NDArray[np.float64]:
        nb = baseline_draw(k, n_b)
        xb, xc = rng.binomial(nb, share_b, size=draws), rng.binomial(k, share_c, size=draws)
        return np.array(
            [
                detector.fit(Proportion(b, nb)).test(Proportion(c, k)).p_value
                for b, c in zip(xb.tolist(), xc.tolist(), strict=True)
            ]
        )

    return run


_PIXEL_CHANNEL = {
    "brightness": "l",
    "contrast": "l",
    "mean_r": "r",
    "mean_g": "g",
    "mean_b": "b",
    "std_r": "r",
    "std_g": "g",
    "std_b": "b",
}


@dataclass
class Candidate:
    """A metric before the family-wise correction."""

    name: str
    label: str
    family: MetricFamily
    unit: str
    baseline: float | None
    current: float | None
    test: str
    statistic: float
    p_value: float
    effect_size: float
    effect_unit: str
    n_baseline: int
    n_current: int
    #: Standardised effect used to estimate the sample size that would settle the question.
    standardised: float | None
    sentence: Callable[[], str]
    relative_change: float | None = None
    #: What the metric's kind of test adds (see :mod:`visiondrift.drift._details`).
    details: MetricDetails = field(kw_only=True)
    #: Two proportions (baseline, current) for the sample-size estimate of a share.
    proportions: tuple[float, float] | None = None
    #: ``effect``: sets the severity; ``detection``: capped (see :mod:`visiondrift.drift._config`).
    role: Role = "effect"
    #: The metric's own test on resampled batches, for the images-needed estimate.
    resample: Resampler | None = None
    #: The effect that decides detection (reaching the ``low`` band) when it differs from
    #: ``effect_size``, which sets the severity (scale floors apply to the severity only).
    detection_effect: float | None = None


def _pooled(profile: Profile, channel: str) -> tuple[float, float]:
    stats_ = profile.channel(channel)
    if stats_ is None:
        return math.nan, math.nan
    return stats_.mean, stats_.std


def _w1_standardised(
    base: NDArray[np.float64], cur: NDArray[np.float64], spec: PropertySpec | None = None
) -> float:
    """Wasserstein-1 distance in baseline standard deviations (never dividing by less than 5% of
    the baseline median); with ``spec``, also with the scale floors of
    :data:`~visiondrift.drift._config.RELATIVE_SCALE_FLOORS` and ``ABSOLUTE_SCALE_FLOORS``, which
    set the severity but not the detection."""
    relative = RELATIVE_SCALE_FLOORS["default"]
    absolute = 0.0
    if spec is not None:
        relative = RELATIVE_SCALE_FLOORS.get(spec.family, relative)
        absolute = ABSOLUTE_SCALE_FLOORS.get(spec.name, 0.0)
    scale = max(
        float(np.std(base, ddof=1)) if base.size > 1 else 0.0,
        relative * abs(float(np.median(base))),
        absolute,
        1e-12,
    )
    return float(stats.wasserstein_distance(base, cur)) / scale


#: Percentile levels stored in a property metric's details (``baseline_quantiles`` and
#: ``current_quantiles``) for the report's distribution charts.
QUANTILE_LEVELS: Final = tuple(range(5, 100, 5))


def _quantiles(values: NDArray[np.float64]) -> list[float]:
    return [float(q) for q in np.percentile(values, QUANTILE_LEVELS)]


def property_candidate(
    spec: PropertySpec, base: Profile, cur: Profile, *, family: MetricFamily | None = None
) -> Candidate | None:
    """The Kolmogorov-Smirnov metric of one per-image value (a built-in property or a
    registered per-image metric), or ``None`` with fewer than 2 baseline or 1 current values.

    ``family`` overrides the family of ``spec`` (``texture`` for sharpness and noise)."""
    b = base.values(spec.name)
    c = cur.values(spec.name)
    if b.size < 2 or c.size < 1:
        return None
    result = KSDetector().fit(b).test(c)
    sd = float(np.std(b, ddof=1))
    standardised = abs(float(c.mean() - b.mean())) / sd if sd > 0 else None
    if spec.family in ("pixel_mean", "pixel_std"):
        channel = _PIXEL_CHANNEL[spec.name]
        index = 0 if spec.family == "pixel_mean" else 1
        b_val = _pooled(base, channel)[index]
        c_val = _pooled(cur, channel)[index]
        effect = c_val - b_val
        effect_unit = f"change of the pooled pixel {'mean' if index == 0 else 'std'}, 0-1 scale"
        centre = "mean" if index == 0 else "pooled spread"
    else:
        centre = "mean" if spec.unit == "share of pixels" else "median"
        b_val = float(np.mean(b) if centre == "mean" else np.median(b))
        c_val = float(np.mean(c) if centre == "mean" else np.median(c))
        sign = c_val - b_val if c_val != b_val else float(c.mean() - b.mean())
        effect = math.copysign(_w1_standardised(b, c, spec), sign)
        detection_effect = math.copysign(_w1_standardised(b, c), sign)
        effect_unit = "Wasserstein distance in baseline standard deviations"
    relative = (c_val - b_val) / b_val if b_val else None
    if spec.family in ("pixel_mean", "pixel_std"):
        detection_effect = effect

    def sentence() -> str:
        return sentence_value(
            label=spec.label,
            unit=spec.unit,
            family=spec.family,
            more=spec.more,
            less=spec.less,
            baseline=b_val,
            current=c_val,
            centre=centre,
        )

    return Candidate(
        name=spec.name,
        label=spec.label,
        family=family or ("texture" if spec.name in TEXTURE_PROPERTIES else spec.family),
        unit=spec.unit,
        baseline=b_val,
        current=c_val,
        test="Kolmogorov-Smirnov on per-image values",
        statistic=result.statistic,
        p_value=result.p_value,
        effect_size=effect,
        effect_unit=effect_unit,
        n_baseline=result.n_reference,
        n_current=result.n_current,
        standardised=standardised,
        sentence=sentence,
        relative_change=relative,
        role="detection" if spec.name in DETECTION_PROPERTIES else "effect",
        resample=ks_resampler(b, c),
        detection_effect=detection_effect,
        details=DistributionDetails(
            ks_method=result.method,
            baseline_mean=float(b.mean()),
            current_mean=float(c.mean()),
            # 5th..95th percentiles in steps of 5, for the report's distribution charts.
            baseline_quantiles=_quantiles(b),
            current_quantiles=_quantiles(c),
        ),
    )


def _share_candidate(
    name: str,
    label: str,
    what: str,
    bad_b: int,
    n_b: int,
    bad_c: int,
    n_c: int,
    reasons: Mapping[str, int],
) -> Candidate | None:
    if n_b == 0 or n_c == 0 or (bad_b == 0 and bad_c == 0):
        return None
    res = FisherExactDetector().fit(Proportion(bad_b, n_b)).test(Proportion(bad_c, n_c))
    sb, sc = bad_b / n_b, bad_c / n_c

    def sentence() -> str:
        return sentence_integrity(
            what=what, baseline_share=sb, current_share=sc, top_reasons=reasons
        )

    return Candidate(
        name=name,
        label=label,
        family="integrity",
        unit="share of files",
        baseline=sb,
        current=sc,
        test="Fisher's exact test on file counts",
        statistic=res.statistic,
        p_value=res.p_value,
        effect_size=sc - sb,
        effect_unit="difference in the share of files",
        n_baseline=n_b,
        n_current=n_c,
        standardised=None,
        sentence=sentence,
        proportions=(sb, sc),
        resample=fisher_resampler(sb, n_b, sc),
        details=ShareDetails(baseline_count=bad_b, current_count=bad_c),
    )


def _g_test(
    b: NDArray[np.int64], c: NDArray[np.int64], permutations: int, seed: int
) -> tuple[float, float]:
    """Statistic and p-value of the G-test with a Monte-Carlo permutation null
    (:class:`~visiondrift.detectors.chi_square.ChiSquareDetector`): the current sample drawn
    without replacement from the pooled images, valid whatever the counts."""
    categories = list(range(b.size))
    detector = ChiSquareDetector(
        statistic="g", n_permutations=permutations, categories=categories, seed=seed
    )
    fitted = detector.fit({i: int(v) for i, v in enumerate(b.tolist())})
    result = fitted.test({i: int(v) for i, v in enumerate(c.tolist())})
    return result.statistic, result.p_value


def _category_candidate(
    name: str, what: str, base: CategoryCounts, cur: CategoryCounts, config: DriftConfig
) -> Candidate | None:
    keys = sorted(set(base.counts) | set(cur.counts))
    nb, nc = base.total, cur.total
    if len(keys) < 2 or nb == 0 or nc == 0:
        return None
    b = np.array([base.counts.get(k, 0) for k in keys], dtype=np.int64)
    c = np.array([cur.counts.get(k, 0) for k in keys], dtype=np.int64)
    statistic, p = _g_test(b, c, config.permutations, config.seed)
    pb, pc = b / nb, c / nc

    def resample(k: int, draws: int, rng: np.random.Generator) -> NDArray[np.float64]:
        size_b = baseline_draw(k, int(nb))
        return np.array(
            [
                _g_test(
                    rng.multinomial(size_b, pb),
                    rng.multinomial(k, pc),
                    config.permutations,
                    int(rng.integers(2**31)),
                )[1]
                for _ in range(draws)
            ]
        )

    tv = 0.5 * float(np.abs(pb - pc).sum())
    b_mix = dict(zip(keys, pb.tolist(), strict=True))
    c_mix = dict(zip(keys, pc.tolist(), strict=True))

    def sentence() -> str:
        return sentence_categorical(what=what, baseline=b_mix, current=c_mix)

    return Candidate(
        name=name,
        label=f"{what} mix",
        family="categorical",
        unit="share of images",
        baseline=None,
        current=None,
        test="G-test with a Monte-Carlo permutation null",
        statistic=statistic,
        p_value=p,
        effect_size=tv,
        effect_unit="total variation distance",
        n_baseline=int(nb),
        n_current=int(nc),
        standardised=None,
        sentence=sentence,
        role="detection" if name in DETECTION_CATEGORIES else "effect",
        resample=resample,
        details=MixDetails(baseline_mix=b_mix, current_mix=c_mix),
    )


def property_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The built-in image properties (family ``pixel_mean``, ``pixel_std``, ``property``,
    ``texture``, ``size``): Kolmogorov-Smirnov on per-image values."""
    found = [property_candidate(spec, base, cur) for spec in PROPERTIES]
    return [c for c in found if c is not None]


def integrity_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The share of unusable files, and (with several reasons) the share of each reason
    (family ``integrity``): Fisher's exact test."""
    out: list[Candidate] = []
    share = _share_candidate(
        "bad_files",
        "unusable files",
        "could not be used",
        base.n_bad,
        base.n_files,
        cur.n_bad,
        cur.n_files,
        cur.bad_counts,
    )
    if share is not None:
        out.append(share)
    present = [r for r in BAD_FILE_REASONS if base.bad_counts.get(r, 0) + cur.bad_counts.get(r, 0)]
    # With a single reason the overall share test says it all: test each reason only when
    # there are several.
    for reason in present if len(present) > 1 else []:
        rb, rc = base.bad_counts.get(reason, 0), cur.bad_counts.get(reason, 0)
        cand = _share_candidate(
            f"bad_files_{reason}",
            f"files rejected: {reason.replace('_', ' ')}",
            f"were rejected as {reason.replace('_', ' ')}",
            rb,
            base.n_files,
            rc,
            cur.n_files,
            {reason: rc},
        )
        if cand is not None:
            out.append(cand)
    return out


def category_candidates(base: Profile, cur: Profile, config: DriftConfig) -> list[Candidate]:
    """The file format, colour mode and label mixes (family ``categorical``): G-test with a
    Monte-Carlo permutation null."""
    out: list[Candidate] = []
    for name, what, b_counts, c_counts in (
        ("format_mix", "file formats", base.formats, cur.formats),
        ("mode_mix", "colour modes", base.modes, cur.modes),
        ("label_mix", "labels", base.labels, cur.labels),
    ):
        cand = _category_candidate(name, what, b_counts, c_counts, config)
        if cand is not None:
            out.append(cand)
    return out
