"""Slow drift over a history of runs: merged-window two-sample tests, alpha spent over a horizon.

A shift too small for any single batch's test but steady over many runs shows in the merged
images of the last few runs. After each run, for every metric (a per-image property, or the
model's top-1 confidence) and every window length ``K`` of :attr:`SlowDriftConfig.windows`, the
images of the last ``K`` runs are pooled (every image counts once, whatever its run) and compared
with the baseline's images by a two-sample test: Kolmogorov-Smirnov on the per-image values the
profiles' reservoirs keep (``test="ks"``, the default), or Welch's t-test on the profiles' moments
(``test="welch"``, means only). Both are two-sample tests, so the baseline's own sampling error
is part of every check, although every run is compared with the same baseline. The checks made
after one run are corrected together by Holm's procedure at the level ``alpha / horizon``; the
runs are joined by the union bound.

Guarantee. If the images of the baseline and of every run are independent draws from one
distribution, the probability that a sequence of ``horizon`` runs raises any alarm (at any of its
runs) is at most ``alpha``, whatever the dependence between the checks: each run's checks have a
family-wise error of at most ``alpha / horizon`` (Holm), and ``horizon`` runs add up to at most
``alpha`` (Bonferroni over time). Over ``L`` runs the bound is ``alpha * L / horizon``. Each check's
own level rests on a large-sample distribution (Kolmogorov's limiting one, conservative against
the exact one at every size and more so when values tie; Welch's t, from the normal
approximation of a mean), hence :attr:`SlowDriftConfig.min_images`.

Only the profiles' summaries are read (reservoir values or moments), never an image: a check
over hundreds of stored runs takes milliseconds. :class:`SlowDriftMonitor` is the streaming form
(``update(profile)``, read-only ``drift_detected``); :func:`detect_slow_drift` runs it over a
stored sequence.

This module is plain: it imports numpy, scipy and the plain profile modules, never Pillow.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift.drift._slow_stats import holm, ks_tests, welch_tests
from visiondrift.drift._slow_values import (
    EMPTY_SAMPLE,
    RunValues,
    Sample,
    merge_samples,
    sample_of,
)
from visiondrift.drift._slow_words import (
    MODEL_CONFIDENCE,
    drift_sentence,
    label_of,
    runs_span,
    windows_words,
    words,
)
from visiondrift.errors import ConfigError
from visiondrift.profiles._profile import Profile

__all__ = [
    "MODEL_CONFIDENCE",
    "SLOW_DRIFT_METRICS",
    "SLOW_DRIFT_TESTS",
    "WELCH_METRICS",
    "RunValues",
    "SlowDriftConfig",
    "SlowDriftMonitor",
    "SlowDriftResult",
    "WindowTest",
    "detect_slow_drift",
]

#: The default metrics: the properties that a slowly changing camera, lens, light or pipeline
#: moves (exposure, contrast, colour, focus, sensor noise, clipped shadows and highlights), and
#: the model's confidence when the baseline has a model.
SLOW_DRIFT_METRICS: Final[tuple[str, ...]] = (
    "brightness",
    "contrast",
    "saturation",
    "colourfulness",
    "sharpness",
    "noise",
    "dark_clip",
    "bright_clip",
    MODEL_CONFIDENCE,
)
#: The default metrics of Welch's test (``test="welch"``): bounded ones, whose means are close
#: to normal at the tail levels the checks use, even in windows of a few hundred images.
WELCH_METRICS: Final[tuple[str, ...]] = (
    "brightness",
    "contrast",
    "saturation",
    "colourfulness",
    MODEL_CONFIDENCE,
)
#: The two-sample tests of a window against the baseline.
SLOW_DRIFT_TESTS: Final = ("ks", "welch")
SlowDriftTest = Literal["ks", "welch"]


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
        model. ``None``: :data:`SLOW_DRIFT_METRICS` for Kolmogorov-Smirnov,
        :data:`WELCH_METRICS` for Welch's test.
    min_images
        The fewest images a merged window (and the baseline) must hold for a check to be made;
        smaller windows are not checked, and runs smaller than this are listed in the result.
    test
        ``"ks"``: two-sample Kolmogorov-Smirnov on the per-image values of the profiles'
        reservoirs (distribution-free; sees any change of the distribution, and a shift of a
        clustered one far better than its mean does); ``"welch"``: Welch's t-test on the
        moments (the mean only; needs no reservoir; its level rests on the normal
        approximation of a mean, so keep to bounded metrics such as brightness, contrast,
        saturation and colourfulness: skewed ones like sharpness and the clipped shares need
        many more images before that approximation holds at ``alpha / horizon``).

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
    metrics: tuple[str, ...] | None = None
    min_images: int = 20
    test: SlowDriftTest = "ks"

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
        if self.test not in SLOW_DRIFT_TESTS:
            raise ConfigError(
                f"The 'test' parameter of SlowDriftConfig must be one of {list(SLOW_DRIFT_TESTS)}. "
                f"Got {self.test!r} instead."
            )
        if self.metrics is None:
            default = SLOW_DRIFT_METRICS if self.test == "ks" else WELCH_METRICS
            object.__setattr__(self, "metrics", default)
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
    n_tested
        The window's values the test saw: ``n_images`` for Welch's test, the values in the
        merged runs' reservoirs for Kolmogorov-Smirnov (the baseline's are in its reservoir).
    baseline_mean, mean
        The metric's mean in the baseline and in the window.
    change
        ``mean - baseline_mean``.
    relative_change
        ``change / |baseline_mean|`` (``None`` when the baseline mean is 0).
    effect_size
        ``change`` in baseline standard deviations (0 when the baseline does not vary).
    test
        ``"ks"`` or ``"welch"``.
    statistic
        Kolmogorov-Smirnov's D (largest gap between the two empirical distribution functions),
        or Welch's t (``change`` over its standard error, both samples' errors included).
    p_value
        The two-sided p-value of "no change", not corrected.
    mean_p_value
        Welch's two-sided p-value of "the same mean" (equal to ``p_value`` for Welch's test);
        it decides how the explanation words the change.
    threshold
        The level ``p_value`` was compared with: Holm's level for its rank among this run's
        checks (``alpha / horizon / (m - rank + 1)``).
    drift_detected
        Whether the check rejected (Holm: this and every check of a smaller p-value passed).
    run_p_values
        Each merged run alone against the baseline (same test, not corrected; ``nan`` for a
        run with fewer than ``min_images`` values), oldest first.
    """

    metric: str
    label: str
    window: int
    first_run: int
    last_run: int
    n_images: int
    n_baseline: int
    n_tested: int
    baseline_mean: float
    mean: float
    change: float
    relative_change: float | None
    effect_size: float
    test: SlowDriftTest
    statistic: float
    p_value: float
    mean_p_value: float
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
        #: Set by the config's validation (``None`` there means the test's defaults).
        self._metrics: tuple[str, ...] = self.config.metrics or ()
        known = set(baseline.moments) | {MODEL_CONFIDENCE}
        unknown = [m for m in self._metrics if m not in known]
        if unknown:
            raise ConfigError(
                f"Unknown metric {unknown[0]!r} in the 'metrics' of SlowDriftConfig; expected "
                f"property names of the baseline ({', '.join(sorted(baseline.moments))}) or "
                f"{MODEL_CONFIDENCE!r}. Got {self.config.metrics!r}."
            )
        self._base: dict[str, Sample] = {}
        skipped: list[str] = []
        for metric in self._metrics:
            sample = sample_of(baseline, metric)
            if self._size(sample) < self.config.min_images:
                skipped.append(metric)
            else:
                self._base[metric] = Sample(sample.moments, np.sort(sample.values))
        self._skipped = tuple(skipped)
        self._runs: deque[dict[str, Sample]] = deque(maxlen=max(self.config.windows))
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

    def update(self, run: Profile | RunValues, *, check: bool = True) -> SlowDriftMonitor:
        """Add the next run and check the windows that end with it.

        Parameters
        ----------
        run
            The run's profile, or its :class:`RunValues` (what the history store keeps for
            this check; the caller vouches that they were measured with the baseline's
            settings).
        check
            ``False``: remember the run (and its own per-run p-values) without checking the
            windows; the verdict stays the previous one. Catching up on stored runs whose
            verdicts are already known costs no window test.

        Raises
        ------
        IncompatibleProfilesError
            The profile cannot merge with the baseline (other settings, another dataset).
        """
        if isinstance(run, Profile):
            self.baseline.check_mergeable(run)
            run = RunValues.of(run, self._base)
        self._n_runs += 1
        if run.n_images < self.config.min_images:
            self._small.append(self._n_runs)
        self._runs.append({metric: run.sample(metric) or EMPTY_SAMPLE for metric in self._base})
        if not check:
            self._run_p.append(self._alone())
            return self
        tests = self._check()
        if any(t.drift_detected for t in tests):
            self._alarms.append(self._n_runs)
        self._result = self._verdict(tests)
        return self

    def _alone(self) -> dict[str, float]:
        """The p-value of each metric of the latest run on its own (NaN: too few values)."""
        latest = [
            (m, s) for m, s in self._runs[-1].items() if self._size(s) >= self.config.min_images
        ]
        _, p = self._test(latest)
        alone = dict.fromkeys(self._base, math.nan)
        alone.update({m: float(p[i]) for i, (m, _) in enumerate(latest)})
        return alone

    def _size(self, sample: Sample) -> int:
        """The values the configured test sees in ``sample``."""
        return sample.moments.count if self.config.test == "welch" else int(sample.values.size)

    def _test(
        self, samples: Sequence[tuple[str, Sample]]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(statistic, p-value) of each ``(metric, sample)`` against the baseline."""
        if not samples:
            return np.zeros(0), np.zeros(0)
        if self.config.test == "welch":
            return welch_tests([(self._base[m].moments, s.moments) for m, s in samples])
        return ks_tests([(self._base[m].values, s.values) for m, s in samples])

    def _check(self) -> tuple[WindowTest, ...]:
        """The checks of the windows ending with the latest run, Holm-corrected together."""
        cfg = self.config
        seen = len(self._runs)
        rows = list(self._runs)
        # The latest run alone (for the explanation, not a check), then the windows.
        latest = [(m, s) for m, s in rows[-1].items() if self._size(s) >= cfg.min_images]
        candidates: list[tuple[str, int, Sample]] = [(m, 1, s) for m, s in latest]
        for metric in self._base:
            for k in cfg.windows:
                if k > seen:
                    continue
                merged = merge_samples([r[metric] for r in rows[seen - k :]])
                if self._size(merged) >= cfg.min_images:
                    candidates.append((metric, k, merged))
        statistic, p = self._test([(m, s) for m, _, s in candidates])
        alone = dict.fromkeys(self._base, math.nan)
        alone.update({m: float(p[i]) for i, (m, _) in enumerate(latest)})
        self._run_p.append(alone)
        past = list(self._run_p)
        n_alone = len(latest)
        candidates, statistic, p = candidates[n_alone:], statistic[n_alone:], p[n_alone:]
        if not candidates:
            return ()
        thresholds, rejected = holm(p, cfg.level)
        mean_p = (
            p
            if cfg.test == "welch"
            else welch_tests([(self._base[m].moments, s.moments) for m, _, s in candidates])[1]
        )
        out: list[WindowTest] = []
        for i, (metric, k, merged) in enumerate(candidates):
            base = self._base[metric].moments
            change = merged.moments.mean - base.mean
            out.append(
                WindowTest(
                    metric=metric,
                    label=label_of(metric)[0],
                    window=k,
                    first_run=self._n_runs - k + 1,
                    last_run=self._n_runs,
                    n_images=merged.moments.count,
                    n_baseline=base.count,
                    n_tested=self._size(merged),
                    baseline_mean=base.mean,
                    mean=merged.moments.mean,
                    change=change,
                    relative_change=change / abs(base.mean) if base.mean != 0 else None,
                    effect_size=change / base.std if base.std > 0 else 0.0,
                    test=cfg.test,
                    statistic=float(statistic[i]),
                    p_value=float(p[i]),
                    mean_p_value=float(mean_p[i]),
                    threshold=float(thresholds[i]),
                    drift_detected=bool(rejected[i]),
                    run_p_values=tuple(a[metric] for a in past[seen - k :]),
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
            return drift_sentence(best, cfg.alpha)
        earlier = f" (alarms were raised at runs {runs_span(self._alarms)})" if self._alarms else ""
        if not self._base:
            return (
                "No slow-drift check can be made: the baseline has no values of "
                f"{', '.join(self._metrics)} (at least {cfg.min_images} images needed)."
            )
        if not tests:
            if self._n_runs < cfg.windows[0]:
                return (
                    f"No slow-drift check yet: {self._n_runs} run(s) seen, the shortest window is "
                    f"{cfg.windows[0]} runs{earlier}."
                )
            return (
                f"No slow-drift check after run {self._n_runs}: no window of the last "
                f"{windows_words(cfg.windows)} runs holds {cfg.min_images} images{earlier}."
            )
        tested = sorted({t.window for t in tests})
        labels = list(dict.fromkeys(t.label for t in tests))
        return (
            f"No slow drift after run {self._n_runs}: the merged last {windows_words(tested)} "
            f"runs do not differ from the baseline in {words(labels)} (family-wise alpha "
            f"{cfg.alpha:g} over {cfg.horizon} runs){earlier}."
        )


def detect_slow_drift(
    baseline: Profile,
    runs: Sequence[Profile | RunValues],
    config: SlowDriftConfig | None = None,
    *,
    check: Literal["every", "last"] = "every",
) -> SlowDriftResult:
    """Check a stored sequence of runs (oldest first) for slow drift from ``baseline``.

    Every run is checked in turn, as :class:`SlowDriftMonitor` would have checked it when it
    arrived; the result is the verdict after the last run, with every run that raised an alarm.

    Parameters
    ----------
    baseline
        The profile every run is compared with.
    runs
        The runs' profiles (or their :class:`RunValues`), oldest first.
    config
        The settings (the defaults when ``None``).
    check
        ``"every"``: check every run in turn; ``"last"``: only the last run's windows (the same
        verdict and sentence, without ``alarm_runs`` of the earlier runs; what the monitor does
        after each run, whose earlier verdicts are already recorded).

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
        ``runs`` is not a sequence of profiles or run values, or a configured metric is unknown.
    """
    if isinstance(runs, Profile) or not all(isinstance(r, Profile | RunValues) for r in runs):
        raise ConfigError(
            "detect_slow_drift needs the runs as a sequence of Profile (or RunValues) objects, "
            f"oldest first. Got {type(runs).__name__} instead."
        )
    if check not in ("every", "last"):
        raise ConfigError(f"The 'check' must be 'every' or 'last'. Got {check!r} instead.")
    monitor = SlowDriftMonitor(baseline, config)
    for i, run in enumerate(runs):
        monitor.update(run, check=check == "every" or i == len(runs) - 1)
    return monitor.result
