"""The service's jobs in the store (vd_jobs): their states, and the ones a stopped process left."""

from __future__ import annotations

import pytest

from visiondrift.errors import ConfigError
from visiondrift.store import HistoryStore
from visiondrift.store._jobs import INTERRUPTED


def test_a_job_moves_queued_running_done(store: HistoryStore) -> None:
    job = store.jobs.create("a" * 32, "shop", "baseline", owner="h:1:aa")
    assert (job.status, job.started_at, job.finished_at) == ("queued", None, None)
    assert store.jobs.start(job.job_id) is True
    assert store.jobs.start(job.job_id) is False  # taken once
    assert store.jobs.get(job.job_id).status == "running"  # type: ignore[union-attr]
    assert store.jobs.finish(job.job_id, baseline_id="b" * 32) is True
    done = store.jobs.get(job.job_id)
    assert done is not None
    assert (done.status, done.baseline_id) == ("done", "b" * 32)
    assert done.started_at is not None
    assert done.finished_at is not None
    assert done.finished_at >= done.started_at >= done.created_at
    assert store.jobs.fail(job.job_id, "late") is False  # an ended job stays as it ended
    assert store.jobs.get("c" * 32) is None


def test_failed_discarded_listed(store: HistoryStore) -> None:
    store.jobs.create("a" * 32, "shop", "run", owner=None)
    store.jobs.create("b" * 32, "shop", "run", owner=None)
    store.jobs.create("c" * 32, "xray", "run", owner=None)
    assert store.jobs.fail("a" * 32, "x" * 5000) is True
    failed = store.jobs.get("a" * 32)
    assert failed is not None
    assert failed.status == "failed"
    assert len(failed.error or "") == 2000
    store.jobs.start("b" * 32)
    assert store.jobs.discard("b" * 32) is False  # running: not forgotten
    assert store.jobs.discard("c" * 32) is True
    assert {j.job_id for j in store.jobs.list()} == {"a" * 32, "b" * 32}
    assert [j.job_id for j in store.jobs.list("xray")] == []
    assert len(store.jobs.list(limit=1)) == 1
    with pytest.raises(ConfigError, match="'run' or 'baseline'"):
        store.jobs.create("d" * 32, "shop", "other", owner=None)  # type: ignore[arg-type]


def test_abandon_stale_fails_only_the_dead_owners_unfinished_jobs(store: HistoryStore) -> None:
    store.jobs.create("a" * 32, "shop", "run", owner="dead")
    store.jobs.create("b" * 32, "shop", "run", owner="dead")
    store.jobs.start("b" * 32)
    store.jobs.create("c" * 32, "shop", "run", owner="dead")
    store.jobs.finish("c" * 32)
    store.jobs.create("d" * 32, "shop", "run", owner="alive")
    stale = store.jobs.abandon_stale(lambda owner: owner == "dead")
    assert sorted(stale) == ["a" * 32, "b" * 32]
    for job_id in stale:
        job = store.jobs.get(job_id)
        assert job is not None
        assert (job.status, job.error) == ("failed", INTERRUPTED)
    assert store.jobs.get("c" * 32).status == "done"  # type: ignore[union-attr]
    assert store.jobs.get("d" * 32).status == "queued"  # type: ignore[union-attr]
    assert store.jobs.abandon_stale(lambda owner: True) == ["d" * 32]
