"""The alert outbox (``vd_alerts``) and each (dataset, channel)'s alert state (``vd_alert_state``).

Every alert is written here before it is sent; senders take due alerts with a short claim so
that two processes never send one twice, and record what the receiver answered.

An alert's life::

    pending --(delivered)--> sent
       |  \\--(a 4xx, a missing secret: will not heal)--> rejected
       |   \\--(failed: attempts + 1, next_attempt_at later)--> pending
       \\--(max_attempts reached, or older than max_age)--> expired
    suppressed   (made and kept for 'alerts list', never sent: the cooldown held it back)

The store keeps alerts as JSON data (:func:`~visiondrift.store._codec.pack`); it knows nothing
of channels. The alert state is what each channel was last told about a dataset, written in
the same transaction as the alerts that told it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

from visiondrift.store._codec import pack, unpack
from visiondrift.store._rows import now_utc, utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, RowMapping
    from sqlalchemy.sql import ColumnElement

    from visiondrift.store._store import HistoryStore

__all__ = ["ALERT_STATUSES", "AlertState", "Outbox", "OutboxAlert"]

AlertStatus = Literal["pending", "sent", "rejected", "expired", "suppressed"]
#: Every status an alert can have (``alerts list --status``).
ALERT_STATUSES: Final[tuple[AlertStatus, ...]] = (
    "pending",
    "sent",
    "rejected",
    "expired",
    "suppressed",
)
#: The key that stands for "no dataset" in ``vd_alert_state`` (a key column cannot be NULL).
NO_DATASET: Final = ""
#: The longest error or answer text kept per alert.
TEXT_LIMIT: Final = 500


@dataclass(frozen=True)
class OutboxAlert:
    """One alert in the outbox: the message (``payload``, no secret) and its delivery record.

    Attributes
    ----------
    alert_id, run_id, dataset, channel, kind, event, severity
        As in the message (:class:`visiondrift.alerts.Alert`).
    status
        ``pending``, ``sent``, ``rejected``, ``expired`` or ``suppressed``.
    attempts
        Deliveries tried so far.
    created_at, next_attempt_at, sent_at
        When it was made, when it may be tried next (pending only), when it was delivered.
    last_error, response
        The last failure, and what the receiver answered (secrets removed by the channel).
    payload
        The message as JSON data (:meth:`visiondrift.alerts.Alert.to_json`).
    claimed_by
        The sender that holds it now (``None``: nobody).
    """

    alert_id: str
    run_id: str | None
    dataset: str | None
    channel: str
    kind: str
    event: str
    severity: str
    status: AlertStatus
    attempts: int
    created_at: datetime
    payload: dict[str, Any] = field(repr=False)
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = None
    response: str | None = None
    claimed_by: str | None = None


@dataclass(frozen=True)
class AlertState:
    """What one channel was last told about one dataset.

    ``state`` is ``firing`` (told of drift at ``severity``) or ``clear`` (told nothing, or that
    it came back clean); ``since`` when that state began; ``last_sent_at`` when the last alert
    (trigger or resolve) was queued for it.
    """

    dataset: str | None
    channel: str
    state: Literal["firing", "clear"]
    severity: str
    since: datetime
    last_sent_at: datetime | None = None
    last_alert_id: str | None = None
    last_run_id: str | None = None


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:TEXT_LIMIT]


def _alert(row: RowMapping) -> OutboxAlert:
    created = utc(row["created_at"])
    assert created is not None
    return OutboxAlert(
        alert_id=row["alert_id"],
        run_id=row["run_id"],
        dataset=row["dataset"],
        channel=row["channel"],
        kind=row["kind"],
        event=row["event"],
        severity=row["severity"],
        status=row["status"],
        attempts=int(row["attempts"]),
        created_at=created,
        payload=unpack(row["payload"]),
        next_attempt_at=utc(row["next_attempt_at"]),
        sent_at=utc(row["sent_at"]),
        last_error=row["last_error"],
        response=row["response"],
        claimed_by=row["claimed_by"],
    )


def _state(row: RowMapping) -> AlertState:
    since = utc(row["since"])
    assert since is not None
    return AlertState(
        dataset=row["dataset"] or None,
        channel=row["channel"],
        state=row["state"],
        severity=row["severity"],
        since=since,
        last_sent_at=utc(row["last_sent_at"]),
        last_alert_id=row["last_alert_id"],
        last_run_id=row["last_run_id"],
    )


class Outbox:
    """The outbox and alert state of a :class:`~visiondrift.store.HistoryStore`.

    Every method is one transaction (or one read), on SQLite and PostgreSQL alike.
    """

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    # ------------------------------------------------------------ writing
    def enqueue(self, alerts: Sequence[OutboxAlert], states: Sequence[AlertState] = ()) -> None:
        """Add ``alerts`` (``pending`` or ``suppressed``) and write ``states``, all at once.

        A state replaces the one of its (dataset, channel). A pending alert without a
        ``next_attempt_at`` is due at once.
        """
        from sqlalchemy import delete, insert

        from visiondrift.store._schema import ALERT_STATE, ALERTS

        rows = [
            {
                "alert_id": a.alert_id,
                "run_id": a.run_id,
                "dataset": a.dataset,
                "channel": a.channel,
                "kind": a.kind,
                "event": a.event,
                "severity": a.severity,
                "status": a.status,
                "attempts": a.attempts,
                "created_at": now_utc(a.created_at),
                "next_attempt_at": (
                    now_utc(a.next_attempt_at or a.created_at) if a.status == "pending" else None
                ),
                "sent_at": utc(a.sent_at),
                "claimed_by": None,
                "claimed_until": None,
                "last_error": _clip(a.last_error),
                "response": _clip(a.response),
                "payload": pack(a.payload),
            }
            for a in alerts
        ]
        with self.store._write("queueing alerts") as conn:
            if rows:
                conn.execute(insert(ALERTS), rows)
            for s in states:
                key = s.dataset or NO_DATASET
                conn.execute(
                    delete(ALERT_STATE)
                    .where(ALERT_STATE.c.dataset == key)
                    .where(ALERT_STATE.c.channel == s.channel)
                )
                conn.execute(
                    insert(ALERT_STATE),
                    [
                        {
                            "dataset": key,
                            "channel": s.channel,
                            "state": s.state,
                            "severity": s.severity,
                            "since": now_utc(s.since),
                            "last_sent_at": utc(s.last_sent_at),
                            "last_alert_id": s.last_alert_id,
                            "last_run_id": s.last_run_id,
                        }
                    ],
                )

    def claim_due(
        self,
        owner: str,
        *,
        lease: float,
        now: datetime | None = None,
        due_only: bool = True,
        limit: int | None = None,
        channel: str | None = None,
        exclude: Collection[str] = (),
    ) -> list[OutboxAlert]:
        """Take the pending alerts that are due (``due_only=False``: every pending one) and
        nobody else holds, for ``lease`` seconds; oldest first (``channel``: of that channel
        only; ``exclude``: not these ids).

        Each is taken by a conditional update (still pending, claim free or lapsed), so two
        senders never take one alert both: the one whose update changed no row leaves it.
        """
        from sqlalchemy import or_, select, update

        from visiondrift.store._schema import ALERTS

        at = now_utc(now)
        until = at + timedelta(seconds=lease)
        free: ColumnElement[bool] = or_(
            ALERTS.c.claimed_until.is_(None), ALERTS.c.claimed_until < at
        )
        query = select(ALERTS.c.alert_id).where(ALERTS.c.status == "pending").where(free)
        if due_only:
            query = query.where(ALERTS.c.next_attempt_at <= at)
        if channel is not None:
            query = query.where(ALERTS.c.channel == channel)
        if exclude:
            query = query.where(ALERTS.c.alert_id.not_in(list(exclude)))
        query = query.order_by(ALERTS.c.created_at, ALERTS.c.alert_id)
        if limit is not None:
            query = query.limit(limit)
        taken: list[str] = []
        with self.store._write("taking due alerts") as conn:
            for alert_id in conn.execute(query).scalars().all():
                changed = conn.execute(
                    update(ALERTS)
                    .where(ALERTS.c.alert_id == alert_id)
                    .where(ALERTS.c.status == "pending")
                    .where(free)
                    .values(claimed_by=owner, claimed_until=until)
                ).rowcount
                if changed == 1:
                    taken.append(alert_id)
            if not taken:
                return []
            rows = conn.execute(select(ALERTS).where(ALERTS.c.alert_id.in_(taken))).mappings()
            found = {r["alert_id"]: _alert(r) for r in rows}
        return [found[i] for i in taken]

    def _finish(self, alert_id: str, owner: str, doing: str, **values: Any) -> bool:
        from sqlalchemy import update

        from visiondrift.store._schema import ALERTS

        with self.store._write(doing) as conn:
            changed = conn.execute(
                update(ALERTS)
                .where(ALERTS.c.alert_id == alert_id)
                .where(ALERTS.c.claimed_by == owner)
                .where(ALERTS.c.status == "pending")
                .values(claimed_by=None, claimed_until=None, **values)
            ).rowcount
        return bool(changed == 1)

    def mark_sent(
        self,
        alert_id: str,
        owner: str,
        *,
        attempts: int,
        response: str,
        now: datetime | None = None,
    ) -> bool:
        """Record a delivery (``attempts``: in all); ``False`` when ``owner`` no longer held it."""
        return self._finish(
            alert_id,
            owner,
            f"recording alert {alert_id} as sent",
            status="sent",
            attempts=attempts,
            sent_at=now_utc(now),
            next_attempt_at=None,
            response=_clip(response),
        )

    def mark_failed(
        self,
        alert_id: str,
        owner: str,
        *,
        attempts: int,
        error: str,
        next_attempt_at: datetime,
        response: str | None = None,
    ) -> bool:
        """Record a failure that may heal: the alert stays pending until ``next_attempt_at``."""
        return self._finish(
            alert_id,
            owner,
            f"recording a failed attempt of alert {alert_id}",
            attempts=attempts,
            last_error=_clip(error),
            next_attempt_at=now_utc(next_attempt_at),
            response=_clip(response),
        )

    def mark_rejected(
        self, alert_id: str, owner: str, *, attempts: int, error: str, response: str | None = None
    ) -> bool:
        """Record a failure that will not heal: the alert is ``rejected``, never retried."""
        return self._finish(
            alert_id,
            owner,
            f"recording alert {alert_id} as rejected",
            status="rejected",
            attempts=attempts,
            last_error=_clip(error),
            next_attempt_at=None,
            response=_clip(response),
        )

    def release(self, alert_id: str, owner: str) -> bool:
        """Give a claimed alert back untouched (its channel is not configured here)."""
        return self._finish(alert_id, owner, f"releasing alert {alert_id}")

    def expire(
        self, *, max_attempts: int, max_age: float, now: datetime | None = None
    ) -> list[OutboxAlert]:
        """Give up the pending alerts tried ``max_attempts`` times or older than ``max_age``
        seconds (and held by nobody); returns them, now ``expired``."""
        from sqlalchemy import or_, select, update

        from visiondrift.store._schema import ALERTS

        at = now_utc(now)
        old = at - timedelta(seconds=max_age)
        which = (
            (ALERTS.c.status == "pending")
            & or_(ALERTS.c.claimed_until.is_(None), ALERTS.c.claimed_until < at)
            & or_(ALERTS.c.attempts >= max_attempts, ALERTS.c.created_at < old)
        )
        with self.store._write("expiring old alerts") as conn:
            rows = [_alert(r) for r in conn.execute(select(ALERTS).where(which)).mappings()]
            if not rows:
                return []
            ids = [r.alert_id for r in rows]
            conn.execute(
                update(ALERTS)
                .where(ALERTS.c.alert_id.in_(ids))
                .where(which)
                .values(
                    status="expired",
                    next_attempt_at=None,
                    claimed_by=None,
                    claimed_until=None,
                )
            )
        return rows

    def prune(self, older_than: datetime) -> int:
        """Forget finished alerts (sent, rejected, expired, suppressed) made before
        ``older_than``; pending ones stay. Returns how many were deleted."""
        from sqlalchemy import delete

        from visiondrift.store._schema import ALERTS

        cutoff = now_utc(older_than)
        with self.store._write("pruning old alerts") as conn:
            n = conn.execute(
                delete(ALERTS)
                .where(ALERTS.c.status != "pending")
                .where(ALERTS.c.created_at < cutoff)
            ).rowcount
        return int(n)

    # ------------------------------------------------------------ reading
    def get(self, alert_id: str) -> OutboxAlert | None:
        """The alert with this id, or ``None``."""
        from sqlalchemy import select

        from visiondrift.store._schema import ALERTS

        def work(conn: Connection) -> OutboxAlert | None:
            row = conn.execute(select(ALERTS).where(ALERTS.c.alert_id == alert_id)).mappings()
            found = row.first()
            return None if found is None else _alert(found)

        return self.store._read(f"reading alert {alert_id}", work)

    def alerts(
        self,
        *,
        limit: int | None = 50,
        status: str | None = None,
        dataset: str | None = None,
        channel: str | None = None,
    ) -> list[OutboxAlert]:
        """Recent alerts, newest first (``alerts list``)."""
        from visiondrift.store._rows import listing
        from visiondrift.store._schema import ALERTS

        order = (ALERTS.c.created_at.desc(), ALERTS.c.alert_id)
        query = listing(ALERTS, order, limit, status=status, dataset=dataset, channel=channel)
        return self.store._read(
            "listing alerts", lambda conn: [_alert(r) for r in conn.execute(query).mappings()]
        )

    def counts(self) -> dict[str, int]:
        """How many alerts have each status (statuses with none are left out)."""
        from sqlalchemy import func, select

        from visiondrift.store._schema import ALERTS

        query = select(ALERTS.c.status, func.count()).group_by(ALERTS.c.status)
        rows = self.store._read("counting alerts", lambda conn: conn.execute(query).all())
        return {str(status): int(n) for status, n in rows}

    def pending_by_channel(self) -> dict[str, int]:
        """How many alerts are pending, by channel name."""
        from sqlalchemy import func, select

        from visiondrift.store._schema import ALERTS

        query = (
            select(ALERTS.c.channel, func.count())
            .where(ALERTS.c.status == "pending")
            .group_by(ALERTS.c.channel)
        )
        rows = self.store._read("counting pending alerts", lambda conn: conn.execute(query).all())
        return {str(channel): int(n) for channel, n in rows}

    def states(self, dataset: str | None) -> dict[str, AlertState]:
        """What each channel was last told about ``dataset``, by channel name."""
        from sqlalchemy import select

        from visiondrift.store._schema import ALERT_STATE

        query = select(ALERT_STATE).where(ALERT_STATE.c.dataset == (dataset or NO_DATASET))
        rows = self.store._read(
            "reading the alert state", lambda conn: list(conn.execute(query).mappings())
        )
        return {r["channel"]: _state(r) for r in rows}
