"""The service's baselines in the store: one active per dataset, the profile kept whole."""

from __future__ import annotations

import numpy as np
import pytest

from visiondrift.errors import ConfigError
from visiondrift.profiles import Profile
from visiondrift.profiles.builder import ProfileBuilder
from visiondrift.store import HistoryStore


def _predictions(n: int, seed: int) -> Profile:
    rng = np.random.default_rng(seed)
    builder = ProfileBuilder(dataset="skin")
    builder.set_model(["benign", "malignant"], {"format": "predictions"})
    for i in range(n):
        p = rng.uniform(0.05, 0.95)
        builder.add_prediction(f"r{i}", np.array([p, 1 - p]))
    return builder.build()


def test_one_active_baseline_per_dataset(store: HistoryStore) -> None:
    first = store.baselines.add("skin", _predictions(20, 1), name="validation")
    other = store.baselines.add("xray", _predictions(10, 2))
    second = store.baselines.add("skin", _predictions(30, 3), name="retrained")
    assert store.baselines.active("skin") == second
    assert [b.baseline_id for b in store.baselines.list("skin")] == [
        second.baseline_id,
        first.baseline_id,
    ]
    assert store.baselines.activate(first.baseline_id) == first
    assert store.baselines.active("skin") == first
    assert store.baselines.get(second.baseline_id).active is False  # type: ignore[union-attr]
    assert store.baselines.active("xray") == other
    assert store.baselines.datasets() == ["skin", "xray"]
    assert store.baselines.delete(first.baseline_id) is True
    assert store.baselines.delete(first.baseline_id) is False
    assert store.baselines.active("skin") is None
    assert store.baselines.activate("0" * 32) is None


def test_the_profile_comes_back_whole(store: HistoryStore) -> None:
    profile = _predictions(25, 4)
    stored = store.baselines.add("skin", profile, name="validation", activate=False)
    assert stored.kind == "predictions"
    assert stored.n_images == 25
    assert stored.active is False
    assert store.baselines.profile(stored.baseline_id).to_dict() == profile.to_dict()
    with pytest.raises(KeyError, match="No baseline"):
        store.baselines.profile("f" * 32)


@pytest.mark.parametrize("name", ["", "../etc", "a/b", "-lead", "x" * 201, "sp ace"])
def test_a_bad_dataset_name_is_refused(tmp_path: object, name: str) -> None:
    from pathlib import Path

    with (
        HistoryStore(Path(str(tmp_path)) / "h.sqlite") as store,
        pytest.raises(ConfigError, match="dataset name"),
    ):
        store.baselines.add(name, _predictions(3, 5))
