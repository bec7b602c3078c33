"""The service's windows and records in the store (``store.windows``), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from visiondrift.errors import StoreError
from visiondrift.store import HistoryStore
from visiondrift.store._windows import (
    AppendRequest,
    NewRecord,
    PredictionBlock,
    decode_measured,
    decode_probs,
    encode_measured,
    encode_probs,
)

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
BASE = "b" * 32


def _rows(n: int, *, start: int = 0, bad: int = 0) -> list[NewRecord]:
    out = [
        NewRecord(record_id=f"r{start + i}", probs=encode_probs([0.25, 0.75]), meta='{"site":"a"}')
        for i in range(n)
    ]
    out += [NewRecord(record_id=f"bad{start + i}", bad_reason="decode_error") for i in range(bad)]
    return out


def test_encoding_round_trips() -> None:
    probs = decode_probs(encode_probs([0.1, 0.2, 0.7]))
    assert probs.dtype == np.float32
    assert np.allclose(probs, [0.1, 0.2, 0.7])
    hist = np.arange(1024).reshape(4, 256)
    values = np.linspace(0, 1, 23)
    measured = decode_measured(encode_measured(hist, values, format="PNG", mode="RGB"))
    assert (measured.histograms == hist).all()
    assert np.array_equal(measured.values, values)
    assert (measured.format, measured.mode) == ("PNG", "RGB")


def test_count_limit_splits_a_batch_across_windows(store: HistoryStore) -> None:
    w = store.windows
    first = w.append("shop", BASE, _rows(7), count_limit=5, seconds_limit=None, now=T0)
    assert first.accepted == 7
    assert len(first.windows) == 2
    assert first.closing == (first.windows[0],)
    assert first.window is not None
    assert first.window.n_records == 2
    full = w.get(first.windows[0])
    assert full is not None
    assert full.status == "closing"
    assert full.n_records == 5
    assert full.end == T0
    # The next batch fills the open window and opens a third.
    second = w.append("shop", BASE, _rows(12, start=7), count_limit=5, seconds_limit=None, now=T0)
    assert second.windows[0] == first.windows[1]
    assert len(second.closing) == 2  # 2+3 closes the second, 5 more the third, 4 stay open
    assert w.count_records("shop") == 19
    seqs = [r.seq for r in w.records(first.windows[1])]
    assert seqs == [0, 1, 2, 3, 4]
    ids = [r.record_id for r in w.records(first.windows[0])]
    assert ids == [f"r{i}" for i in range(5)]
    opened = w.open_window("shop")
    assert opened is not None
    assert opened.n_records == 4


def test_records_read_back_decoded(store: HistoryStore) -> None:
    result = store.windows.append(
        "shop", BASE, _rows(3, bad=2), count_limit=None, seconds_limit=60, now=T0
    )
    assert result.bad == 2
    window = store.windows.get(result.windows[0])
    assert window is not None
    assert (window.n_records, window.n_bad) == (5, 2)
    assert window.deadline == T0 + timedelta(seconds=60)
    records = list(store.windows.records(window.window_id, chunk=2))
    assert len(records) == 5
    assert records[0].meta == {"site": "a"}
    assert np.allclose(records[0].probs, [0.25, 0.75])
    assert records[4].bad_reason == "decode_error"
    assert records[4].probs is None
    assert records[0].received_at == T0


def test_due_windows_close_once_and_late_records_open_a_new_window(store: HistoryStore) -> None:
    w = store.windows
    first = w.append("shop", BASE, _rows(2), count_limit=None, seconds_limit=10, now=T0)
    assert w.due(T0 + timedelta(seconds=5)) == []
    due = w.due(T0 + timedelta(seconds=11))
    assert [d.window_id for d in due] == [first.windows[0]]
    assert due[0].end == T0 + timedelta(seconds=10)
    assert w.due(T0 + timedelta(seconds=12)) == []
    late = w.append("shop", BASE, _rows(1), count_limit=None, seconds_limit=10, now=T0)
    assert late.windows[0] != first.windows[0]


def test_a_window_past_its_deadline_closes_on_append(store: HistoryStore) -> None:
    w = store.windows
    first = w.append("shop", BASE, _rows(2), count_limit=None, seconds_limit=10, now=T0)
    later = T0 + timedelta(seconds=30)
    second = w.append("shop", BASE, _rows(1), count_limit=None, seconds_limit=10, now=later)
    assert second.closing == first.windows
    closed = w.get(first.windows[0])
    assert closed is not None
    assert closed.status == "closing"
    assert closed.end == T0 + timedelta(seconds=10)


def test_a_new_baseline_closes_the_open_window(store: HistoryStore) -> None:
    w = store.windows
    first = w.append("shop", BASE, _rows(2), count_limit=10, seconds_limit=None, now=T0)
    second = w.append("shop", "c" * 32, _rows(2), count_limit=10, seconds_limit=None, now=T0)
    assert second.closing == first.windows
    assert second.window is not None
    assert second.window.baseline_id == "c" * 32


def test_claims_close_and_expire(store: HistoryStore) -> None:
    w = store.windows
    w.append("shop", BASE, _rows(3), count_limit=3, seconds_limit=None, now=T0)
    claimed = w.claim_closing("a", lease=30, now=T0)
    assert claimed is not None
    assert claimed.claimed_by == "a"
    assert w.claim_closing("b", lease=30, now=T0 + timedelta(seconds=10)) is None
    assert w.renew([claimed.window_id], "a", lease=30, now=T0 + timedelta(seconds=20)) == 1
    assert w.claim_closing("b", lease=30, now=T0 + timedelta(seconds=40)) is None
    # The closer died: after its lease another takes the window over.
    again = w.claim_closing("b", lease=30, now=T0 + timedelta(seconds=51))
    assert again is not None
    assert again.window_id == claimed.window_id
    assert not w.closed(claimed.window_id, "f" * 32, owner="a")
    assert w.closed(claimed.window_id, "f" * 32, owner="b", now=T0 + timedelta(seconds=52))
    done = w.get(claimed.window_id)
    assert done is not None
    assert done.status == "closed"
    assert done.run_id == "f" * 32
    assert not w.failed(claimed.window_id, "too late")
    assert [x.window_id for x in w.finished_after("shop", None)] == [claimed.window_id]
    assert w.finished_after("shop", (done.closed_at, done.window_id)) == []  # type: ignore[arg-type]


def test_labels_join_open_and_late_and_unknown(store: HistoryStore) -> None:
    w = store.windows
    w.append("shop", BASE, _rows(3), count_limit=3, seconds_limit=None, now=T0)  # closing
    w.append("shop", BASE, _rows(2, start=3), count_limit=3, seconds_limit=None, now=T0)
    result = w.join_labels("shop", {"r0": "cat", "r3": "dog", "r4": "cat", "nope": "x"})
    assert (result.joined, result.late, result.unknown) == (2, 1, 1)
    opened = w.open_window("shop")
    assert opened is not None
    labels = {r.record_id: r.label for r in w.records(opened.window_id)}
    assert labels == {"r3": "dog", "r4": "cat"}
    assert w.join_labels("other", {"r0": "cat"}).unknown == 1


def test_labels_find_ids_of_any_text_and_records_without_one(store: HistoryStore) -> None:
    # A block's id rows are made by the database from its ids as stored (a JSON array):
    # quotes, backslashes, escapes and characters beyond ASCII come back as sent, and a
    # record without an id gets no row.
    ids = ['a"b', "c\\d", "é", None, "😀", "tab\tx", "r0"]
    rows = [NewRecord(record_id=i, probs=encode_probs([0.5, 0.5])) for i in ids]
    store.windows.append("shop", BASE, rows, count_limit=None, seconds_limit=None, now=T0)
    named = [i for i in ids if i is not None]
    found = store.windows.join_labels("shop", {i: f"label {i}" for i in [*named, "d"]})
    assert (found.joined, found.late, found.unknown) == (len(named), 0, 1)
    opened = store.windows.open_window("shop")
    assert opened is not None
    stored = [(r.record_id, r.label) for r in store.windows.records(opened.window_id)]
    assert stored == [(i, None if i is None else f"label {i}") for i in ids]


def test_prune_deletes_records_of_old_closed_windows(store: HistoryStore) -> None:
    w = store.windows
    first = w.append("shop", BASE, _rows(3), count_limit=3, seconds_limit=None, now=T0)
    w.append("shop", BASE, _rows(1, start=3), count_limit=3, seconds_limit=None, now=T0)
    w.closed(first.windows[0], "f" * 32, now=T0)
    assert w.prune(T0 - timedelta(seconds=1)) == 0
    assert w.prune(T0 + timedelta(seconds=1)) == 3
    assert w.count_records("shop") == 1
    assert w.get(first.windows[0]) is not None
    # The records were a block: its ids went with it (a label finds nothing), not the others'.
    found = w.join_labels("shop", {"r0": "cat", "r3": "dog"})
    assert (found.joined, found.unknown) == (1, 1)


def test_group_commit_is_all_or_nothing(store: HistoryStore) -> None:
    good = AppendRequest("shop", BASE, _rows(2), None, 60)
    # A value no driver can write: the whole transaction is rolled back.
    broken = AppendRequest("other", BASE, [NewRecord(probs=object())], None, 60)  # type: ignore[arg-type]
    # (raised by the driver's own cursor, reported as the store's error like any other)
    with pytest.raises(StoreError, match=r"failed while writing posted records: .*(?i:type)"):
        store.windows.append_many([good, broken], now=T0)
    assert store.windows.count_records("shop") == 0


def test_concurrent_appenders_never_open_two_windows(
    store: HistoryStore, store_location: tuple[str, str | None]
) -> None:
    location, schema = store_location
    store.migrate()
    stores = [HistoryStore(location, pg_schema=schema) for _ in range(3)]
    errors: list[BaseException] = []

    def work(s: HistoryStore, k: int) -> None:
        try:
            for j in range(10):
                s.windows.append(
                    "shop", BASE, _rows(3, start=100 * k + 3 * j), count_limit=7, seconds_limit=None
                )
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(s, k)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    assert store.windows.count_records("shop") == 90
    windows = store.windows.list("shop", limit=None)
    assert len([x for x in windows if x.status == "open"]) == 1
    assert sum(x.n_records for x in windows) == 90
    assert all(x.n_records == 7 for x in windows if x.status == "closing")
    for x in windows:
        assert [r.seq for r in store.windows.records(x.window_id)] == list(range(x.n_records))


def test_a_group_of_requests_for_one_dataset_is_cut_as_if_sent_one_by_one(
    store: HistoryStore,
) -> None:
    w = store.windows
    w.append("shop", BASE, _rows(3), count_limit=5, seconds_limit=None, now=T0)
    group = [
        AppendRequest("shop", BASE, _rows(4, start=10), 5, None),
        AppendRequest("other", BASE, _rows(2, start=20), 5, None),
        AppendRequest("shop", BASE, _rows(4, start=30), 5, None),
        AppendRequest("shop", "c" * 32, _rows(1, start=40), 5, None),
    ]
    first, other, third, fourth = w.append_many(group, now=T0)
    assert len(first.closing) == 1
    assert first.window is not None
    assert first.window.n_records == 2
    assert other.window is not None
    assert other.window.n_records == 2
    assert third.windows[0] == first.window.window_id
    assert third.closing == (first.window.window_id,)
    assert third.window is not None
    assert third.window.n_records == 1
    # A new baseline in the same group: the open window closes, a new one opens.
    assert fourth.closing == (third.window.window_id,)
    assert fourth.window is not None
    assert fourth.window.baseline_id == "c" * 32
    windows = {x.window_id: x for x in w.list("shop", limit=None)}
    assert sorted((x.status, x.n_records) for x in windows.values()) == [
        ("closing", 1),
        ("closing", 5),
        ("closing", 5),
        ("open", 1),
    ]
    for x in windows.values():
        assert [r.seq for r in w.records(x.window_id)] == list(range(x.n_records))
    assert w.count_records() == 14


def test_a_window_never_ends_before_it_starts(store: HistoryStore) -> None:
    # A process whose clock (or whose wait for the lock) puts it a moment behind the one
    # that opened the window fills it: the window's end is not before its start.
    w = store.windows
    later = T0 + timedelta(milliseconds=5)
    first = w.append("shop", BASE, _rows(3), count_limit=5, seconds_limit=None, now=later)
    second = w.append("shop", BASE, _rows(2, start=3), count_limit=5, seconds_limit=None, now=T0)
    assert second.closing == first.windows
    closed = w.get(first.windows[0])
    assert closed is not None
    assert closed.end is not None
    assert closed.end >= closed.opened_at
    w.append("shop", BASE, _rows(1, start=5), count_limit=5, seconds_limit=None, now=later)
    by_hand = w.close_now("shop", now=T0)
    assert by_hand is not None
    assert by_hand.end is not None
    assert by_hand.end >= by_hand.opened_at


def test_a_window_of_predictions_is_profiled_from_its_rows_as_from_its_records(
    store: HistoryStore,
) -> None:
    """The closer's fast path (``prediction_parts`` + ``prediction_profile``) builds exactly the
    profile the per-record path (``records`` + ``window_profile``) builds: reservoir, model
    summary, labels and bad records alike, across several reservoir flushes and read chunks,
    with records kept as blocks (requests of probabilities only) and as rows (requests with an
    unusable record) in one window."""
    from _records_helpers import CLASSES, probabilities
    from visiondrift.profiles import ProfileBuilder, ProfileConfig
    from visiondrift.service._closer import prediction_profile, window_profile

    builder = ProfileBuilder(ProfileConfig(reservoir_size=200))
    builder.set_model(CLASSES, {"format": "predictions (jsonl)"})
    for i, p in enumerate(probabilities(300, seed=4)):
        builder.add_prediction(f"base/{i}", np.asarray(p), label=CLASSES[i % 3])
    baseline = builder.build()
    rows = []
    for i, p in enumerate(probabilities(730, seed=5, shift=0.5)):
        if i % 97 == 3:
            rows.append(NewRecord(record_id=f"x{i}", bad_reason="decode_error", detail="broken"))
        else:
            label = CLASSES[i % 3] if i % 4 else None
            rows.append(
                NewRecord(record_id=f"r{i}" if i % 5 else None, label=label, probs=encode_probs(p))
            )
    for start in range(0, len(rows), 50):
        part = rows[start : start + 50]
        store.windows.append("shop", BASE, part, count_limit=None, seconds_limit=None, now=T0)
    window = store.windows.open_window("shop")
    assert window is not None
    assert window.n_records == 730
    assert window.n_bad == 8

    slow = window_profile(
        baseline, store.windows.records(window.window_id, chunk=100), dataset="shop"
    )
    parts = list(store.windows.prediction_parts(window.window_id, chunk=30))
    blocks = [p for p in parts if isinstance(p, PredictionBlock)]
    runs = [p for p in parts if not isinstance(p, PredictionBlock)]
    # 8 requests held an unusable record (kept as rows, given 30 at most at a time), 7 did not.
    assert [len(b.ids) for b in blocks] == [50] * 6 + [30]
    assert sum(len(r) for r in runs) == 400
    assert max(len(r) for r in runs) == 30
    assert [p[0] if isinstance(p, PredictionBlock) else p[0][0] for p in parts] == sorted(
        p[0] if isinstance(p, PredictionBlock) else p[0][0] for p in parts
    )
    fast = prediction_profile(baseline, parts, dataset="shop")
    assert baseline.config.reservoir_size == 200  # the reservoir was flushed on the way
    one, two = slow.to_dict(), fast.to_dict()
    for d in (one, two):
        d.pop("created_at", None)
    assert one == two
    assert fast.n_files == 730
    assert fast.n_images == 722
    assert fast.bad_counts == {"decode_error": 8}


def test_a_held_writer_writes_on_one_connection_and_takes_another_when_it_is_lost(
    store: HistoryStore,
) -> None:
    from sqlalchemy import event

    store.migrate()
    engine = store._engine
    checkouts: list[object] = []
    event.listen(engine, "checkout", lambda dbapi, *_: checkouts.append(dbapi))
    rows = _rows(2)
    with store.held_writer():
        for _ in range(3):
            store.windows.append("shop", BASE, rows, count_limit=None, seconds_limit=None)
        assert len(checkouts) == 1
        # A failed write is rolled back; the next one runs on the same connection.
        broken = AppendRequest("shop", BASE, [NewRecord(probs=object())], None, None)  # type: ignore[arg-type]
        with pytest.raises(StoreError):
            store.windows.append_many([broken])
        store.windows.append("shop", BASE, rows, count_limit=None, seconds_limit=None)
        assert len(checkouts) == 1
        if engine.dialect.name == "postgresql":
            # The server ends the connection: that write fails, the next takes another.
            held = store._held
            assert held is not None
            pid = held.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            held.rollback()
            with engine.connect() as other:
                other.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
                other.commit()
            with pytest.raises(StoreError):
                store.windows.append("shop", BASE, rows, count_limit=None, seconds_limit=None)
            store.windows.append("shop", BASE, rows, count_limit=None, seconds_limit=None)
    assert store._held is None
    assert store.windows.count_records("shop") == 8 + (
        2 if engine.dialect.name == "postgresql" else 0
    )
