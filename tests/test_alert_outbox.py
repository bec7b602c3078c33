"""The alert outbox in a real store (SQLite file and PostgreSQL schema): queue, claim, record,
expire, the alert state, and what survives a restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from visiondrift.alerts import Alert
from visiondrift.store import HistoryStore
from visiondrift.store._outbox import AlertState, OutboxAlert

T0 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def make_alert(
    channel: str = "hook", dataset: str | None = "skin", *, severity: str = "high"
) -> Alert:
    return Alert(
        alert_id=uuid.uuid4().hex,
        event="trigger",
        channel=channel,
        kind="webhook",
        dataset=dataset,
        run_id="ab" * 16,
        severity=severity,
        previous_severity=None,
        status="drift",
        title=f"{severity} drift in {dataset}",
        explanations=("Images are darker (brightness -18%).",),
        counts={"images": 80, "bad": 0, "tests": 20, "drifted": 4},
        families=("property",),
        metrics=({"name": "brightness", "severity": severity, "p_adjusted": 1e-9},),
        window=("2026-11-29T00:00:00+00:00", "2026-11-30T00:00:00+00:00"),
        baseline={"name": "skin", "hash": "f" * 64},
        report_name="report.json",
        report_url=None,
        created_at=T0.isoformat(),
    )


def queued(alert: Alert, *, at: datetime = T0, status: str = "pending") -> OutboxAlert:
    return OutboxAlert(
        alert_id=alert.alert_id,
        run_id=alert.run_id,
        dataset=alert.dataset,
        channel=alert.channel,
        kind=alert.kind,
        event=alert.event,
        severity=alert.severity,
        status=status,  # type: ignore[arg-type]
        attempts=0,
        created_at=at,
        payload=alert.to_json(),
    )


def test_queued_alerts_are_claimed_once_oldest_first(store: HistoryStore) -> None:
    outbox = store.outbox
    first, second = make_alert(), make_alert("chat")
    outbox.enqueue([queued(second, at=T0 + timedelta(seconds=1)), queued(first)])
    taken = outbox.claim_due("sender-a", lease=60, now=T0 + timedelta(seconds=2))
    assert [t.alert_id for t in taken] == [first.alert_id, second.alert_id]
    # The message comes back whole, as it was queued.
    assert Alert.from_json(taken[0].payload) == first
    assert taken[0].claimed_by == "sender-a"
    # Held: another sender takes nothing while the claim lasts ...
    assert outbox.claim_due("sender-b", lease=60, now=T0 + timedelta(seconds=30)) == []
    # ... and takes them once it has lapsed (the first sender died).
    later = outbox.claim_due("sender-b", lease=60, now=T0 + timedelta(seconds=63))
    assert {t.alert_id for t in later} == {first.alert_id, second.alert_id}
    # The first sender's record of a delivery no longer counts: it does not hold the alert.
    assert not outbox.mark_sent(first.alert_id, "sender-a", attempts=1, response="200")
    assert outbox.mark_sent(first.alert_id, "sender-b", attempts=1, response="200 ok", now=T0)
    sent = outbox.get(first.alert_id)
    assert sent is not None
    assert (sent.status, sent.attempts, sent.response, sent.claimed_by) == (
        "sent",
        1,
        "200 ok",
        None,
    )
    assert sent.sent_at == T0


def test_a_failed_alert_waits_for_its_next_attempt(store: HistoryStore) -> None:
    outbox = store.outbox
    alert = make_alert()
    outbox.enqueue([queued(alert)])
    [item] = outbox.claim_due("s", lease=60, now=T0)
    retry_at = T0 + timedelta(minutes=5)
    assert outbox.mark_failed(
        item.alert_id, "s", attempts=3, error="HTTP 500 from the receiver", next_attempt_at=retry_at
    )
    waiting = outbox.get(alert.alert_id)
    assert waiting is not None
    assert (waiting.status, waiting.attempts, waiting.last_error) == (
        "pending",
        3,
        "HTTP 500 from the receiver",
    )
    assert waiting.next_attempt_at == retry_at
    assert outbox.claim_due("s", lease=60, now=T0 + timedelta(minutes=4)) == []
    # 'alerts flush --all' takes it before its time.
    assert len(outbox.claim_due("s", lease=60, now=T0 + timedelta(minutes=4), due_only=False)) == 1
    outbox.release(alert.alert_id, "s")
    assert [a.alert_id for a in outbox.claim_due("s", lease=60, now=retry_at)] == [alert.alert_id]
    assert outbox.pending_by_channel() == {"hook": 1}


def test_rejected_and_expired_alerts_are_never_taken_again(store: HistoryStore) -> None:
    outbox = store.outbox
    bad, tired, old, fresh = make_alert("bad"), make_alert("tired"), make_alert("old"), make_alert()
    outbox.enqueue(
        [
            queued(bad),
            queued(tired),
            queued(old, at=T0 - timedelta(days=2)),
            queued(fresh),
        ]
    )
    for item in outbox.claim_due("s", lease=60, now=T0):
        if item.alert_id == bad.alert_id:
            outbox.mark_rejected(item.alert_id, "s", attempts=1, error="HTTP 401: bad token")
        elif item.alert_id == tired.alert_id:
            outbox.mark_failed(
                item.alert_id, "s", attempts=12, error="timed out", next_attempt_at=T0
            )
        else:
            outbox.release(item.alert_id, "s")
    expired = outbox.expire(max_attempts=12, max_age=86400, now=T0)
    assert {e.alert_id for e in expired} == {tired.alert_id, old.alert_id}
    assert outbox.counts() == {"expired": 2, "pending": 1, "rejected": 1}
    assert [a.alert_id for a in outbox.claim_due("s", lease=60, now=T0)] == [fresh.alert_id]
    assert [a.alert_id for a in outbox.alerts(status="rejected")] == [bad.alert_id]
    rejected = outbox.get(bad.alert_id)
    assert rejected is not None
    assert rejected.last_error == "HTTP 401: bad token"
    # Pruning forgets what is finished, never what waits.
    assert outbox.prune(T0 + timedelta(seconds=1)) == 3
    assert outbox.counts() == {"pending": 1}


def test_the_alert_state_is_written_with_the_alerts(store: HistoryStore) -> None:
    outbox = store.outbox
    alert = make_alert(dataset=None)
    state = AlertState(
        dataset=None,
        channel="hook",
        state="firing",
        severity="high",
        since=T0,
        last_sent_at=T0,
        last_alert_id=alert.alert_id,
        last_run_id=alert.run_id,
    )
    outbox.enqueue([queued(alert)], [state])
    assert outbox.states(None) == {"hook": state}
    assert outbox.states("skin") == {}
    cleared = AlertState(dataset=None, channel="hook", state="clear", severity="none", since=T0)
    outbox.enqueue([], [cleared])
    assert outbox.states(None)["hook"].state == "clear"
    # A suppressed alert is kept for 'alerts list' and never taken.
    outbox.enqueue([queued(make_alert("quiet"), status="suppressed")])
    assert [a.channel for a in outbox.alerts(status="suppressed")] == ["quiet"]
    assert [a.channel for a in outbox.claim_due("s", lease=5, now=T0)] == ["hook"]


def test_one_transaction_queues_all_or_nothing(store: HistoryStore) -> None:
    from visiondrift.errors import StoreError

    outbox = store.outbox
    alert = make_alert()
    outbox.enqueue([queued(alert)])
    state = AlertState(dataset="skin", channel="hook", state="firing", severity="low", since=T0)
    # The same alert id again: the insert fails, and the state written with it is not kept.
    with pytest.raises(StoreError, match="queueing alerts"):
        outbox.enqueue([queued(make_alert("other")), queued(alert)], [state])
    assert outbox.states("skin") == {}
    assert [a.channel for a in outbox.alerts()] == ["hook"]


def test_unsent_alerts_survive_a_restart(store_location: tuple[str, str | None]) -> None:
    location, schema = store_location
    alert = make_alert()
    with HistoryStore(location, pg_schema=schema) as first:
        first.outbox.enqueue([queued(alert)])
    with HistoryStore(location, pg_schema=schema) as again:
        [item] = again.outbox.claim_due("after-restart", lease=60, now=T0)
    assert Alert.from_json(item.payload) == alert
