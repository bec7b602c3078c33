"""The contract every detector follows, checked over every detector (scikit-learn test_common)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import numpy as np
import pytest
from scipy import stats

from visiondrift.detectors import (
    AndersonDarlingDetector,
    BBSDDetector,
    ChiSquareDetector,
    ContaminationDetector,
    CramerVonMisesDetector,
    Detector,
    DomainClassifierDetector,
    FisherExactDetector,
    KSDetector,
    MMDDetector,
)
from visiondrift.errors import ConfigError, NotFittedError

Sample = Any
Pair = tuple[Sample, Sample]


@dataclass(frozen=True)
class Case:
    """How to build one detector cheaply and draw data for it."""

    cls: type[Detector]
    params: dict[str, Any]
    null: Callable[[np.random.Generator], Pair]
    shifted: Callable[[np.random.Generator], Pair]
    invalid: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    no_drift_effect: float = 0.0  # effect size that means "no change"
    seeded: bool = True


def _normal_pair(n_ref: int, n_cur: int, shift: float = 0.0, dims: int | None = None) -> Callable:
    def draw(rng: np.random.Generator) -> Pair:
        shape_ref = (n_ref,) if dims is None else (n_ref, dims)
        shape_cur = (n_cur,) if dims is None else (n_cur, dims)
        return rng.normal(size=shape_ref), rng.normal(loc=shift, size=shape_cur)

    return draw


def _contaminated_pair(n_ref: int, n_cur: int, share: float) -> Callable:
    """A batch of which a share comes from far away (one camera in four broken)."""

    def draw(rng: np.random.Generator) -> Pair:
        cur = rng.normal(size=(n_cur, 2))
        cur[: round(share * n_cur), 0] += 6.0
        return rng.normal(size=(n_ref, 2)), cur

    return draw


def _rounded_pair(shift: float) -> Callable:
    """Heavily tied values (rounded), where asymptotic p-values go wrong."""

    def draw(rng: np.random.Generator) -> Pair:
        return np.round(rng.normal(size=25)), np.round(rng.normal(loc=shift, size=20))

    return draw


def _labels_pair(shifted: bool) -> Callable:
    def draw(rng: np.random.Generator) -> Pair:
        ref = rng.choice(["a", "b", "c", "d"], p=[0.55, 0.3, 0.1, 0.05], size=40)
        p_cur = [0.2, 0.3, 0.1, 0.4] if shifted else [0.55, 0.3, 0.1, 0.05]
        return ref, rng.choice(["a", "b", "c", "d"], p=p_cur, size=30)

    return draw


def _binary_pair(n_ref: int, n_cur: int, p_cur: float) -> Callable:
    """0/1 outcomes (a file is unusable, a prediction is right) with shares 0.2 and ``p_cur``."""

    def draw(rng: np.random.Generator) -> Pair:
        ref = (rng.random(n_ref) < 0.2).astype(np.float64)
        return ref, (rng.random(n_cur) < p_cur).astype(np.float64)

    return draw


def _probability_pair(shifted: bool) -> Callable:
    def draw(rng: np.random.Generator) -> Pair:
        ref = rng.dirichlet([1.0, 1.0, 1.0], size=40)
        cur = rng.dirichlet([4.0, 1.0, 1.0] if shifted else [1.0, 1.0, 1.0], size=30)
        return ref, cur

    return draw


CASES: dict[str, Case] = {
    "ks": Case(
        KSDetector,
        {},
        _normal_pair(30, 25),
        _normal_pair(60, 50, shift=1.5),
        invalid=[
            ({"method": "fast"}, "The 'method' parameter of KSDetector must be one of"),
            ({"exact_max_size": 0}, "The 'exact_max_size' parameter of KSDetector must be an"),
        ],
        seeded=False,
    ),
    "anderson_darling": Case(
        AndersonDarlingDetector,
        {"n_permutations": 99},
        _rounded_pair(0.0),
        _normal_pair(60, 50, shift=1.5),
        invalid=[
            ({"n_permutations": 0}, "The 'n_permutations' parameter of AndersonDarlingDetector"),
            ({"method": "exact"}, "The 'method' parameter of AndersonDarlingDetector must be"),
            ({"seed": -1}, "The 'seed' parameter of AndersonDarlingDetector must be an integer"),
        ],
    ),
    "cramer_von_mises": Case(
        CramerVonMisesDetector,
        {"n_permutations": 99},
        _rounded_pair(0.0),
        _normal_pair(60, 50, shift=1.5),
        invalid=[
            ({"method": "mc"}, "The 'method' parameter of CramerVonMisesDetector must be one of"),
            ({"batch_size": 0}, "The 'batch_size' parameter of CramerVonMisesDetector must be"),
        ],
    ),
    "cramer_von_mises_exact": Case(
        CramerVonMisesDetector,
        {},
        _normal_pair(8, 7),
        _normal_pair(15, 12, shift=3.0),
    ),
    "chi_square": Case(
        ChiSquareDetector,
        {"n_permutations": 99},
        _labels_pair(shifted=False),
        _labels_pair(shifted=True),
        invalid=[
            ({"statistic": "cramer"}, "The 'statistic' parameter of ChiSquareDetector must be"),
            ({"psi_epsilon": 0.0}, "The 'psi_epsilon' parameter of ChiSquareDetector must be"),
            ({"cost": [[0, 1], [1, 0]]}, "The 'cost' parameter of ChiSquareDetector needs"),
            (
                {"categories": ["a", "b"], "cost": [[0, 1], [1, 1]]},
                "The 'cost' matrix must be finite and non-negative with a zero diagonal.",
            ),
        ],
    ),
    "chi_square_g": Case(
        ChiSquareDetector,
        {"n_permutations": 99, "statistic": "g"},
        _labels_pair(shifted=False),
        _labels_pair(shifted=True),
    ),
    "fisher": Case(
        FisherExactDetector,
        {},
        _binary_pair(60, 50, 0.2),
        _binary_pair(100, 80, 0.6),
        invalid=[
            ({"alternative": "up"}, "The 'alternative' parameter of FisherExactDetector must"),
        ],
        seeded=False,
    ),
    "mmd": Case(
        MMDDetector,
        {"n_permutations": 99},
        _normal_pair(30, 25, dims=3),
        _normal_pair(60, 50, shift=1.0, dims=3),
        invalid=[
            ({"bandwidth": -1.0}, "The 'bandwidth' parameter of MMDDetector must be 'median' or"),
            ({"max_current": 1}, "The 'max_current' parameter of MMDDetector must be an integer"),
        ],
    ),
    "bbsd": Case(
        BBSDDetector,
        {},
        _probability_pair(shifted=False),
        _probability_pair(shifted=True),
        invalid=[({"method": "perm"}, "The 'method' parameter of BBSDDetector must be one of")],
        seeded=False,
    ),
    "contamination": Case(
        ContaminationDetector,
        {"n_splits": 2, "n_permutations": 199},
        _normal_pair(40, 30, dims=2),
        _contaminated_pair(80, 60, share=0.25),
        invalid=[
            ({"gamma": 0.5}, "The 'gamma' parameter of ContaminationDetector must be in (0, 0.5)."),
            ({"stop_after": 0}, "The 'stop_after' parameter of ContaminationDetector must be an"),
            ({"C": -1}, "The 'C' parameter of ContaminationDetector must be a positive number."),
        ],
    ),
    "domain_classifier": Case(
        DomainClassifierDetector,
        {"n_splits": 2},
        _normal_pair(30, 30, dims=2),
        _normal_pair(60, 50, shift=1.5, dims=2),
        invalid=[
            ({"C": 0}, "The 'C' parameter of DomainClassifierDetector must be a positive number."),
            ({"n_splits": 1}, "The 'n_splits' parameter of DomainClassifierDetector must be an"),
            ({"p_value_method": "mw"}, "The 'p_value_method' parameter of DomainClassifier"),
        ],
        no_drift_effect=0.5,
    ),
}

IDS = list(CASES)


def _make(case: Case, seed: int | None = 0) -> Detector:
    params = dict(case.params)
    if case.seeded:
        params["seed"] = seed
    return case.cls(**params)


@pytest.fixture(params=IDS)
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


def test_every_detector_is_covered() -> None:
    import visiondrift.detectors as module

    exported = {
        obj
        for name in module.__all__
        if isinstance(obj := getattr(module, name), type)
        and issubclass(obj, Detector)
        and obj is not Detector
    }
    assert exported == {c.cls for c in CASES.values()}


def test_test_before_fit_raises_not_fitted(case: Case) -> None:
    _, cur = case.null(np.random.default_rng(0))
    with pytest.raises(NotFittedError, match="is not fitted yet"):
        _make(case).test(cur)
    assert issubclass(NotFittedError, ValueError)
    assert issubclass(NotFittedError, AttributeError)


def test_fit_returns_self_and_sets_trailing_underscore_attributes(case: Case) -> None:
    ref, _ = case.null(np.random.default_rng(0))
    detector = _make(case)
    assert not [k for k in vars(detector) if k.endswith("_")]
    assert detector.fit(ref) is detector
    assert detector.is_fitted
    assert [k for k in vars(detector) if k.endswith("_")]


def test_alpha_is_validated_with_a_clear_message(case: Case) -> None:
    name = case.cls.__name__
    expected = f"The 'alpha' parameter of {name} must be in (0, 1). Got 1.5 instead."
    with pytest.raises(ConfigError) as err:
        case.cls(**{**case.params, "alpha": 1.5})
    assert str(err.value) == expected


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [(name, params, msg) for name, c in CASES.items() for params, msg in c.invalid],
)
def test_invalid_parameters_are_rejected(name: str, params: dict[str, Any], message: str) -> None:
    case = CASES[name]
    with pytest.raises(ConfigError) as err:
        case.cls(**{**case.params, **params})
    assert str(err.value).startswith(message)
    assert "Got" in str(err.value) or "needs" in str(err.value) or "diagonal" in str(err.value)


def test_get_params_round_trips_through_the_constructor(case: Case) -> None:
    detector = _make(case)
    clone = case.cls(**detector.get_params())
    assert clone.get_params() == detector.get_params()


def test_result_is_frozen_and_complete(case: Case) -> None:
    ref, cur = case.shifted(np.random.default_rng(1))
    result = _make(case).fit(ref).test(cur)
    assert result.detector == case.cls.__name__
    assert 0.0 < result.p_value <= 1.0
    assert result.effect_unit
    assert result.n_reference == len(ref)
    assert result.n_current == len(cur)
    json.dumps(dict(result.details))  # details are JSON-serialisable
    with pytest.raises(FrozenInstanceError):
        result.p_value = 0.5  # type: ignore[misc]


def test_same_seed_gives_the_same_result(case: Case) -> None:
    ref, cur = case.shifted(np.random.default_rng(2))
    first = _make(case, seed=7).fit(ref).test(cur)
    second = _make(case, seed=7).fit(ref).test(cur)
    assert first == second
    detector = _make(case, seed=7).fit(ref)
    assert detector.test(cur) == detector.test(cur)  # test() does not consume the seed


def test_save_and_load_give_the_same_result(case: Case) -> None:
    ref, cur = case.shifted(np.random.default_rng(3))
    detector = _make(case, seed=11).fit(ref)
    state = json.loads(json.dumps(detector.to_dict()))
    restored = case.cls.from_dict(state)
    assert restored.get_params() == detector.get_params()
    assert restored.test(cur) == detector.test(cur)
    unfitted = case.cls.from_dict(json.loads(json.dumps(_make(case).to_dict())))
    assert not unfitted.is_fitted


def test_loading_another_detectors_state_is_refused(case: Case) -> None:
    state = {"detector": "SomethingElse", "params": {}}
    with pytest.raises(ConfigError, match="Cannot load a 'SomethingElse' state"):
        case.cls.from_dict(state)


def test_identical_data_gives_no_drift(case: Case) -> None:
    ref, _ = case.shifted(np.random.default_rng(4))
    result = _make(case).fit(ref).test(ref)
    assert result.p_value > 0.5
    assert result.effect_size <= case.no_drift_effect + 1e-12


def test_a_clear_shift_is_detected(case: Case) -> None:
    ref, cur = case.shifted(np.random.default_rng(5))
    result = _make(case).fit(ref).test(cur)
    assert result.p_value <= 0.01
    assert result.drift(0.05)
    assert result.effect_size > case.no_drift_effect


def test_false_alarm_rate_is_within_its_binomial_bound(case: Case) -> None:
    """Over 200 seeded no-drift trials, alarms at alpha = 0.05 stay within Binomial(200, 0.05)."""
    trials, alpha = 200, 0.05
    bound = stats.binom.ppf(0.99, trials, alpha)
    alarms = 0
    for trial in range(trials):
        ref, cur = case.null(np.random.default_rng(1000 + trial))
        alarms += _make(case, seed=trial).fit(ref).test(cur).drift(alpha)
    assert alarms <= bound
