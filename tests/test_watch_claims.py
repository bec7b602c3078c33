"""Claims: each batch is taken by one watcher, ends once, and a dead watcher's batch is retried.

On SQLite and PostgreSQL (the ``store`` fixture), and with two processes claiming at once.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest

from _watch_workers import claim_all
from visiondrift.errors import ConfigError
from visiondrift.store import HistoryStore

SPAWN = multiprocessing.get_context("spawn")
T0 = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_new_batch_is_claimed_once_and_ends_once(store: HistoryStore) -> None:
    claims = store.claims
    first = claims.claim("inbox/20261129", source="inbox/20261129", owner="a", dataset="skin")
    assert first is not None
    assert (first.status, first.attempts, first.owner, first.dataset) == ("running", 1, "a", "skin")
    # Another watcher, at once or later: the batch is taken.
    assert claims.claim("inbox/20261129", source="inbox/20261129", owner="b") is None
    assert claims.finish(first, run_id="ab" * 16)
    done = claims.get("inbox/20261129")
    assert done is not None
    assert (done.status, done.run_id, done.owner) == ("done", "ab" * 16, "a")
    assert done.finished_at is not None
    # A done batch is never taken again, not even after its lease.
    later = datetime.now(UTC) + timedelta(days=30)
    assert claims.claim("inbox/20261129", source="x", owner="c", lease=1, now=later) is None
    # ...and cannot be ended twice.
    assert not claims.fail(first, "too late")
    assert claims.get("inbox/20261129").status == "done"  # type: ignore[union-attr]


def test_a_failed_batch_keeps_its_reason_and_is_not_taken_again(store: HistoryStore) -> None:
    claims = store.claims
    claim = claims.claim("b1", source="inbox/b1", owner="a", now=T0)
    assert claim is not None
    assert claims.fail(claim, "None of the 4 files could be read as an image", now=_at(5))
    failed = claims.get("b1")
    assert failed is not None
    assert failed.status == "failed"
    assert failed.reason == "None of the 4 files could be read as an image"
    assert failed.finished_at == _at(5)
    assert claims.claim("b1", source="inbox/b1", owner="b", lease=1, now=_at(3600)) is None


def test_a_dead_watchers_batch_is_taken_over_after_the_lease(store: HistoryStore) -> None:
    claims = store.claims
    first = claims.claim("b2", source="inbox/b2", owner="dead", lease=60, now=T0)
    assert first is not None
    # Its heartbeat keeps it alive past the lease...
    assert claims.heartbeat(first, now=_at(50))
    assert claims.claim("b2", source="inbox/b2", owner="other", lease=60, now=_at(100)) is None
    # ...until the heartbeat stops for longer than the lease.
    second = claims.claim("b2", source="inbox/b2", owner="other", lease=60, now=_at(111))
    assert second is not None
    assert (second.owner, second.attempts, second.claimed_at) == ("other", 2, _at(111))
    # The dead watcher, if it comes back, has lost the batch and cannot end it.
    assert not claims.heartbeat(first, now=_at(112))
    assert not claims.finish(first, run_id="0" * 32)
    assert claims.finish(second, run_id="1" * 32)
    assert claims.get("b2").run_id == "1" * 32  # type: ignore[union-attr]


def test_a_batch_that_keeps_killing_its_watcher_is_failed_after_max_attempts(
    store: HistoryStore,
) -> None:
    claims = store.claims
    taken = []
    now = T0
    for _ in range(3):
        claim = claims.claim("b3", source="inbox/b3", owner="w", lease=10, max_attempts=3, now=now)
        assert claim is not None
        taken.append(claim.attempts)
        now += timedelta(seconds=11)  # the watcher died: no heartbeat
    assert taken == [1, 2, 3]
    assert (
        claims.claim("b3", source="inbox/b3", owner="w", lease=10, max_attempts=3, now=now) is None
    )
    failed = claims.get("b3")
    assert failed is not None
    assert failed.status == "failed"
    assert failed.reason is not None
    assert failed.reason.startswith("crashed 3 times")
    assert failed.attempts == 3


def test_release_gives_the_batch_back(store: HistoryStore) -> None:
    claims = store.claims
    # Stopped by SIGTERM before its run was recorded: the next watcher takes it as new.
    claim = claims.claim("b4", source="inbox/b4", owner="a")
    assert claim is not None
    assert claims.release(claim)
    assert claims.get("b4") is None
    again = claims.claim("b4", source="inbox/b4", owner="b")
    assert again is not None
    assert again.attempts == 1
    # An unexpected error: taken again at once, and the attempt counts.
    assert claims.release(again, crashed=True)
    third = claims.claim("b4", source="inbox/b4", owner="c", lease=3600)
    assert third is not None
    assert (third.owner, third.attempts) == ("c", 2)
    assert not claims.release(again)  # no longer its own


def test_list_and_bad_keys(store: HistoryStore) -> None:
    claims = store.claims
    for i, key in enumerate(("k1", "k2", "k3")):
        claim = claims.claim(key, source=key, owner="a", dataset="skin" if i else None, now=_at(i))
        assert claim is not None
        if key == "k2":
            claims.finish(claim, run_id="2" * 32)
    assert [c.batch_key for c in claims.list()] == ["k3", "k2", "k1"]
    assert [c.batch_key for c in claims.list(status="running")] == ["k3", "k1"]
    assert [c.batch_key for c in claims.list(dataset="skin", limit=1)] == ["k3"]
    with pytest.raises(ConfigError, match="at most 500 characters"):
        claims.claim("x" * 501, source="x", owner="a")


def test_two_processes_claiming_the_same_batches_get_each_once(
    store_location: tuple[str, str | None],
) -> None:
    location, schema = store_location
    keys = [f"inbox/2026{i:04d}" for i in range(40)]
    barrier = SPAWN.Barrier(2)
    out = SPAWN.Queue()
    workers = [
        SPAWN.Process(target=claim_all, args=(location, schema, keys, owner, barrier, out))
        for owner in ("first", "second")
    ]
    for w in workers:
        w.start()
    got = dict(out.get(timeout=180) for _ in workers)
    for w in workers:
        w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0, 0]
    out.close()
    out.join_thread()
    # Every batch was taken, and no batch by both.
    assert sorted(got["first"] + got["second"]) == sorted(keys)
    assert not set(got["first"]) & set(got["second"])
    with HistoryStore(location, pg_schema=schema) as store:
        owners = {c.batch_key: c.owner for c in store.claims.list()}
    assert owners == {k: ("first" if k in got["first"] else "second") for k in keys}
