"""Compare two profiles into a :class:`DriftReport`.

The three rules of the design:

1. tests run on per-image values (the reservoir), never on pooled pixels;
2. all tests of one comparison share one family-wise correction (Holm by default), so on data
   with no drift the comparison raises an alarm with probability at most ``alpha``;
3. significance (adjusted p-value) and size (effect in the metric's unit) are separate: severity
   comes from the effect size of what is significant; a significant but negligible effect stays
   ``none``; a large effect that is not significant is reported as ``insufficient_evidence`` with
   the sample size that would settle it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import numpy as np

from visiondrift._defaults import DEFAULTS
from visiondrift.detectors.multitest import adjust_pvalues
from visiondrift.drift._atypical import atypical_images
from visiondrift.drift._causes import explain_causes
from visiondrift.drift._config import (
    DETECTION_CAP,
    IMAGE_FAMILIES,
    MODEL_FAMILIES,
    DriftConfig,
    band_of,
)
from visiondrift.drift._details import ProfileSettings, ReportSettings
from visiondrift.drift._input import Candidate
from visiondrift.drift._model import (
    SEVERITIES,
    BadFileEntry,
    DatasetSummary,
    DriftReport,
    MetricResult,
    MetricStatus,
    Severity,
)
from visiondrift.drift._output import model_summary
from visiondrift.drift.catalogue import candidates as catalogue_candidates
from visiondrift.errors import IncompatibleProfilesError
from visiondrift.measure.properties import CHANNELS
from visiondrift.profiles import Profile

__all__ = ["compare", "summarise"]


def summarise(profile: Profile, max_bad_files: int = 200) -> DatasetSummary:
    """The part of a profile a report shows."""
    location = ", ".join(s.location for s in profile.sources) or "<profile>"
    return DatasetSummary(
        location=location,
        n_files=profile.n_files,
        n_images=profile.n_images,
        n_bad=profile.n_bad,
        bad_share=profile.bad_share,
        bad_counts=dict(profile.bad_counts),
        bad_files=[
            BadFileEntry(name=b.name, reason=b.reason, detail=b.detail)
            for b in profile.bad_files[:max_bad_files]
        ],
        n_bad_listed=len(profile.bad_files),
        created_at=profile.created_at,
        formats=dict(profile.formats.counts),
        modes=dict(profile.modes.counts),
        labels=dict(profile.labels.counts),
        channels={c: profile.channels[i].tolist() for i, c in enumerate(CHANNELS)},
        model=model_summary(profile),
        names=profile.config.names,
    )


#: Resampled batches per candidate size in the images-needed search (at most).
NEEDED_DRAWS: Final = 100
#: The draws run in chunks of this many; the search stops drawing as soon as the answer is sure.
NEEDED_CHUNK: Final = 20
#: Largest number of images the images-needed search tries; beyond it the estimate is ``None``.
NEEDED_MAX_IMAGES: Final = 20_000
#: The bisection stops when its bracket is narrower than this share of its lower end.
NEEDED_PRECISION: Final = 0.25


def _power_reaches(cand: Candidate, k: int, level: float, target: float, seed: int) -> bool:
    """Whether the metric's own test at ``level`` detects the observed effect in at least
    ``target`` of :data:`NEEDED_DRAWS` resampled batches of ``k`` current images."""
    assert cand.resample is not None
    rng = np.random.default_rng([seed, k])
    need = math.ceil(target * NEEDED_DRAWS)
    hits = done = 0
    while done < NEEDED_DRAWS:
        chunk = min(NEEDED_CHUNK, NEEDED_DRAWS - done)
        hits += int((cand.resample(k, chunk, rng) <= level).sum())
        done += chunk
        if hits >= need:
            return True
        if hits + (NEEDED_DRAWS - done) < need:
            return False
    return False


def _n_needed(cand: Candidate, m: int, config: DriftConfig) -> int | None:
    """Current images that the metric's own test, at level alpha/m (the strictest Holm step),
    would need to detect the observed effect with probability ``config.power``.

    Estimated from the stored samples: batches of ``k`` images are drawn from the current sample
    and a baseline batch (:func:`~visiondrift.drift._input.baseline_draw`) from the baseline's,
    and the metric's own test runs on each.
    The search doubles ``k`` from the current batch size (which was not enough: the test was not
    significant) and then bisects, with a fixed seed. ``None`` when the metric has no resampled
    test or more than :data:`NEEDED_MAX_IMAGES` images would be needed.
    """
    if cand.resample is None or cand.n_current < 1:
        return None
    level = config.alpha / max(m, 1)
    lo, hi = cand.n_current, 2 * cand.n_current
    while not _power_reaches(cand, hi, level, config.power, config.seed):
        if hi >= NEEDED_MAX_IMAGES:
            return None
        lo, hi = hi, min(2 * hi, NEEDED_MAX_IMAGES)
    while hi - lo > max(1.0, NEEDED_PRECISION * lo):
        mid = (lo + hi) // 2
        if _power_reaches(cand, mid, level, config.power, config.seed):
            hi = mid
        else:
            lo = mid
    return hi


def _decide(
    cand: Candidate, p_adj: float, m: int, config: DriftConfig
) -> tuple[Severity, MetricStatus, int | None]:
    """Severity (the effect's band, before the cap of detection metrics), status, and the
    images needed when a large effect is not significant."""
    bands = config.bands_for(cand.family)
    size = band_of(cand.effect_size, bands)
    detected = size
    if cand.detection_effect is not None:
        detected = band_of(cand.detection_effect, bands)
    significant = p_adj <= config.alpha
    if significant and (size != "none" or detected != "none"):
        # Detection may rest on the unfloored effect; the severity is at least "low" then.
        return (size if size != "none" else "low"), "drift", None
    if significant:
        return "none", "negligible", None
    if size in ("medium", "high"):
        return "none", "insufficient_evidence", _n_needed(cand, m, config)
    return "none", "stable", None


def _effect_ceiling(decided: Sequence[tuple[Candidate, Severity, MetricStatus]]) -> Severity:
    """The most a detection metric may count: the strongest drifted effect metric, at least
    :data:`DETECTION_CAP`."""
    levels = [
        SEVERITIES.index(sev) for c, sev, st in decided if st == "drift" and c.role == "effect"
    ]
    return SEVERITIES[max([SEVERITIES.index(DETECTION_CAP), *levels])]


def _model_ceiling(
    decided: Sequence[tuple[Candidate, Severity, MetricStatus]],
) -> Severity | None:
    """With a model in the comparison, the most an image property may count: the strongest
    drift of the model's own metrics, at least :data:`DETECTION_CAP`; ``None`` without a model."""
    model = [(sev, st) for c, sev, st in decided if c.family in MODEL_FAMILIES]
    if not model:
        return None
    levels = [SEVERITIES.index(sev) for sev, st in model if st == "drift"]
    return SEVERITIES[max([SEVERITIES.index(DETECTION_CAP), *levels])]


def _model_note(capped: Sequence[MetricResult], ceiling: Severity) -> str:
    """Why image properties that moved further than the model's outputs do not raise the
    severity."""
    what = ", ".join(m.label for m in capped)
    return (
        f"The images changed more ({what}) than the model's outputs did; the severity follows "
        f"what the model feels: {ceiling}."
    )


def _detection_note(capped: Sequence[MetricResult], ceiling: Severity, effects: bool) -> str:
    """Why detection metrics that drifted further than any effect do not raise the severity."""
    what = ", ".join(m.label for m in capped)
    if not effects:
        return (
            f"A change was detected ({what}), but nothing a person or the model would notice "
            f"moved enough to matter: severity {ceiling}."
        )
    return (
        f"Sensitive detectors ({what}) see more change than any image property or model output "
        f"shows, and only what a person or the model would notice counts: severity {ceiling}."
    )


def _explanations(
    listed: Sequence[MetricResult], every: Sequence[MetricResult] | None = None
) -> list[str]:
    """The report's sentences, cause first, consequences folded under their cause
    (see :mod:`visiondrift.drift._causes`)."""
    return explain_causes(listed, every)


def compare(
    baseline: Profile,
    current: Profile,
    *,
    alpha: float = DEFAULTS.drift.alpha,
    correction: str = DEFAULTS.drift.correction,
    config: DriftConfig | None = None,
    mode: str = "monitor",
    command: str | None = None,
) -> DriftReport:
    """Compare ``current`` with ``baseline`` and say whether, what and how much drifted.

    Parameters
    ----------
    baseline, current
        Profiles from :func:`visiondrift.profile` or :meth:`Profile.load`.
    alpha
        Family-wise error rate of the whole comparison.
    correction
        ``"holm"`` (default), ``"bh"`` or ``"bonferroni"``.
    config
        Full settings (bands, power, permutations, seed); overrides ``alpha`` and ``correction``.
    mode
        ``"monitor"`` (a production batch against a baseline) or ``"compare"`` (any two sets).
    command
        The command line that produced the report, kept for provenance.
    """
    if config is None:
        config = DriftConfig(alpha=alpha, correction=correction)  # type: ignore[arg-type]
    b_measure, c_measure = baseline.config.measure.to_dict(), current.config.measure.to_dict()
    b_version, c_version = b_measure.pop("version"), c_measure.pop("version")
    # Profiles made from predictions files hold no image properties: the version is moot.
    measured = all("sharpness" in p.reservoir.values for p in (baseline, current))
    if b_version != c_version and measured:
        raise IncompatibleProfilesError(
            f"The baseline's image properties were measured by measurement version "
            f"{b_version} and the current images' by version {c_version}: what sharpness and "
            "the other properties mean changed between them. Rebuild the older profile with "
            "this release ('visiondrift baseline')."
        )
    if b_measure != c_measure:
        raise IncompatibleProfilesError(
            "The two profiles were measured with different settings "
            f"({b_measure} vs {c_measure}); "
            "their image properties are not comparable. Profile the current images with the "
            "baseline's settings."
        )
    b_metrics, c_metrics = baseline.config.image_metrics, current.config.image_metrics
    if b_metrics != c_metrics and measured:
        raise IncompatibleProfilesError(
            "The two profiles were measured with different per-image metrics (name: version): "
            f"{dict(b_metrics)} for the baseline vs {dict(c_metrics)} for the current images. "
            "Register the baseline's metrics and profile the current images with the "
            "baseline's settings."
        )
    candidates = catalogue_candidates(baseline, current, config)
    m = len(candidates)
    adjusted = adjust_pvalues([c.p_value for c in candidates], config.correction)
    metrics: list[MetricResult] = []
    decided = [
        (cand, *_decide(cand, p_adj, m, config))
        for cand, p_adj in zip(candidates, adjusted.tolist(), strict=True)
    ]
    original = list(decided)
    model_ceiling = _model_ceiling([(c, sev, st) for c, sev, st, _ in decided])
    if model_ceiling is not None:
        decided = [
            (c, model_ceiling, st, n)
            if c.role == "effect"
            and c.family in IMAGE_FAMILIES
            and SEVERITIES.index(sev) > SEVERITIES.index(model_ceiling)
            else (c, sev, st, n)
            for c, sev, st, n in decided
        ]
    model_capped = [
        c.name
        for (c, sev, _, _), (_, before, _, _) in zip(decided, original, strict=True)
        if sev != before
    ]
    ceiling = _effect_ceiling([(c, sev, st) for c, sev, st, _ in decided])
    capped: list[str] = []
    for (cand, band, metric_status, n_needed), (_, own_band, _, _), p_adj in zip(
        decided, original, adjusted.tolist(), strict=True
    ):
        metric_severity = band
        details = cand.details
        if band != own_band:
            details = cand.details.model_copy(update={"band_severity": own_band})
        if cand.role == "detection" and SEVERITIES.index(band) > SEVERITIES.index(ceiling):
            metric_severity = ceiling
            details = cand.details.model_copy(update={"band_severity": band})
            capped.append(cand.name)
        change = (
            cand.current - cand.baseline
            if cand.current is not None and cand.baseline is not None
            else None
        )
        explanation = cand.sentence() if metric_status == "drift" else None
        if metric_status == "insufficient_evidence":
            explanation = (
                f"Not enough evidence yet: {cand.sentence().rstrip('.')}, but with "
                f"{cand.n_current} current images this is not significant"
                + (
                    f"; about {n_needed} current images would settle it"
                    + (" (and as many baseline images)." if n_needed > cand.n_baseline else ".")
                    if n_needed
                    else "."
                )
            )
        metrics.append(
            MetricResult(
                name=cand.name,
                label=cand.label,
                family=cand.family,
                unit=cand.unit,
                baseline=cand.baseline,
                current=cand.current,
                change=change,
                relative_change=cand.relative_change,
                test=cand.test,
                statistic=cand.statistic,
                p_value=cand.p_value,
                p_adjusted=p_adj,
                effect_size=cand.effect_size,
                effect_unit=cand.effect_unit,
                bands=config.bands_for(cand.family),
                severity=metric_severity,
                status=metric_status,
                n_baseline=cand.n_baseline,
                n_current=cand.n_current,
                n_needed=n_needed,
                explanation=explanation,
                details=details,
                role=cand.role,
            )
        )

    def rank(metric: MetricResult) -> tuple[int, bool, float]:
        # At one severity, what a person or the model notices comes before what only says that
        # something changed (detection metrics).
        low = metric.bands[1] or 1.0
        detection = metric.role == "detection"
        return (-SEVERITIES.index(metric.severity), detection, -abs(metric.effect_size) / low)

    metrics.sort(key=rank)
    drifted = [mr for mr in metrics if mr.status == "drift"]
    inconclusive = [mr for mr in metrics if mr.status == "insufficient_evidence"]
    severity: Severity = drifted[0].severity if drifted else "none"
    status = "drift" if drifted else ("insufficient_evidence" if inconclusive else "no_drift")
    explanations = _explanations(drifted + inconclusive, metrics)
    if model_capped and model_ceiling is not None:
        held = [mr for mr in drifted if mr.name in model_capped]
        explanations = [*explanations, _model_note(held, model_ceiling)]
    if capped:
        effects = any(mr.role == "effect" for mr in drifted)
        note = _detection_note([mr for mr in drifted if mr.name in capped], ceiling, effects)
        explanations = [*explanations, note] if effects else [note, *explanations]
    cfg = ReportSettings.model_validate(
        {**config.to_dict(), "profile": ProfileSettings.model_validate(baseline.config.to_dict())}
    )
    return DriftReport(
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        mode="compare" if mode == "compare" else "monitor",
        baseline=summarise(baseline),
        current=summarise(current),
        alpha=config.alpha,
        correction=config.correction,
        overall_drift_detected=bool(drifted),
        severity=severity,
        status=status,
        n_tests=m,
        n_drifted=len(drifted),
        explanations=explanations,
        metrics=metrics,
        atypical_images=atypical_images(baseline, current, drifted, config),
        config=cfg,
        command=command,
    )
