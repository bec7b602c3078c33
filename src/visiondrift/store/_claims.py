"""The batches ``watch`` took (``vd_claims``): one row per batch, so each is processed once.

A watcher *claims* a batch before it runs the monitor on it: it inserts the batch's row as
``running`` (the batch key is the primary key, so of two watchers that try at once, one
inserts and the other is told the batch is taken). While the batch runs, the watcher writes a
heartbeat; when it ends, the row becomes ``done`` (with the run's id) or ``failed`` (with the
reason). A ``done`` or ``failed`` row is never taken again.

A watcher that dies (``kill -9``, a lost machine) leaves its row ``running`` with a heartbeat
that stops: once that heartbeat is older than the lease, another watcher takes the batch over
(attempts + 1) with a conditional ``UPDATE`` that only one of several watchers can win. After
``max_attempts`` attempts, the batch is failed with the reason "crashed N times" instead of
being taken again, so a batch that kills its watcher is not retried forever.

Every operation is one transaction. Times are UTC, taken from this machine's clock: watchers
that share a store should have synchronised clocks (NTP), and the lease should be much longer
than their difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from visiondrift.store._rows import now_utc, utc

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from visiondrift.store._store import HistoryStore

__all__ = ["Claim", "ClaimStatus", "Claims"]

ClaimStatus = Literal["running", "done", "failed"]

#: The longest batch key the table holds (``vd_claims.batch_key``).
MAX_KEY_LENGTH = 500

#: A heartbeat this old is stale for any lease: what :meth:`Claims.release` writes for a batch
#: to be taken again at once, its attempt counted.
_LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Claim:
    """One row of ``vd_claims``: a batch a watcher took, and how it ended.

    Attributes
    ----------
    batch_key
        What identifies the batch (its location, or the formatted source of a schedule).
    source
        Where the batch is read from.
    dataset
        The dataset its run is recorded under, or ``None``.
    status
        ``running`` (a watcher has it), ``done`` (its run is ``run_id``) or ``failed``
        (``reason`` says why; it is not taken again).
    owner
        The watcher that took it last (``host:pid:random``).
    attempts
        How many times it was taken (1, then one more for each takeover after a crash).
    claimed_at, heartbeat_at, finished_at
        When it was last taken, when its watcher last said it was alive, when it ended (UTC).
    run_id
        The monitor run of a ``done`` batch (also of a ``failed`` batch whose run was recorded,
        such as a batch of only unusable files).
    reason
        Why a ``failed`` batch failed.
    """

    batch_key: str
    source: str
    dataset: str | None
    status: ClaimStatus
    owner: str
    attempts: int
    claimed_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    run_id: str | None
    reason: str | None


def _claim(row: Any) -> Claim:
    claimed, heartbeat = utc(row["claimed_at"]), utc(row["heartbeat_at"])
    assert claimed is not None
    assert heartbeat is not None
    return Claim(
        batch_key=row["batch_key"],
        source=row["source"],
        dataset=row["dataset"],
        status=row["status"],
        owner=row["owner"],
        attempts=int(row["attempts"]),
        claimed_at=claimed,
        heartbeat_at=heartbeat,
        finished_at=utc(row["finished_at"]),
        run_id=row["run_id"],
        reason=row["reason"],
    )


class Claims:
    """The claims of a :class:`~visiondrift.store.HistoryStore` (``store.claims``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from visiondrift.store import HistoryStore
    >>> store = HistoryStore(pathlib.Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> first = store.claims.claim("inbox/20261129", source="inbox/20261129", owner="a")
    >>> first.status, first.attempts
    ('running', 1)
    >>> store.claims.claim("inbox/20261129", source="inbox/20261129", owner="b") is None
    True
    >>> store.claims.finish(first, run_id="0" * 32)
    True
    >>> store.claims.get("inbox/20261129").status
    'done'
    >>> store.close()
    """

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    def claim(
        self,
        batch_key: str,
        *,
        source: str,
        owner: str,
        dataset: str | None = None,
        lease: float = 600.0,
        max_attempts: int = 3,
        now: datetime | None = None,
    ) -> Claim | None:
        """Take the batch ``batch_key`` for ``owner``, or ``None`` when it is not to be taken.

        A new batch is inserted as ``running`` (attempt 1). A ``running`` batch whose heartbeat
        is older than ``lease`` seconds (its watcher died) is taken over, attempt + 1, unless
        it already had ``max_attempts`` attempts: then it is failed with the reason "crashed N
        times" and ``None`` is returned. A batch another watcher holds, or one that is ``done``
        or ``failed``, gives ``None``. Of several watchers claiming at once, exactly one gets
        the batch.
        """
        from sqlalchemy import select, update

        from visiondrift.store._schema import CLAIMS

        _check_key(batch_key)
        at = now_utc(now)
        stale = at - timedelta(seconds=float(lease))
        row = {
            "batch_key": batch_key,
            "dataset": dataset,
            "source": source,
            "status": "running",
            "owner": owner,
            "attempts": 1,
            "claimed_at": at,
            "heartbeat_at": at,
            "finished_at": None,
            "run_id": None,
            "reason": None,
        }
        taken_over = (
            (CLAIMS.c.batch_key == batch_key)
            & (CLAIMS.c.status == "running")
            & (CLAIMS.c.heartbeat_at < stale)
        )
        with self.store._write(f"claiming the batch {batch_key}") as conn:
            if _insert_new(conn, row):
                return _claim(row)
            took = conn.execute(
                update(CLAIMS)
                .where(taken_over & (CLAIMS.c.attempts < max_attempts))
                .values(
                    owner=owner,
                    attempts=CLAIMS.c.attempts + 1,
                    claimed_at=at,
                    heartbeat_at=at,
                    dataset=dataset,
                    source=source,
                )
            ).rowcount
            if took == 1:
                found = conn.execute(select(CLAIMS).where(CLAIMS.c.batch_key == batch_key))
                return _claim(found.mappings().one())
            attempts = conn.execute(
                select(CLAIMS.c.attempts).where(taken_over & (CLAIMS.c.attempts >= max_attempts))
            ).scalar_one_or_none()
            if attempts is not None:
                conn.execute(
                    update(CLAIMS)
                    .where(taken_over & (CLAIMS.c.attempts >= max_attempts))
                    .values(
                        status="failed",
                        finished_at=at,
                        reason=f"crashed {int(attempts)} times: its watcher stopped without "
                        "finishing it each time (killed, or out of memory?); not retried",
                    )
                )
        return None

    def heartbeat(self, claim: Claim, *, now: datetime | None = None) -> bool:
        """Say that ``claim``'s watcher is alive; ``False`` when the batch is no longer its
        (another watcher took it over after the lease ran out)."""
        from sqlalchemy import update

        from visiondrift.store._schema import CLAIMS

        with self.store._write(f"renewing the claim on {claim.batch_key}") as conn:
            return bool(
                conn.execute(
                    update(CLAIMS).where(_held(claim)).values(heartbeat_at=now_utc(now))
                ).rowcount
                == 1
            )

    def finish(self, claim: Claim, *, run_id: str, now: datetime | None = None) -> bool:
        """Mark the batch ``done`` with its run; ``False`` when it was no longer ``claim``'s."""
        return self._end(claim, "done", run_id=run_id, reason=None, now=now)

    def fail(
        self,
        claim: Claim,
        reason: str,
        *,
        run_id: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Mark the batch ``failed`` with ``reason`` (and its run, if one was recorded): it is
        not taken again. ``False`` when it was no longer ``claim``'s."""
        return self._end(claim, "failed", run_id=run_id, reason=reason, now=now)

    def release(self, claim: Claim, *, crashed: bool = False) -> bool:
        """Give the batch back without an outcome.

        By default (a watcher told to stop, e.g. by SIGTERM, before the batch's run reached
        its sinks) the row is deleted: the next watcher takes the batch as new. With
        ``crashed``, the row stays ``running`` with a heartbeat far in the past: the next
        watcher takes it over at once and the attempt counts towards ``max_attempts`` (for an
        unexpected error that might recur). ``False`` when it was no longer ``claim``'s.
        """
        from sqlalchemy import delete, update

        from visiondrift.store._schema import CLAIMS

        with self.store._write(f"releasing the batch {claim.batch_key}") as conn:
            if crashed:
                changed = conn.execute(
                    update(CLAIMS).where(_held(claim)).values(heartbeat_at=_LONG_AGO)
                ).rowcount
            else:
                changed = conn.execute(delete(CLAIMS).where(_held(claim))).rowcount
        return bool(changed == 1)

    def get(self, batch_key: str) -> Claim | None:
        """The claim of ``batch_key``, or ``None`` when no watcher took it."""
        from sqlalchemy import select

        from visiondrift.store._schema import CLAIMS

        def work(conn: Connection) -> Claim | None:
            row = (
                conn.execute(select(CLAIMS).where(CLAIMS.c.batch_key == batch_key))
                .mappings()
                .first()
            )
            return None if row is None else _claim(row)

        return self.store._read(f"reading the claim on {batch_key}", work)

    def list(
        self,
        *,
        status: ClaimStatus | None = None,
        dataset: str | None = None,
        limit: int | None = None,
    ) -> list[Claim]:
        """The claims, most recently taken first (``status``, ``dataset``: only those)."""
        from visiondrift.store._rows import listing
        from visiondrift.store._schema import CLAIMS

        order = (CLAIMS.c.claimed_at.desc(), CLAIMS.c.batch_key)
        query = listing(CLAIMS, order, limit, status=status, dataset=dataset)
        return self.store._read(
            "listing the claims",
            lambda conn: [_claim(r) for r in conn.execute(query).mappings().all()],
        )

    def _end(
        self,
        claim: Claim,
        status: ClaimStatus,
        *,
        run_id: str | None,
        reason: str | None,
        now: datetime | None,
    ) -> bool:
        from sqlalchemy import update

        from visiondrift.store._schema import CLAIMS

        with self.store._write(f"ending the claim on {claim.batch_key}") as conn:
            changed = conn.execute(
                update(CLAIMS)
                .where(_held(claim))
                .values(status=status, run_id=run_id, reason=reason, finished_at=now_utc(now))
            ).rowcount
        return bool(changed == 1)


def _held(claim: Claim) -> Any:
    """The row is still ``claim``'s: running, taken by its owner at its attempt."""
    from visiondrift.store._schema import CLAIMS

    return (
        (CLAIMS.c.batch_key == claim.batch_key)
        & (CLAIMS.c.status == "running")
        & (CLAIMS.c.owner == claim.owner)
        & (CLAIMS.c.attempts == claim.attempts)
    )


def _insert_new(conn: Connection, row: dict[str, Any]) -> bool:
    """Insert ``row`` unless its batch key exists (``ON CONFLICT DO NOTHING``); whether it was."""
    from visiondrift.store._schema import CLAIMS

    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(CLAIMS).values(row).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(CLAIMS).values(row).on_conflict_do_nothing()
    # RETURNING, not rowcount: psycopg reports no row count for INSERT ... ON CONFLICT.
    return conn.execute(statement.returning(CLAIMS.c.batch_key)).first() is not None


def _check_key(batch_key: str) -> None:
    from visiondrift.errors import ConfigError

    if not isinstance(batch_key, str) or not batch_key or len(batch_key) > MAX_KEY_LENGTH:
        raise ConfigError(
            f"A batch key must be a non-empty text of at most {MAX_KEY_LENGTH} characters. "
            f"Got {str(batch_key)[:80]!r} ({len(str(batch_key))} characters) instead."
        )
