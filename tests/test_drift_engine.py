"""The multivariate part of the engine: embedding MMD and domain classifier in the Holm family."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy import stats

from visiondrift.detectors.multitest import adjust_pvalues
from visiondrift.drift import DEFAULT_BANDS, DriftReport, compare
from visiondrift.measure.properties import PROPERTY_NAMES
from visiondrift.profiles import Profile, ProfileConfig
from visiondrift.profiles.model_summary import ModelSummary, model_column_values
from visiondrift.profiles.sketches import CategoryCounts, Moments, Reservoir

SEVERITY = ("none", "low", "medium", "high")
CLASSES = ("a", "b", "c")
N_PROPS = len(PROPERTY_NAMES)


def _pool(n: int, seed: int) -> NDArray[np.float64]:
    """Per-image property rows with realistic, positive, differently scaled columns."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(0.2, 5.0, N_PROPS)
    return rng.gamma(4.0, 1.0, size=(n, N_PROPS)) * scales


def _profile(
    values: NDArray[np.float64],
    *,
    embedding: NDArray[np.float64] | None = None,
    model: bool = False,
    seed: int = 0,
    logit_scale: float = 2.0,
) -> Profile:
    n = values.shape[0]
    rng = np.random.default_rng(seed)
    columns = {name: values[:, i].copy() for i, name in enumerate(PROPERTY_NAMES)}
    vectors: dict[str, NDArray[np.float32]] = {}
    summary = None
    config = ProfileConfig()
    if model or embedding is not None:
        logits = rng.normal(size=(n, len(CLASSES))) * logit_scale
        probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        columns.update(model_column_values(probs))
        vectors["probs"] = probs.astype(np.float32)
        if embedding is not None:
            vectors["embedding"] = embedding.astype(np.float32)
        summary = ModelSummary.empty(CLASSES, {"name": "test"}).add(
            vectors["probs"], config.low_confidence
        )
    return Profile(
        config=config,
        n_files=n,
        n_images=n,
        bad_counts={},
        bad_files=(),
        channels=np.full((4, 256), n, dtype=np.int64),
        moments={k: Moments.of(columns[k]) for k in PROPERTY_NAMES},
        formats=CategoryCounts({"JPEG": n}),
        modes=CategoryCounts({"RGB": n}),
        labels=CategoryCounts({}),
        reservoir=Reservoir(
            max(10, n),
            np.arange(n, dtype=np.uint64),
            tuple(f"img{i}.jpg" for i in range(n)),
            tuple(None for _ in range(n)),
            columns,
            vectors,
        ),
        model=summary,
    )


def _embedding(n: int, seed: int, shift: float = 0.0) -> NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 8)) + shift


def _names(report: DriftReport) -> set[str]:
    return {m.name for m in report.metrics}


def test_embedding_and_domain_candidates_appear_when_expected() -> None:
    base = _profile(_pool(300, 1), embedding=_embedding(300, 1), seed=1)
    cur = _profile(_pool(100, 2), embedding=_embedding(100, 2), seed=2)
    report = compare(base, cur)
    assert {"embedding", "domain"} <= _names(report)
    assert report.metric("embedding").family == "embedding"
    assert report.metric("domain").family == "domain"
    assert report.metric("domain").bands == DEFAULT_BANDS["domain"]
    # Without embeddings (or on one side only) there is no MMD candidate; domain stays.
    plain = compare(_profile(_pool(300, 1)), _profile(_pool(100, 2)))
    assert "embedding" not in _names(plain)
    assert "domain" in _names(plain)
    one_sided = compare(base, _profile(_pool(100, 2), model=True, seed=2))
    assert "embedding" not in _names(one_sided)
    # Too few images: no multivariate candidate at all.
    tiny = compare(_profile(_pool(300, 1)), _profile(_pool(5, 2)))
    assert not {"embedding", "domain"} & _names(tiny)


def test_identical_data_gives_no_drift() -> None:
    p = _profile(_pool(200, 3), embedding=_embedding(200, 3), seed=3)
    report = compare(p, p)
    assert not report.overall_drift_detected
    assert report.severity == "none"
    assert report.metric("embedding").p_adjusted > 0.05
    assert report.metric("domain").p_adjusted > 0.05


def test_embedding_shift_is_found_and_explained() -> None:
    base = _profile(_pool(400, 4), embedding=_embedding(400, 4), seed=4)
    cur = _profile(_pool(200, 5), embedding=_embedding(200, 5, shift=1.0), seed=5)
    report = compare(base, cur)
    emb = report.metric("embedding")
    assert emb.status == "drift"
    # The MMD's own band is large, but it is a detection metric: with no image property and no
    # model output moving, its severity is capped at "low" (tests/test_severity.py).
    assert emb.details.band_severity in ("medium", "high")
    assert emb.role == "detection"
    assert emb.severity == "low"
    assert emb.explanation is not None
    assert "MMD" in emb.explanation
    assert report.overall_drift_detected


def test_domain_classifier_sees_a_joint_shift_and_says_so() -> None:
    pool = _pool(400, 6)
    cur_values = _pool(200, 7) * 1.3  # every property 30% larger
    report = compare(_profile(pool), _profile(cur_values))
    dom = report.metric("domain")
    assert dom.status == "drift"
    assert dom.current is not None
    assert dom.current > 0.75
    assert dom.effect_size == pytest.approx(dom.current - 0.5)
    assert dom.explanation is not None
    assert dom.explanation.startswith("A classifier tells the batch from the baseline with AUC")
    assert "differ as a whole" in dom.explanation


def test_false_alarms_on_random_halves_stay_within_binomial_bound() -> None:
    trials, alpha = 40, 0.05
    pool = _pool(160, 8)
    emb = _embedding(160, 8)
    alarms = 0
    for seed in range(trials):
        order = np.random.default_rng(seed).permutation(160)
        a, b = order[:80], order[80:]
        report = compare(
            _profile(pool[a], embedding=emb[a], seed=seed),
            _profile(pool[b], embedding=emb[b], seed=seed + 1000),
            alpha=alpha,
        )
        alarms += report.overall_drift_detected
    bound = stats.binom.ppf(0.99, trials, alpha)
    assert alarms <= bound, f"{alarms} alarms in {trials} no-drift trials (bound {bound})"


def test_severity_never_decreases_as_the_shift_grows() -> None:
    base = _profile(_pool(300, 9), embedding=_embedding(300, 9), seed=9)
    emb_sev, dom_sev = [], []
    for k, shift in enumerate((0.0, 0.1, 0.3, 0.6, 1.0, 2.0)):
        cur = _profile(
            _pool(150, 10) * (1.0 + 0.3 * shift),
            embedding=_embedding(150, 10, shift=shift),
            seed=10 + k,
        )
        report = compare(base, cur)
        for metric, found in (
            (report.metric("embedding"), emb_sev),
            (report.metric("domain"), dom_sev),
        ):
            # The metric's own band (before the caps: detection metrics, and image changes the
            # model's unchanged outputs do not feel) and the severity it reports.
            band = str(metric.details.band_severity or metric.severity)
            found.append((SEVERITY.index(band), SEVERITY.index(metric.severity)))
    for found in (emb_sev, dom_sev):
        assert found == sorted(found), found
        assert [reported for _, reported in found] == sorted(r for _, r in found), found
        assert found[-1][0] == 3, found
        # The model's outputs did not move (random probabilities on both sides): low at most.
        assert found[-1][1] == 1, found


def test_bh_option_adjusts_every_p_value_of_the_family() -> None:
    base = _profile(_pool(300, 11), embedding=_embedding(300, 11), seed=11)
    cur = _profile(_pool(120, 12) * 1.05, embedding=_embedding(120, 12, shift=0.3), seed=12)
    holm = compare(base, cur)
    bh = compare(base, cur, correction="bh")
    assert bh.correction == "bh"
    assert holm.n_tests == bh.n_tests
    raw = [m.p_value for m in bh.metrics]
    expected = adjust_pvalues(raw, "bh")
    assert [m.p_adjusted for m in bh.metrics] == pytest.approx(expected.tolist())
    # BH is never stricter than Holm.
    holm_adj = {m.name: m.p_adjusted for m in holm.metrics}
    assert all(m.p_adjusted <= holm_adj[m.name] + 1e-12 for m in bh.metrics)
    assert bh.n_drifted >= holm.n_drifted


def test_atypical_images_include_low_confidence_outputs() -> None:
    pool = _pool(300, 13)
    base = _profile(pool, model=True, seed=13, logit_scale=4.0)
    cur = _profile(_pool(100, 14), model=True, seed=14, logit_scale=0.5)
    report = compare(base, cur)
    assert report.metric("confidence").status == "drift"
    assert report.atypical_images
    assert any(r.startswith("model confidence") for a in report.atypical_images for r in a.reasons)
