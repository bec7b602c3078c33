"""Profile.merge is associative and commutative, and Profile.empty is its zero (hypothesis).

The profiles are random but real: small sets of per-image rows (or prediction records) handed to
the one ProfileBuilder, with unusable files among them, a reservoir smaller than the rows (so
sampling decides), a listing limit smaller than the bad files, labels, formats, modes, a model,
datasets and time windows.

Equality is :meth:`Profile.equivalent` with a relative tolerance of 1e-9: the moments (Chan's
parallel mean and sum of squared deviations) are floating sums, and adding the same values in
another order changes their last bits (about 1e-16 relative per operation, a few hundred
operations here). Every count, histogram, reservoir key, name and label must be equal exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _profile_builders import (
    CLASSES,
    FORMATS,
    Row,
    config,
    image_profile,
    predictions_profile,
)
from visiondrift.errors import IncompatibleProfilesError
from visiondrift.profiles import Profile, Window

REL_TOL = 1e-9
T0 = datetime(2024, 4, 1, tzinfo=UTC)

rows = st.lists(
    st.builds(
        Row,
        seed=st.integers(0, 2**32 - 1),
        label=st.sampled_from((None, *CLASSES)),
        format=st.sampled_from(FORMATS),
        bad=st.sampled_from((False, False, False, True)),
    ),
    max_size=14,
)
windows = st.none() | st.tuples(st.integers(0, 72), st.integers(0, 5)).map(
    lambda t: Window(T0 + timedelta(hours=t[0]), T0 + timedelta(hours=t[0] + t[1]))
)
datasets = st.sampled_from((None, "shop"))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _images(model: bool):  # type: ignore[no-untyped-def]
    cfg = config(model)

    @st.composite
    def build(draw: st.DrawFn, prefix: str) -> Profile:
        return image_profile(prefix, draw(rows), cfg, dataset=draw(datasets), window=draw(windows))

    return cfg, build


def _same(a: Profile, b: Profile) -> bool:
    return a.equivalent(b, rel_tol=REL_TOL)


@pytest.mark.parametrize("model", [False, True], ids=["no-model", "model"])
def test_images_merge_is_associative_and_commutative_with_a_zero(model: bool) -> None:
    cfg, build = _images(model)

    @SETTINGS
    @given(build("a"), build("b"), build("c"))
    def check(a: Profile, b: Profile, c: Profile) -> None:
        zero = Profile.empty(cfg)
        assert _same(a.merge(zero), a)
        assert _same(zero.merge(a), a)
        assert _same(a.merge(b), b.merge(a))
        assert _same(a.merge(b).merge(c), a.merge(b.merge(c)))

    check()


def test_predictions_merge_is_associative_and_commutative_with_a_zero() -> None:
    cfg = config(model=False)

    @SETTINGS
    @given(rows, rows, rows)
    def check(ra: list[Row], rb: list[Row], rc: list[Row]) -> None:
        a, b, c = (predictions_profile(p, r, cfg) for p, r in (("a", ra), ("b", rb), ("c", rc)))
        zero = Profile.empty(cfg)
        assert _same(a.merge(zero), a)
        assert _same(zero.merge(a), a)
        assert _same(a.merge(b), b.merge(a))
        assert _same(a.merge(b).merge(c), a.merge(b.merge(c)))

    check()


@SETTINGS
@given(rows, rows)
def test_merge_of_two_profiles_is_the_profile_of_both(ra: list[Row], rb: list[Row]) -> None:
    cfg = config(model=True)
    a = image_profile("x", ra, cfg)
    b = image_profile("y", rb, cfg)
    paths = [f"x/{i}.jpg" for i in range(len(ra))] + [f"y/{i}.jpg" for i in range(len(rb))]
    both = image_profile("", ra + rb, cfg, paths=paths)  # both sets through one builder
    assert _same(a.merge(b), both)
    assert a.merge(b).n_files == len(ra) + len(rb)
    assert a.merge(b).n_images == sum(not r.bad for r in ra + rb)


def test_equivalent_sees_a_real_difference() -> None:
    cfg = config(model=True)
    a = image_profile("a", [Row(1, "cat", "JPEG"), Row(2, None, "PNG")], cfg)
    b = image_profile("a", [Row(1, "cat", "JPEG"), Row(3, None, "PNG")], cfg)
    assert a.equivalent(a)
    assert a == a
    assert not a.equivalent(b)
    assert a != b


def test_different_datasets_do_not_merge() -> None:
    cfg = config(model=False)
    a = image_profile("a", [Row(1, "cat", "JPEG")], cfg, dataset="shop")
    b = image_profile("b", [Row(2, "cat", "JPEG")], cfg, dataset="clinic")
    with pytest.raises(IncompatibleProfilesError, match=r"dataset 'shop'.*dataset 'clinic'"):
        a.merge(b)
    nameless = image_profile("c", [Row(3, "cat", "JPEG")], cfg)
    assert a.merge(nameless).dataset == "shop"
    assert nameless.merge(a).dataset == "shop"


def test_windows_merge_as_min_and_max() -> None:
    cfg = config(model=False)
    early = Window(T0, T0 + timedelta(hours=1))
    late = Window(T0 + timedelta(hours=5), T0 + timedelta(hours=6))
    a = image_profile("a", [Row(1, "cat", "JPEG")], cfg, window=late)
    b = image_profile("b", [Row(2, "cat", "JPEG")], cfg, window=early)
    merged = a.merge(b)
    assert merged.window == Window(T0, T0 + timedelta(hours=6))
    assert merged.window.start.tzinfo is UTC
    assert a.merge(Profile.empty(cfg)).window == late
