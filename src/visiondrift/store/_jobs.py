"""The batch runs and baselines asked of the service (``vd_jobs``): one row per job.

A job is created ``queued`` when the service answers 202, becomes ``running`` when a pool
thread takes it and ends ``done`` (a baseline job with its baseline's id; a run job's id *is*
its run's id) or ``failed`` with the reason. The rows live in the store, so every server
process sees every job; a process that dies leaves its jobs ``queued`` or ``running``, and the
next process to start on that host marks them failed ("interrupted") rather than leaving a
client polling for ever (:meth:`Jobs.abandon_stale`).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from visiondrift.errors import ConfigError
from visiondrift.store._rows import now_utc, utc

if TYPE_CHECKING:
    from visiondrift.store._store import HistoryStore

__all__ = ["INTERRUPTED", "Job", "JobKind", "JobStatus", "Jobs"]

JobKind = Literal["run", "baseline"]
JobStatus = Literal["queued", "running", "done", "failed"]

#: The reason of a job whose process stopped before it ended.
INTERRUPTED = "interrupted: the service stopped before the job ended; post it again"


@dataclass(frozen=True)
class Job:
    """One row of ``vd_jobs``.

    Attributes
    ----------
    job_id
        32 hex digits; a run job's id is the id its run is recorded under.
    dataset
        The dataset the job is for.
    kind
        ``run`` (a batch compared with the dataset's active baseline) or ``baseline``.
    status
        ``queued``, ``running``, ``done`` or ``failed``.
    created_at, started_at, finished_at
        When it was asked for, taken by a pool thread, ended (UTC).
    owner
        The server process that runs it (``host:pid:random``).
    baseline_id
        The baseline a ``done`` baseline job made.
    error
        Why a ``failed`` job failed.
    """

    job_id: str
    dataset: str
    kind: JobKind
    status: JobStatus
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    owner: str | None
    baseline_id: str | None
    error: str | None


def _job(row: Any) -> Job:
    created = utc(row["created_at"])
    assert created is not None
    return Job(
        job_id=row["job_id"],
        dataset=row["dataset"],
        kind=row["kind"],
        status=row["status"],
        created_at=created,
        started_at=utc(row["started_at"]),
        finished_at=utc(row["finished_at"]),
        owner=row["owner"],
        baseline_id=row["baseline_id"],
        error=row["error"],
    )


class Jobs:
    """The jobs of a :class:`~visiondrift.store.HistoryStore` (``store.jobs``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from visiondrift.store import HistoryStore
    >>> store = HistoryStore(pathlib.Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> job = store.jobs.create("0" * 32, "shop", "run", owner="host:1:ab")
    >>> store.jobs.start(job.job_id), store.jobs.finish(job.job_id)
    (True, True)
    >>> store.jobs.get("0" * 32).status
    'done'
    >>> store.close()
    """

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    def create(self, job_id: str, dataset: str, kind: JobKind, *, owner: str | None) -> Job:
        """Record a new ``queued`` job."""
        from sqlalchemy import insert

        from visiondrift.store._schema import JOBS

        if kind not in ("run", "baseline"):
            raise ConfigError(f"A job's kind is 'run' or 'baseline'. Got {kind!r} instead.")
        row = {
            "job_id": job_id,
            "dataset": dataset,
            "kind": kind,
            "status": "queued",
            "created_at": now_utc(),
            "started_at": None,
            "finished_at": None,
            "owner": owner,
            "baseline_id": None,
            "error": None,
        }
        with self.store._write(f"recording the job {job_id}") as conn:
            conn.execute(insert(JOBS).values(**row))
        return _job(row)

    def _move(self, job_id: str, before: tuple[str, ...], **values: Any) -> bool:
        from sqlalchemy import update

        from visiondrift.store._schema import JOBS

        with self.store._write(f"updating the job {job_id}") as conn:
            done = conn.execute(
                update(JOBS)
                .where((JOBS.c.job_id == job_id) & JOBS.c.status.in_(before))
                .values(**values)
            ).rowcount
        return bool(done == 1)

    def start(self, job_id: str) -> bool:
        """A pool thread took the job; ``False`` when it is no longer queued."""
        return self._move(job_id, ("queued",), status="running", started_at=now_utc())

    def finish(self, job_id: str, baseline_id: str | None = None) -> bool:
        """The job is done (a baseline job with the baseline it made)."""
        return self._move(
            job_id,
            ("queued", "running"),
            status="done",
            finished_at=now_utc(),
            baseline_id=baseline_id,
        )

    def fail(self, job_id: str, error: str) -> bool:
        """The job failed, for ``error`` (shown to the client: no secret, no traceback)."""
        return self._move(
            job_id,
            ("queued", "running"),
            status="failed",
            finished_at=now_utc(),
            error=error[:2000],
        )

    def discard(self, job_id: str) -> bool:
        """Forget a job that was never started (the pool refused it)."""
        from sqlalchemy import delete

        from visiondrift.store._schema import JOBS

        with self.store._write(f"forgetting the job {job_id}") as conn:
            done = conn.execute(
                delete(JOBS).where((JOBS.c.job_id == job_id) & (JOBS.c.status == "queued"))
            ).rowcount
        return bool(done == 1)

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or ``None``."""
        from sqlalchemy import select

        from visiondrift.store._schema import JOBS

        row = self.store._read(
            f"reading the job {job_id}",
            lambda conn: (
                conn.execute(select(JOBS).where(JOBS.c.job_id == job_id)).mappings().one_or_none()
            ),
        )
        return None if row is None else _job(row)

    def list(self, dataset: str | None = None, limit: int = 50) -> list[Job]:
        """The latest jobs (of ``dataset``), newest first."""
        from sqlalchemy import select

        from visiondrift.store._schema import JOBS

        query = select(JOBS)
        if dataset is not None:
            query = query.where(JOBS.c.dataset == dataset)
        query = query.order_by(JOBS.c.created_at.desc(), JOBS.c.job_id).limit(max(0, int(limit)))
        rows = self.store._read("listing jobs", lambda conn: list(conn.execute(query).mappings()))
        return [_job(r) for r in rows]

    def abandon_stale(self, dead: Callable[[str | None], bool]) -> builtins.list[str]:
        """Fail the ``queued`` and ``running`` jobs whose owner ``dead(owner)`` says stopped
        (with :data:`INTERRUPTED`); returns their ids. Run at a server's start."""
        from sqlalchemy import select, update

        from visiondrift.store._schema import JOBS

        pending = self.store._read(
            "listing unfinished jobs",
            lambda conn: list(
                conn.execute(
                    select(JOBS.c.job_id, JOBS.c.owner).where(
                        JOBS.c.status.in_(("queued", "running"))
                    )
                ).all()
            ),
        )
        stale = [str(job_id) for job_id, owner in pending if dead(owner)]
        if not stale:
            return []
        with self.store._write("failing interrupted jobs") as conn:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.job_id.in_(stale) & JOBS.c.status.in_(("queued", "running")))
                .values(status="failed", finished_at=now_utc(), error=INTERRUPTED)
            )
        return stale
