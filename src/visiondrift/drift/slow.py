"""Slow drift over a history of runs: merged-window mean tests, alpha spent over a horizon.

A shift too small for any single batch's test but steady over many runs shows in the merged
images of the last few runs. After each run, for every metric (a per-image property, or the
model's top-1 confidence) and every window length ``K`` of :attr:`SlowDriftConfig.windows`, the
moments of the last ``K`` runs are merged (every image counts once, whatever its run) and their
mean is compared with the baseline's by Welch's two-sample t-test. The baseline's own sampling
error is in the test's standard error, so the checks stay valid although every run is compared
with the same baseline. The checks of one run are corrected together by Holm's procedure at the
level ``alpha / horizon``; the runs are joined by the union bound.

Guarantee. If the images of the baseline and of every run are independent draws from one
distribution, the probability that a sequence of ``horizon`` runs raises any alarm (at any of
its runs) is at most ``alpha``, whatever the dependence between the checks: each run's checks
have family-wise error at most ``alpha / horizon`` (Holm), and the ``horizon`` runs add up to at
most ``alpha`` (Bonferroni over time). Over ``L`` runs the bound is ``alpha * L / horizon``. The
per-check level rests on the normal approximation of a mean (Welch's t, at least
:attr:`SlowDriftConfig.min_images` images on each side), which is why the default metrics are
bounded properties whose means are well approximated even far in the tail.

Only the profiles' moments are read, so a check over hundreds of stored runs costs microseconds
per run. :class:`SlowDriftMonitor` is the streaming form (``update(profile)``, read-only
``drift_detected``); :func:`detect_slow_drift` runs it over a stored sequence.

This module is plain: it imports numpy, scipy and the plain profile modules, never Pillow.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from visiondrift.errors import ConfigError
from visiondrift.measure.properties import PROPERTIES
from visiondrift.profiles._profile import Profile
from visiondrift.profiles.sketches import Moments

__all__ = [
    "MODEL_CONFIDENCE",
    "SLOW_DRIFT_METRICS",
    "SlowDriftConfig",
    "SlowDriftMonitor",
    "SlowDriftResult",
    "WindowTest",
    "detect_slow_drift",
]

#: The metric name of the model's top-1 probability (from :attr:`ModelSummary.confidence`).
MODEL_CONFIDENCE: Final = "model_confidence"
#: The default metrics: bounded properties whose means move with the commonest slow changes
#: (exposure, contrast, colour), and the model's confidence when both sides have a model.
SLOW_DRIFT_METRICS: Final[tuple[str, ...]] = (
    "brightness",
    "contrast",
    "saturation",
    "colourfulness",
    MODEL_CONFIDENCE,
)

_SPECS: Final = {spec.name: spec for spec in PROPERTIES}


@dataclass(frozen=True)
class SlowDriftConfig:
    """Settings of the slow-drift checks.

    Parameters
    ----------
    alpha
        The probability of any false alarm over ``horizon`` clean runs (in (0, 1)).
    horizon
        The number of runs over which ``alpha`` is spent: each run's checks get
        ``alpha / horizon``.
    windows
        The window lengths, in runs: after each run, the last ``K`` runs are merged for every
        ``K`` here (positive, distinct; a window longer than the runs seen so far is not checked).
    metrics
        The metrics checked: per-image property names (:data:`PROPERTY_NAMES` or a registered
        per-image metric) and :data:`MODEL_CONFIDENCE`, which is checked when the baseline has a
        model.
    min_images
        The fewest images a merged window (and the baseline) must hold for a check to be made;
        smaller windows are not checked, and runs smaller than this are listed in the result.
    tolerance
        A shift of the mean smaller than ``tolerance`` baseline standard deviations is not
        drift (0: any shift is); the checks then test ``|shift| <= tolerance``.

    Examples
    --------
    >>> SlowDriftConfig(windows=(4, 8)).level
    0.0016666666666666668
    >>> SlowDriftConfig(horizon=0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    visiondrift.errors.ConfigError: The 'horizon' parameter of SlowDriftConfig must be ...
    """

    alpha: float = 0.05
    horizon: int = 30
    windows: tuple[int, ...] = (2, 4, 8, 16)
    metrics: tuple[str, ...] = SLOW_DRIFT_METRICS
    min_images: int = 20
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        alpha: object = self.alpha
        if (
            not isinstance(alpha, int | float)
            or isinstance(alpha, bool)
            or not 0.0 < float(alpha) < 1.0
        ):
            raise ConfigError(
                f"The 'alpha' parameter of SlowDriftConfig must be in (0, 1). Got {alpha!r} "
                "instead."
            )
        for name, least in (("horizon", 1), ("min_images", 2)):
            value: object = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ConfigError(
                    f"The '{name}' parameter of SlowDriftConfig must be an integer of at least "
                    f"{least}. Got {value!r} instead."
                )
        windows: object = self.windows
        if (
            not isinstance(windows, tuple)
            or not windows
            or not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in windows)
            or len(set(windows)) != len(windows)
        ):
            raise ConfigError(
                "The 'windows' parameter of SlowDriftConfig must be a non-empty tuple of "
                f"distinct positive integers (runs per window), e.g. (2, 4, 8, 16). Got "
                f"{windows!r} instead."
            )
        object.__setattr__(self, "windows", tuple(sorted(windows)))
        metrics: object = self.metrics
        if (
            not isinstance(metrics, tuple)
            or not metrics
            or not all(isinstance(m, str) and m for m in metrics)
            or len(set(metrics)) != len(metrics)
        ):
            raise ConfigError(
                "The 'metrics' parameter of SlowDriftConfig must be a non-empty tuple of distinct "
                f"metric names, e.g. {SLOW_DRIFT_METRICS!r}. Got {metrics!r} instead."
            )
        tolerance: object = self.tolerance
        if (
            not isinstance(tolerance, int | float)
            or isinstance(tolerance, bool)
            or not 0.0 <= float(tolerance) < math.inf
        ):
            raise ConfigError(
                "The 'tolerance' parameter of SlowDriftConfig must be a finite number of at "
                f"least 0 (baseline standard deviations). Got {tolerance!r} instead."
            )

    @property
    def level(self) -> float:
        """The family-wise level of one run's checks: ``alpha / horizon``."""
        return self.alpha / self.horizon


@dataclass(frozen=True)
class WindowTest:
    """One check: the merged last ``window`` runs against the baseline, on one metric.

    Attributes
    ----------
    metric, label
        The metric's name and readable label.
    window
        The number of runs merged.
    first_run, last_run
        The positions of the oldest and newest merged runs (1 = the first run seen).
    n_images, n_baseline
        The images with a value of the metric in the window and in the baseline.
    baseline_mean, mean
        The metric's mean in the baseline and in the window.
    change
        ``mean - baseline_mean``.
    relative_change
        ``change / |baseline_mean|`` (``None`` when the baseline mean is 0).
    effect_size
        ``change`` in baseline standard deviations (0 when the baseline does not vary).
    statistic
        Welch's t: ``change`` over its standard error, both samples' errors included.
    df
        Welch-Satterthwaite degrees of freedom (``inf`` when no side varies).
    p_value
        Two-sided p-value of ``|shift| <= tolerance``, not corrected.
    threshold
        The level ``p_value`` was compared with: Holm's level for its rank among this run's
        checks (``alpha / horizon / (m - rank + 1)``).
    drift_detected
        Whether the check rejected (Holm: this and every check of a smaller p-value passed).
    run_p_values
        Each merged run alone against the baseline (same test, not corrected; ``nan`` for a
        run with fewer than 2 images), oldest first.
    """

    metric: str
    label: str
    window: int
    first_run: int
    last_run: int
    n_images: int
    n_baseline: int
    baseline_mean: float
    mean: float
    change: float
    relative_change: float | None
    effect_size: float
    statistic: float
    df: float
    p_value: float
    threshold: float
    drift_detected: bool
    run_p_values: tuple[float, ...]


@dataclass(frozen=True)
class SlowDriftResult:
    """The slow-drift verdict after the latest run.

    Attributes
    ----------
    config
        The settings used.
    n_runs
        The runs seen.
    tests
        The checks made after the latest run (metric by metric, shortest window first).
    drift_detected
        Whether a check of the latest run rejected.
    metric, window
        The metric and window length of the latest run's strongest rejected check
        (``None`` without an alarm).
    explanation
        One sentence that says what moved (or that nothing did), with the numbers.
    alarm_runs
        The positions of every run whose checks raised an alarm (1 = the first run).
    first_alarm_run
        The first of them (``None``: no alarm).
    small_runs
        Positions of runs with fewer than ``min_images`` images: their images count in the
        windows that include them, but a window made mostly of them may be too small to check.
    skipped_metrics
        Configured metrics not checked: the model's confidence without a model in the baseline,
        a property the baseline has no values of (a profile of predictions).
    """

    config: SlowDriftConfig
    n_runs: int
    tests: tuple[WindowTest, ...]
    drift_detected: bool
    metric: str | None
    window: int | None
    explanation: str
    alarm_runs: tuple[int, ...] = ()
    first_alarm_run: int | None = None
    small_runs: tuple[int, ...] = ()
    skipped_metrics: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------- the test


def _welch(
    base: Moments, cur: Sequence[Moments], tolerance: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Welch's test of each of ``cur`` against ``base``: (change, t, df, two-sided p-value).

    The null hypothesis is ``|mean(cur) - mean(base)| <= tolerance * std(base)``; its p-value is
    the probability of the observed ``|t|`` or more at either end of that interval.
    """
    n_b, var_b = base.count, base.std**2
    n = np.array([m.count for m in cur], dtype=np.float64)
    mean = np.array([m.mean for m in cur], dtype=np.float64)
    var = np.array([m.m2 for m in cur], dtype=np.float64) / np.maximum(n - 1.0, 1.0)
    a, b = var / n, var_b / n_b
    se = np.sqrt(a + b)
    change = mean - base.mean
    margin = tolerance * math.sqrt(var_b)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = a**2 / np.maximum(n - 1.0, 1.0) + b**2 / max(n_b - 1.0, 1.0)
        df = np.where(denom > 0, (a + b) ** 2 / denom, np.inf)
        t = np.where(se > 0, change / se, np.where(change == 0, 0.0, np.copysign(np.inf, change)))
        lo = np.where(se > 0, (np.abs(change) - margin) / se, 0.0)
        hi = np.where(se > 0, (np.abs(change) + margin) / se, 0.0)
    p = np.minimum(1.0, stats.t.sf(lo, df) + stats.t.sf(hi, df))
    # No variation on either side: the means are exact, any shift beyond the margin is certain.
    p = np.where(se > 0, p, np.where(np.abs(change) > margin, 0.0, 1.0))
    return change, t, df, p


def _holm(p: NDArray[np.float64], level: float) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Holm's per-check thresholds and rejections at family-wise ``level``."""
    m = p.size
    order = np.argsort(p, kind="stable")
    thresholds = np.empty(m)
    thresholds[order] = level / (m - np.arange(m))
    passed = p[order] <= thresholds[order]
    # Holm stops at the first check that does not pass.
    stop = int(np.argmin(passed)) if not passed.all() else m
    rejected = np.zeros(m, dtype=bool)
    rejected[order[:stop]] = True
    return thresholds, rejected


def _label(metric: str) -> tuple[str, str, str]:
    """The metric's label and its words for a higher and a lower mean."""
    if metric == MODEL_CONFIDENCE:
        return "model confidence", "more confident", "less confident"
    spec = _SPECS.get(metric)
    if spec is None:
        return metric, "higher", "lower"
    return spec.label, spec.more, spec.less


def _runs_span(runs: Sequence[int]) -> str:
    """``3, 5-8, 10`` for runs ``3, 5, 6, 7, 8, 10``."""
    parts: list[str] = []
    start = prev = runs[0]
    for r in [*runs[1:], None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if r is not None:
            start = prev = r
    return ", ".join(parts)


# ---------------------------------------------------------------------------- the monitor


class SlowDriftMonitor:
    """Streaming slow-drift checks against one baseline: ``update(profile)`` after every run.

    Keeps the moments of the last ``max(windows)`` runs only. See the module docstring for the
    method and its guarantee.

    Parameters
    ----------
    baseline
        The profile every run is compared with.
    config
        The settings (the defaults when ``None``).

    Raises
    ------
    ConfigError
        A configured metric is neither a property of the profiles nor :data:`MODEL_CONFIDENCE`.

    Examples
    --------
    >>> from visiondrift.profiles import Profile
    >>> monitor = SlowDriftMonitor(Profile.empty())
    >>> monitor.drift_detected, monitor.n_runs
    (False, 0)
    """

    def __init__(self, baseline: Profile, config: SlowDriftConfig | None = None) -> None:
        self.baseline = baseline
        self.config = config or SlowDriftConfig()
        known = set(baseline.moments) | {MODEL_CONFIDENCE}
        unknown = [m for m in self.config.metrics if m not in known]
        if unknown:
            raise ConfigError(
                f"Unknown metric {unknown[0]!r} in the 'metrics' of SlowDriftConfig; expected "
                f"property names of the baseline ({', '.join(sorted(baseline.moments))}) or "
                f"{MODEL_CONFIDENCE!r}. Got {self.config.metrics!r}."
            )
        self._base: dict[str, Moments] = {}
        skipped: list[str] = []
        for metric in self.config.metrics:
            moments = _moments_of(baseline, metric)
            if moments is None or moments.count < self.config.min_images:
                skipped.append(metric)
            else:
                self._base[metric] = moments
        self._skipped = tuple(skipped)
        self._runs: deque[dict[str, Moments]] = deque(maxlen=max(self.config.windows))
        self._run_p: deque[dict[str, float]] = deque(maxlen=max(self.config.windows))
        self._n_runs = 0
        self._alarms: list[int] = []
        self._small: list[int] = []
        self._result = self._verdict(())

    @property
    def n_runs(self) -> int:
        """The runs seen."""
        return self._n_runs

    @property
    def drift_detected(self) -> bool:
        """Whether the checks of the latest run raised an alarm."""
        return self._result.drift_detected

    @property
    def result(self) -> SlowDriftResult:
        """The verdict after the latest run."""
        return self._result

    def update(self, profile: Profile) -> SlowDriftMonitor:
        """Add the next run's profile and check the windows that end with it.

        Raises
        ------
        IncompatibleProfilesError
            The profile cannot merge with the baseline (other settings, another dataset).
        """
        self.baseline.check_mergeable(profile)
        self._n_runs += 1
        if profile.n_images < self.config.min_images:
            self._small.append(self._n_runs)
        row: dict[str, Moments] = {}
        for metric in self._base:
            moments = _moments_of(profile, metric)
            row[metric] = Moments.empty() if moments is None else moments
        alone: dict[str, float] = {}
        for metric, moments in row.items():
            if moments.count < 2:
                alone[metric] = math.nan
            else:
                p = _welch(self._base[metric], [moments], self.config.tolerance)[3]
                alone[metric] = float(p[0])
        self._runs.append(row)
        self._run_p.append(alone)
        tests = self._check()
        if any(t.drift_detected for t in tests):
            self._alarms.append(self._n_runs)
        self._result = self._verdict(tests)
        return self

    def _check(self) -> tuple[WindowTest, ...]:
        """The checks of the windows ending with the latest run, Holm-corrected together."""
        cfg = self.config
        seen = len(self._runs)
        rows = list(self._runs)
        alone = list(self._run_p)
        candidates: list[tuple[str, int, Moments]] = []
        for metric in self._base:
            for k in cfg.windows:
                if k > seen:
                    continue
                merged = Moments.empty()
                for r in rows[seen - k :]:
                    merged = merged.merge(r[metric])
                if merged.count >= cfg.min_images:
                    candidates.append((metric, k, merged))
        if not candidates:
            return ()
        by_metric: dict[str, list[int]] = {}
        for i, (metric, _, _) in enumerate(candidates):
            by_metric.setdefault(metric, []).append(i)
        m = len(candidates)
        change = np.empty(m)
        t = np.empty(m)
        df = np.empty(m)
        p = np.empty(m)
        for metric, idx in by_metric.items():
            c, tt, d, pp = _welch(
                self._base[metric], [candidates[i][2] for i in idx], cfg.tolerance
            )
            change[idx], t[idx], df[idx], p[idx] = c, tt, d, pp
        thresholds, rejected = _holm(p, cfg.level)
        out: list[WindowTest] = []
        for i, (metric, k, merged) in enumerate(candidates):
            base = self._base[metric]
            sd = base.std
            out.append(
                WindowTest(
                    metric=metric,
                    label=_label(metric)[0],
                    window=k,
                    first_run=self._n_runs - k + 1,
                    last_run=self._n_runs,
                    n_images=merged.count,
                    n_baseline=base.count,
                    baseline_mean=base.mean,
                    mean=merged.mean,
                    change=float(change[i]),
                    relative_change=(float(change[i]) / abs(base.mean) if base.mean != 0 else None),
                    effect_size=float(change[i]) / sd if sd > 0 else 0.0,
                    statistic=float(t[i]),
                    df=float(df[i]),
                    p_value=float(p[i]),
                    threshold=float(thresholds[i]),
                    drift_detected=bool(rejected[i]),
                    run_p_values=tuple(a[metric] for a in alone[seen - k :]),
                )
            )
        return tuple(out)

    def _verdict(self, tests: tuple[WindowTest, ...]) -> SlowDriftResult:
        rejected = [t for t in tests if t.drift_detected]
        best = min(rejected, key=lambda t: (t.p_value, -t.window)) if rejected else None
        return SlowDriftResult(
            config=self.config,
            n_runs=self._n_runs,
            tests=tests,
            drift_detected=best is not None,
            metric=None if best is None else best.metric,
            window=None if best is None else best.window,
            explanation=self._explain(tests, best),
            alarm_runs=tuple(self._alarms),
            first_alarm_run=self._alarms[0] if self._alarms else None,
            small_runs=tuple(self._small),
            skipped_metrics=self._skipped,
        )

    def _explain(self, tests: tuple[WindowTest, ...], best: WindowTest | None) -> str:
        cfg = self.config
        if best is not None:
            return _drift_sentence(best, cfg.alpha)
        earlier = (
            f" (alarms were raised at runs {_runs_span(self._alarms)})" if self._alarms else ""
        )
        if not self._base:
            return (
                "No slow-drift check can be made: the baseline has no values of "
                f"{', '.join(cfg.metrics)} (at least {cfg.min_images} images needed)."
            )
        if not tests:
            if self._n_runs < cfg.windows[0]:
                return (
                    f"No slow-drift check yet: {self._n_runs} run(s) seen, the shortest window is "
                    f"{cfg.windows[0]} runs{earlier}."
                )
            return (
                f"No slow-drift check after run {self._n_runs}: no window of the last "
                f"{_windows_words(cfg.windows)} runs holds {cfg.min_images} images{earlier}."
            )
        tested = sorted({t.window for t in tests})
        labels = list(dict.fromkeys(t.label for t in tests))
        return (
            f"No slow drift after run {self._n_runs}: the merged last {_windows_words(tested)} "
            f"runs do not differ from the baseline in {_words(labels)} (family-wise alpha "
            f"{cfg.alpha:g} over {cfg.horizon} runs){earlier}."
        )


def _moments_of(profile: Profile, metric: str) -> Moments | None:
    if metric == MODEL_CONFIDENCE:
        return None if profile.model is None else profile.model.confidence
    return profile.moments.get(metric)


def _words(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _windows_words(windows: Sequence[int]) -> str:
    return _words([str(k) for k in windows])


def _number(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def _drift_sentence(t: WindowTest, alpha: float) -> str:
    label, more, less = _label(t.metric)
    word = more if t.change > 0 else less
    if t.relative_change is not None:
        amount = f"{abs(t.relative_change):.1%} {word}"
    else:
        amount = f"{word} by {_number(abs(t.change))}"
    alone = [p for p in t.run_p_values if not math.isnan(p)]
    flagged = sum(p <= alpha for p in alone)
    if not alone:
        single = "though none of those runs held enough images to be tested on its own"
    elif flagged == 0:
        single = (
            f"though no single one of those runs differs from the baseline at alpha {alpha:g} "
            f"(smallest single-run p-value {min(alone):.2g})"
        )
    else:
        single = (
            f"and {flagged} of those {len(alone)} runs already differ from the baseline on their "
            f"own at alpha {alpha:g} (uncorrected)"
        )
    runs = "the last run" if t.window == 1 else f"the last {t.window} runs"
    return (
        f"{label[0].upper()}{label[1:]} has moved: {runs} ({t.n_images} images) are {amount} "
        f"than the baseline (mean {_number(t.baseline_mean)} → {_number(t.mean)}), {single}."
    )


def detect_slow_drift(
    baseline: Profile, runs: Sequence[Profile], config: SlowDriftConfig | None = None
) -> SlowDriftResult:
    """Check a stored sequence of runs (oldest first) for slow drift from ``baseline``.

    Every run is checked in turn, as :class:`SlowDriftMonitor` would have checked it when it
    arrived; the result is the verdict after the last run, with every run that raised an alarm.

    Parameters
    ----------
    baseline
        The profile every run is compared with.
    runs
        The runs' profiles, oldest first.
    config
        The settings (the defaults when ``None``).

    Returns
    -------
    SlowDriftResult
        ``drift_detected`` says whether the last run's checks raised an alarm;
        ``first_alarm_run`` is the first run whose checks did.

    Raises
    ------
    IncompatibleProfilesError
        A run cannot merge with the baseline (other settings, another dataset).
    ConfigError
        ``runs`` is not a sequence of profiles, or a configured metric is unknown.
    """
    if isinstance(runs, Profile) or not all(isinstance(r, Profile) for r in runs):
        raise ConfigError(
            "detect_slow_drift needs the runs as a sequence of Profile objects, oldest first. "
            f"Got {type(runs).__name__} instead."
        )
    monitor = SlowDriftMonitor(baseline, config)
    for run in runs:
        monitor.update(run)
    return monitor.result
