"""Slow drift over a history of runs (drift.slow), on crops of real photos.

Crops are measured once per tone (the project's decoder and measurer on JPEG bytes); run
profiles are built from the measured rows by the one ProfileBuilder, or, for the many sequences
of the calibration test, assembled from the same rows as the builder would.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image
from scipy import stats

from visiondrift.decode import DecodedImage, decode_image
from visiondrift.drift import (
    MODEL_CONFIDENCE,
    SLOW_DRIFT_METRICS,
    WELCH_METRICS,
    SlowDriftConfig,
    SlowDriftMonitor,
    detect_slow_drift,
)
from visiondrift.errors import ConfigError, IncompatibleProfilesError
from visiondrift.measure import PROPERTIES, PROPERTY_NAMES
from visiondrift.measure._measurer import ImageMeasurer
from visiondrift.models import ModelSpec
from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
from visiondrift.profiles.sketches import CategoryCounts, Moments, Reservoir
from visiondrift.sources import ImageItem

SIDE = 64
PER_RUN = 60
RUNS = 16
N_BASE = 400
CONFIG = ProfileConfig()
MODEL_CONFIG = ProfileConfig(model=ModelSpec(Path("/models/classifier.onnx")))
CLASSES = ("dark", "light")
Photos = list[tuple[str, NDArray[np.uint8]]]


@dataclass(frozen=True)
class Measured:
    hists: NDArray[np.int64]
    values: NDArray[np.float64]


def _crops(photos: Photos, n: int, seed: int) -> list[NDArray[np.uint8]]:
    """``n`` random square crops of the photos, SIDE x SIDE."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        _, photo = photos[int(rng.integers(len(photos)))]
        h, w = photo.shape[:2]
        side = int(rng.integers(max(8, int(0.3 * min(h, w))), min(h, w)))
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = Image.fromarray(photo[y : y + side, x : x + side])
        out.append(np.asarray(crop.resize((SIDE, SIDE), Image.Resampling.BILINEAR)))
    return out


def _measure(arrays: Sequence[NDArray[np.uint8]], gain: float = 1.0) -> Measured:
    """Pixels times ``gain``, written as JPEG, decoded and measured."""
    measurer = ImageMeasurer(CONFIG.measure)
    for i, a in enumerate(arrays):
        pixels = np.clip(np.rint(a * gain), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=90)
        decoded = decode_image(buf.getvalue(), f"{i}.jpg")
        assert isinstance(decoded, DecodedImage)
        measurer.add(decoded)
    hists, values = measurer.finish()
    return Measured(hists, values)


def _confidence(values: NDArray[np.float64]) -> NDArray[np.float32]:
    """A two-class 'model' of the image's brightness: P(light) = logistic(12 (b - 0.45))."""
    light = 1.0 / (1.0 + np.exp(-12.0 * (values[:, PROPERTY_NAMES.index("brightness")] - 0.45)))
    return np.stack([1.0 - light, light], axis=1).astype(np.float32)


def _build(m: Measured, prefix: str, config: ProfileConfig = CONFIG) -> Profile:
    """The profile of measured images, through ProfileBuilder.add_measured."""
    builder = ProfileBuilder(config)
    probs = _confidence(m.values)
    if config.model is not None:
        builder.set_model(CLASSES, {"format": "onnx"})
    for i in range(m.values.shape[0]):
        path = f"{prefix}/{i}.jpg"
        builder.add_measured(
            ImageItem(path, path, None),
            m.hists[i],
            m.values[i],
            format="JPEG",
            mode="RGB",
            prediction=(probs[i], None) if config.model is not None else None,
        )
    return builder.build()


def _assembled(values: NDArray[np.float64], hists: NDArray[np.int64]) -> Profile:
    """The profile ProfileBuilder would build from these rows (no decoding, no hashing)."""
    n = values.shape[0]
    columns = {name: values[:, i].copy() for i, name in enumerate(PROPERTY_NAMES)}
    return Profile(
        config=CONFIG,
        n_files=n,
        n_images=n,
        bad_counts={},
        bad_files=(),
        channels=hists.sum(axis=0),
        moments={k: Moments.of(columns[k]) for k in PROPERTY_NAMES},
        formats=CategoryCounts({"JPEG": n}),
        modes=CategoryCounts({"RGB": n}),
        labels=CategoryCounts({}),
        reservoir=Reservoir(
            CONFIG.reservoir_size,
            np.arange(n, dtype=np.uint64),
            tuple(f"{i}.jpg" for i in range(n)),
            (None,) * n,
            columns,
            {},
        ),
    )


@pytest.fixture(scope="module")
def base_arrays(photos: Photos) -> list[NDArray[np.uint8]]:
    return _crops(photos, N_BASE, seed=31)


@pytest.fixture(scope="module")
def run_arrays(photos: Photos) -> list[NDArray[np.uint8]]:
    return _crops(photos, RUNS * PER_RUN, seed=32)


@pytest.fixture(scope="module")
def baseline_measured(base_arrays: list[NDArray[np.uint8]]) -> Measured:
    return _measure(base_arrays)


@pytest.fixture(scope="module")
def baseline(baseline_measured: Measured) -> Profile:
    return _build(baseline_measured, "baseline")


@pytest.fixture(scope="module")
def drifted(run_arrays: list[NDArray[np.uint8]]) -> Callable[[float], list[Measured]]:
    """The runs' measured rows when run t (1-based) has gain ``1 - step t`` (cached)."""
    cache: dict[float, list[Measured]] = {}

    def get(step: float) -> list[Measured]:
        if step not in cache:
            cache[step] = [
                _measure(run_arrays[t * PER_RUN : (t + 1) * PER_RUN], 1.0 - step * (t + 1))
                for t in range(RUNS)
            ]
        return cache[step]

    return get


def _runs(measured: list[Measured], config: ProfileConfig = CONFIG) -> list[Profile]:
    return [_build(m, f"run{t}", config) for t, m in enumerate(measured)]


def _first(step: float, baseline: Profile, drifted: Callable[[float], list[Measured]]) -> float:
    k = detect_slow_drift(baseline, _runs(drifted(step))).first_alarm_run
    return math.inf if k is None else k


# ---------------------------------------------------------------------------- exact


@pytest.mark.parametrize("test", ["ks", "welch"])
def test_every_check_equals_scipy_on_the_pooled_images(
    baseline: Profile, drifted: Callable[[float], list[Measured]], test: Literal["ks", "welch"]
) -> None:
    config = SlowDriftConfig(horizon=20, windows=(2, 4, 8), test=test)
    runs = _runs(drifted(0.01))[:10]
    result = detect_slow_drift(baseline, runs, config)
    assert result.n_runs == 10
    metrics = [m for m in (config.metrics or ()) if m != MODEL_CONFIDENCE]
    assert result.skipped_metrics == (MODEL_CONFIDENCE,)
    assert [(t.metric, t.window) for t in result.tests] == [
        (m, k) for m in metrics for k in (2, 4, 8)
    ]
    p_values = []
    for t in result.tests:
        base = baseline.values(t.metric)
        pooled = np.concatenate([r.values(t.metric) for r in runs[10 - t.window :]])
        if test == "ks":
            ref = stats.ks_2samp(base, pooled, method="asymp")
            en = base.size * pooled.size / (base.size + pooled.size)
            assert t.statistic == pytest.approx(ref.statistic, rel=1e-12)
            # Kolmogorov's limiting distribution: never more liberal than scipy's finite-size one.
            assert t.p_value == pytest.approx(stats.kstwobign.sf(np.sqrt(en) * ref.statistic))
            assert t.p_value >= ref.pvalue * (1 - 1e-9)
        else:
            ref = stats.ttest_ind(pooled, base, equal_var=False)
            assert t.statistic == pytest.approx(ref.statistic, rel=1e-9)
            assert t.p_value == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-300)
        mean_ref = stats.ttest_ind(pooled, base, equal_var=False).pvalue
        assert t.mean_p_value == pytest.approx(mean_ref, rel=1e-6, abs=1e-300)
        assert (t.first_run, t.last_run, t.n_images, t.n_tested) == (
            11 - t.window,
            10,
            pooled.size,
            pooled.size,
        )
        assert t.mean == pytest.approx(pooled.mean(), rel=1e-12)
        assert t.baseline_mean == pytest.approx(base.mean(), rel=1e-12)
        assert t.effect_size == pytest.approx((pooled.mean() - base.mean()) / base.std(ddof=1))
        assert len(t.run_p_values) == t.window
        p_values.append(t.p_value)
    # Holm at alpha / horizon over the run's checks.
    order = np.argsort(p_values, kind="stable")
    level = 0.05 / 20
    expected = np.zeros(len(p_values), dtype=bool)
    for rank, i in enumerate(order):
        if p_values[i] > level / (len(p_values) - rank):
            break
        expected[i] = True
    assert [t.threshold for t in result.tests] == pytest.approx(
        [level / (len(p_values) - int(np.flatnonzero(order == i)[0])) for i in range(len(order))]
    )
    assert [t.drift_detected for t in result.tests] == expected.tolist()
    assert result.drift_detected == bool(expected.any())


def test_the_monitor_and_the_stored_sequence_agree(
    baseline: Profile, drifted: Callable[[float], list[Measured]]
) -> None:
    runs = _runs(drifted(0.01))
    monitor = SlowDriftMonitor(baseline)
    alarms = []
    for i, run in enumerate(runs, start=1):
        assert monitor.update(run) is monitor
        if monitor.drift_detected:
            alarms.append(i)
    batch = detect_slow_drift(baseline, runs)
    assert monitor.result == batch
    assert batch.alarm_runs == tuple(alarms)
    assert batch.first_alarm_run == (alarms[0] if alarms else None)
    with pytest.raises(AttributeError):
        monitor.drift_detected = False  # type: ignore[misc]


def test_checking_only_the_last_run_and_reading_run_values_give_the_same_verdict(
    baseline: Profile, drifted: Callable[[float], list[Measured]]
) -> None:
    from visiondrift.drift import RunValues

    runs = _runs(drifted(0.01))
    for k in (len(runs) // 2, len(runs)):
        every = detect_slow_drift(baseline, runs[:k])
        last = detect_slow_drift(baseline, runs[:k], check="last")
        assert last.tests == every.tests  # the windows of the last run, the same p-values
        assert (last.drift_detected, last.metric, last.window, last.explanation) == (
            every.drift_detected,
            every.metric,
            every.window,
            every.explanation,
        )
        assert last.alarm_runs == ((k,) if every.drift_detected else ())
        # What the store keeps of each run (a compact binary form) checks like the profiles.
        kept = [RunValues.from_bytes(RunValues.of(r, SLOW_DRIFT_METRICS).to_bytes()) for r in runs]
        assert kept[0] == RunValues.of(runs[0], SLOW_DRIFT_METRICS)
        assert detect_slow_drift(baseline, kept[:k], check="last") == last
    assert detect_slow_drift(baseline, runs).drift_detected  # the drift was there to find
    with pytest.raises(ConfigError, match="'check' must be 'every' or 'last'"):
        detect_slow_drift(baseline, runs, check="first")  # type: ignore[arg-type]


def test_damaged_run_values_are_a_format_error(baseline: Profile) -> None:
    import zlib

    from visiondrift.drift import RunValues
    from visiondrift.errors import ProfileFormatError

    blob = RunValues.of(baseline, SLOW_DRIFT_METRICS).to_bytes()
    raw = zlib.decompress(blob)
    for bad in (blob[:-7], zlib.compress(raw[:-8]), zlib.compress(b"{}\n")):
        with pytest.raises(ProfileFormatError, match="slow-drift values are damaged"):
            RunValues.from_bytes(bad, origin="run 1")


# ---------------------------------------------------------------------------- no drift


def test_identical_runs_raise_no_alarm(baseline: Profile, baseline_measured: Measured) -> None:
    # Every run is the baseline's own images (the same 400 images, 16 times).
    result = detect_slow_drift(baseline, [baseline] * RUNS)
    assert not result.drift_detected
    assert result.alarm_runs == ()
    assert all(t.p_value == 1.0 and t.statistic == 0.0 for t in result.tests)
    assert result.explanation.startswith(f"No slow drift after run {RUNS}: ")


def test_clean_runs_of_fresh_crops_raise_no_alarm(
    baseline: Profile, drifted: Callable[[float], list[Measured]]
) -> None:
    result = detect_slow_drift(baseline, _runs(drifted(0.0)))
    assert result.first_alarm_run is None
    assert min(t.p_value / t.threshold for t in result.tests) > 1.0
    assert result.explanation == (
        f"No slow drift after run {RUNS}: the merged last 2, 4, 8 or 16 runs do not differ from "
        "the baseline in brightness, contrast, saturation, colourfulness, sharpness, noise, "
        "crushed shadows or blown highlights (family-wise alpha 0.05 over 30 runs)."
    )


def test_false_alarms_within_alpha_over_clean_sequences(
    baseline_measured: Measured, drifted: Callable[[float], list[Measured]]
) -> None:
    # 200 sequences of 30 runs (the default horizon) of 40 images and a baseline of 200, every
    # image drawn with replacement from 1360 real crops: clean by construction.
    pool_values = np.concatenate([baseline_measured.values] + [m.values for m in drifted(0.0)])
    pool_hists = np.concatenate([baseline_measured.hists] + [m.hists for m in drifted(0.0)])
    config = SlowDriftConfig()
    rng = np.random.default_rng(5)
    trials = 200
    alarms = 0
    for _ in range(trials):
        draw = rng.integers(0, pool_values.shape[0], 200 + config.horizon * 40)
        base = _assembled(pool_values[draw[:200]], pool_hists[draw[:200]])
        runs = [
            _assembled(pool_values[idx], pool_hists[idx])
            for idx in np.split(draw[200:], config.horizon)
        ]
        alarms += detect_slow_drift(base, runs, config).first_alarm_run is not None
    assert alarms <= stats.binom.ppf(0.99, trials, config.alpha)


# ---------------------------------------------------------------------------- drift


def test_a_steady_brightness_drift_is_caught_and_explained(
    baseline: Profile, drifted: Callable[[float], list[Measured]]
) -> None:
    runs = _runs(drifted(0.01))
    result = detect_slow_drift(baseline, runs)
    assert result.drift_detected
    k = result.first_alarm_run
    assert k is not None
    assert k < RUNS
    best = next(t for t in result.tests if t.metric == result.metric and t.window == result.window)
    assert best.drift_detected
    assert best.p_value == min(t.p_value for t in result.tests if t.drift_detected)
    assert all(t.change < 0 for t in result.tests if t.metric == "brightness")
    # The sentence states the numbers of the check that alarmed.
    spec = next(p for p in PROPERTIES if p.name == best.metric)
    match = re.fullmatch(
        r"(.+?) has moved: the last (\d+) runs \((\d+) images\) are ([\d.]+)% (.+) than the "
        r"baseline \(mean (\S+) → (\S+)\), (.+)\.",
        result.explanation,
    )
    assert best.mean_p_value <= 0.05
    assert match is not None, result.explanation
    label, window, n, pct, word, before, after, single = match.groups()
    assert label.lower() == best.label
    assert (int(window), int(n)) == (best.window, best.n_images)
    assert float(pct) == pytest.approx(100 * abs(best.relative_change or 0), abs=0.051)
    assert word == (spec.more if best.change > 0 else spec.less)
    assert float(before) == pytest.approx(best.baseline_mean, rel=1e-2)
    assert float(after) == pytest.approx(best.mean, rel=1e-2)
    flagged = sum(p <= 0.05 for p in best.run_p_values)
    if flagged:
        assert single.startswith(f"and {flagged} of those {best.window} runs already differ")
    else:
        assert single == (
            "though no single one of those runs differs from the baseline at alpha 0.05 "
            f"(smallest single-run p-value {min(best.run_p_values):.2g})"
        )


def test_a_steeper_drift_is_never_caught_later(
    baseline: Profile, drifted: Callable[[float], list[Measured]]
) -> None:
    firsts = [_first(step, baseline, drifted) for step in (0.005, 0.01, 0.02)]
    assert firsts[-1] < math.inf
    assert firsts == sorted(firsts, reverse=True)


def test_model_confidence_is_a_metric_when_there_is_a_model(
    baseline_measured: Measured, drifted: Callable[[float], list[Measured]]
) -> None:
    config = SlowDriftConfig(metrics=(MODEL_CONFIDENCE,))
    base = _build(baseline_measured, "baseline", MODEL_CONFIG)
    clean = detect_slow_drift(base, _runs(drifted(0.0), MODEL_CONFIG), config)
    assert clean.first_alarm_run is None
    assert clean.skipped_metrics == ()
    result = detect_slow_drift(base, _runs(drifted(0.02), MODEL_CONFIG), config)
    assert result.drift_detected
    assert result.metric == MODEL_CONFIDENCE
    best = next(t for t in result.tests if t.window == result.window)
    assert best.label == "model confidence"
    assert best.mean == pytest.approx(
        np.mean([np.max(_confidence(m.values), axis=1) for m in drifted(0.02)[-best.window :]]),
        rel=1e-6,
    )
    # Without a model in the baseline the metric is skipped, and said to be.
    plain = detect_slow_drift(_build(baseline_measured, "b"), _runs(drifted(0.0)), config)
    assert plain.skipped_metrics == (MODEL_CONFIDENCE,)
    assert plain.tests == ()
    assert plain.explanation.startswith("No slow-drift check can be made: ")


# ---------------------------------------------------------------------------- edges


def test_runs_with_too_few_images_are_listed_not_fatal(
    baseline: Profile, drifted: Callable[[float], list[Measured]]
) -> None:
    full = drifted(0.0)
    tiny = [Measured(m.hists[:3], m.values[:3]) for m in full[:4]]
    runs = [*_runs(tiny), _build(Measured(full[4].hists[:0], full[4].values[:0]), "empty")]
    result = detect_slow_drift(baseline, runs)
    assert result.small_runs == (1, 2, 3, 4, 5)
    # Windows of 2 runs hold 6 or 3 images (fewer than 20): not checked; 4 runs hold 12.
    assert result.tests == ()
    assert result.explanation == (
        "No slow-drift check after run 5: no window of the last 2, 4, 8 or 16 runs holds 20 images."
    )
    more = detect_slow_drift(baseline, runs + _runs(full[5:8]))
    assert {t.window for t in more.tests} == {2, 4, 8}
    assert detect_slow_drift(baseline, runs[:1]).explanation == (
        "No slow-drift check yet: 1 run(s) seen, the shortest window is 2 runs."
    )


def test_profiles_of_other_settings_raise_the_merge_error(baseline: Profile) -> None:
    other = Profile.empty(ProfileConfig(reservoir_size=50))
    with pytest.raises(IncompatibleProfilesError) as expected:
        baseline.check_mergeable(other)
    with pytest.raises(IncompatibleProfilesError) as got:
        detect_slow_drift(baseline, [other])
    assert str(got.value) == str(expected.value)
    with pytest.raises(ConfigError, match=r"sequence of Profile \(or RunValues\) objects"):
        detect_slow_drift(baseline, baseline)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Unknown metric 'sharpnes'"):
        SlowDriftMonitor(baseline, SlowDriftConfig(metrics=("sharpnes",)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 1.5}, "The 'alpha' parameter of SlowDriftConfig must be in (0, 1). Got 1.5"),
        ({"alpha": True}, "The 'alpha' parameter of SlowDriftConfig must be in (0, 1). Got True"),
        ({"horizon": 0}, "'horizon' parameter of SlowDriftConfig must be an integer of at least 1"),
        ({"horizon": 2.5}, "'horizon' parameter of SlowDriftConfig must be an integer"),
        (
            {"min_images": 1},
            "'min_images' parameter of SlowDriftConfig must be an integer of at "
            "least 2. Got 1 instead.",
        ),
        ({"windows": ()}, "'windows' parameter of SlowDriftConfig must be a non-empty tuple"),
        ({"windows": (2, 2)}, "distinct positive integers"),
        ({"windows": [2, 4]}, "Got [2, 4] instead."),
        ({"windows": (0, 4)}, "Got (0, 4) instead."),
        ({"metrics": ()}, "'metrics' parameter of SlowDriftConfig must be a non-empty tuple"),
        ({"metrics": ("brightness", "brightness")}, "distinct metric names"),
        (
            {"test": "t"},
            "The 'test' parameter of SlowDriftConfig must be one of ['ks', 'welch']. "
            "Got 't' instead.",
        ),
    ],
)
def test_config_validation_messages(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        SlowDriftConfig(**kwargs)
    assert message in str(err.value)


def test_windows_are_sorted_and_the_level_is_alpha_over_the_horizon() -> None:
    config = SlowDriftConfig(alpha=0.1, horizon=50, windows=(8, 2, 4))
    assert config.windows == (2, 4, 8)
    assert config.level == pytest.approx(0.002)
    # The default metrics depend on the test: Welch's keeps to bounded ones.
    assert config.metrics == SLOW_DRIFT_METRICS
    assert SlowDriftConfig(test="welch").metrics == WELCH_METRICS
    assert SlowDriftConfig(test="welch", metrics=("noise",)).metrics == ("noise",)


def test_a_change_of_distribution_at_the_same_mean_is_said_so(
    baseline: Profile, drifted: Callable[[float], list[Measured]]
) -> None:
    # Every run's brightness spread twice as wide about the baseline's own mean.
    col = PROPERTY_NAMES.index("brightness")
    mu = baseline.moments["brightness"].mean
    runs = []
    for m in drifted(0.0):
        values = m.values.copy()
        values[:, col] = mu + 2.0 * (values[:, col] - values[:, col].mean())
        runs.append(_assembled(values, m.hists))
    config = SlowDriftConfig(metrics=("brightness",))
    result = detect_slow_drift(baseline, runs, config)
    assert result.drift_detected
    assert (
        detect_slow_drift(
            baseline, runs, SlowDriftConfig(metrics=("brightness",), test="welch")
        ).first_alarm_run
        is None
    )
    best = next(t for t in result.tests if t.window == result.window)
    assert abs(best.change) < 1e-12
    assert best.mean_p_value > 0.05
    assert result.explanation.startswith(
        f"Brightness has moved: the last {best.window} runs ({best.n_images} images) differ from "
        f"the baseline in distribution (KS D = {best.statistic:.2f}), not clearly in mean "
        f"({mu:#.3g} → {best.mean:#.3g}), "
    )


def test_numbers_in_sentences_have_three_digits_and_no_bare_point() -> None:
    from visiondrift.drift._slow_words import _number

    assert _number(220.0) == "220"  # not "220."
    assert _number(0.4) == "0.400"
    assert _number(12.345) == "12.3"
    assert _number(1292.4) == "1,292"
