"""The history store: every monitor run remembered in SQLite or PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from visiondrift.errors import ConfigError, RunNotFoundError, StoreError
from visiondrift.store._codec import content_hash, pack, unpack
from visiondrift.store._records import (
    ANY_DATASET,
    AnyDataset,
    MetricRow,
    PruneResult,
    StoredRun,
)
from visiondrift.store._rows import (
    bad_counts,
    filtered,
    metric_record,
    metric_rows,
    parse_time,
    run_row,
    runs_query,
    severity_order,
    stored_run,
    utc,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.sql import Select

    from visiondrift.app import RunResult
    from visiondrift.drift import DriftReport
    from visiondrift.drift.slow import RunValues
    from visiondrift.drift.trends import TrendSeries
    from visiondrift.profiles import Profile
    from visiondrift.store._baselines import Baselines
    from visiondrift.store._claims import Claims
    from visiondrift.store._jobs import Jobs
    from visiondrift.store._keys import ApiKeys
    from visiondrift.store._outbox import Outbox
    from visiondrift.store._windows import Windows

__all__ = ["HistoryStore", "slow_values", "stored_slow_metrics"]


def stored_slow_metrics() -> tuple[str, ...]:
    """The metrics whose values are kept beside each run's profile for the slow-drift check:
    the defaults of both of its tests (the model's confidence among them)."""
    from visiondrift.drift.slow import SLOW_DRIFT_METRICS, WELCH_METRICS

    return tuple(dict.fromkeys(SLOW_DRIFT_METRICS + WELCH_METRICS))


def slow_values(profile: Profile) -> bytes:
    """The slow-drift check's values of ``profile``, as the store keeps them."""
    from visiondrift.drift.slow import RunValues

    return RunValues.of(profile, stored_slow_metrics()).to_bytes()


T = TypeVar("T")

#: Default seconds to wait for a store locked by another writer, or to connect to a server.
DEFAULT_TIMEOUT = 30.0


class HistoryStore:
    """Runs, metric rows, reports and batch profiles in a SQLite file or a PostgreSQL database.

    Parameters
    ----------
    location
        A SQLite file path, ``sqlite:///PATH`` or ``postgresql+psycopg://USER@HOST/DB``; default
        ``history.sqlite`` in the user data folder (see :func:`default_store_path`).
    pg_schema
        PostgreSQL only: the schema holding the tables (created if missing); default the
        server's search path.
    timeout
        Seconds to wait for a store locked by another writer (or to connect to a server) before
        a write fails with :class:`~visiondrift.errors.StoreError`.
    migrate
        Bring the store to the latest schema revision on first use (the default); ``False``
        uses it as it is (``history migrate`` upgrades it explicitly).

    Opening a store does not connect: the first read or write does (and migrates), so a store
    that cannot be reached fails that operation with a :class:`~visiondrift.errors.StoreError`
    naming it, never the constructor.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = HistoryStore(pathlib.Path(tempfile.mkdtemp()) / "history.sqlite")
    >>> store.runs()
    []
    >>> store.close()
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None = None,
        *,
        pg_schema: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        migrate: bool = True,
    ) -> None:
        from visiondrift.store._engine import make_engine
        from visiondrift.store._url import shown_url, store_url

        if not isinstance(timeout, int | float) or not timeout > 0:
            raise ConfigError(
                f"The 'timeout' of HistoryStore must be a positive number of seconds. Got "
                f"{timeout!r} instead."
            )
        self._url = store_url(location)
        self.url = shown_url(self._url)
        self.pg_schema = pg_schema
        self.timeout = float(timeout)
        self._engine: Engine = make_engine(self._url, timeout=self.timeout, pg_schema=pg_schema)
        self._migrated = not migrate
        self._hold = False
        self._held: Connection | None = None

    def _ready(self) -> None:
        if not self._migrated:
            self.migrate()

    def __repr__(self) -> str:
        return f"HistoryStore({self.url!r})"

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's connections."""
        self._engine.dispose()

    def reopen_arguments(self) -> dict[str, Any]:
        """What opens this store again in another process: ``HistoryStore(**arguments)`` (not
        migrated again; the location with its password, to be passed on, never shown)."""
        return {
            "location": self._url.render_as_string(hide_password=False),
            "pg_schema": self.pg_schema,
            "timeout": self.timeout,
            "migrate": False,
        }

    @contextmanager
    def held_writer(self) -> Iterator[None]:
        """Within this block, every write of this store object runs on ONE connection (taken
        at the first write, and again after it was lost) instead of one from the pool per
        transaction: checking a connection out, and back in with its reset, was a tenth of
        the record writer's CPU. For a process that does nothing but write (the service's
        record writer); the store object is then not to be shared between threads."""
        self._hold = True
        try:
            yield
        finally:
            self._hold = False
            held, self._held = self._held, None
            if held is not None:
                held.close()

    # ------------------------------------------------------------ plumbing
    def _failure(self, err: Exception, doing: str) -> StoreError:
        from sqlalchemy.exc import OperationalError

        # (an error of the driver itself: raised by driver-level statements, the appends')
        operational = (OperationalError, self._engine.dialect.loaded_dbapi.OperationalError)
        text = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        if isinstance(err, operational) and (
            "locked" in text or "lock timeout" in text or "busy" in text
        ):
            return StoreError(
                f"The history store {self.url} is locked by another process; gave up "
                f"{doing} after {self.timeout:g} s. Raise store.timeout, or find the process "
                "holding it."
            )
        if isinstance(err, operational):
            return StoreError(
                f"Cannot reach the history store {self.url} while {doing}: {text}. Check that "
                "the file's folder is writable or the server is running, or give another "
                "location with --store / VISIONDRIFT_STORE."
            )
        return StoreError(f"The history store {self.url} failed while {doing}: {text}")

    @contextmanager
    def _write(self, doing: str) -> Iterator[Connection]:
        """One write transaction: all of it lands or none of it does.

        Statements may also be run on the driver's own cursor (``conn.connection.cursor()``,
        the appends' hot path): the driver's errors are reported as SQLAlchemy's are.
        """
        from sqlalchemy.exc import DBAPIError

        from visiondrift.store._engine import WRITE

        self._ready()
        try:
            if self._hold:
                if self._held is None or self._held.closed:
                    self._held = self._engine.connect().execution_options(**{WRITE: True})
                with self._held.begin():
                    yield self._held
                return
            with (
                self._engine.connect().execution_options(**{WRITE: True}) as conn,
                conn.begin(),
            ):
                yield conn
        except (DBAPIError, self._engine.dialect.loaded_dbapi.Error) as err:
            raise self._failure(err, doing) from err

    def _read(self, doing: str, work: Callable[[Connection], T]) -> T:
        from sqlalchemy.exc import DBAPIError

        self._ready()
        try:
            with self._engine.connect() as conn:
                return work(conn)
        except DBAPIError as err:
            raise self._failure(err, doing) from err

    # ------------------------------------------------------------ alerts and claims
    @property
    def outbox(self) -> Outbox:
        """The alert outbox and each channel's alert state (:class:`~visiondrift.store.Outbox`)."""
        from visiondrift.store._outbox import Outbox

        return Outbox(self)

    @property
    def claims(self) -> Claims:
        """The batches ``watch`` took (:class:`~visiondrift.store.Claims`)."""
        from visiondrift.store._claims import Claims

        return Claims(self)

    # ------------------------------------------------------------ the service's tables
    @property
    def keys(self) -> ApiKeys:
        """The service's API keys (:class:`~visiondrift.store.ApiKeys`)."""
        from visiondrift.store._keys import ApiKeys

        return ApiKeys(self)

    @property
    def baselines(self) -> Baselines:
        """The baselines uploaded to the service (:class:`~visiondrift.store.Baselines`)."""
        from visiondrift.store._baselines import Baselines

        return Baselines(self)

    @property
    def windows(self) -> Windows:
        """The service's windows of records (:class:`~visiondrift.store.Windows`)."""
        from visiondrift.store._windows import Windows

        return Windows(self)

    @property
    def jobs(self) -> Jobs:
        """The batch runs and baselines asked of the service (:class:`~visiondrift.store.Jobs`)."""
        from visiondrift.store._jobs import Jobs

        return Jobs(self)

    # ------------------------------------------------------------ schema
    def migrate(self) -> tuple[str | None, str]:
        """Upgrade the store to the latest schema revision; returns (before, after)."""
        from sqlalchemy.exc import DBAPIError

        from visiondrift.store._migrate import migrate

        try:
            revisions = migrate(self._engine, pg_schema=self.pg_schema)
        except DBAPIError as err:
            raise self._failure(err, "upgrading its schema") from err
        self._migrated = True
        return revisions

    def revision(self) -> str | None:
        """The schema revision the store is at (``None``: never migrated)."""
        from sqlalchemy.exc import DBAPIError

        from visiondrift.store._migrate import current_revision

        try:
            with self._engine.connect() as conn:
                return current_revision(conn)
        except DBAPIError as err:
            raise self._failure(err, "reading its schema revision") from err

    # ------------------------------------------------------------ writing
    def record(self, result: RunResult, *, keep_profile: bool = True) -> str:
        """Record a monitor run (one transaction); returns its run id.

        Keeps the run, its bad-file counts, one row per metric, the report JSON and (unless
        ``keep_profile`` is false) the batch profile, compressed. Nothing of the images.
        """
        return self.record_report(
            result.report,
            run_id=result.run_id,
            dataset=result.dataset,
            window=result.window,
            profile=result.profile if keep_profile else None,
            ran_at=result.finished_at,
            started_at=result.started_at,
        )

    def record_report(
        self,
        report: DriftReport,
        *,
        run_id: str | None = None,
        dataset: str | AnyDataset | None = ANY_DATASET,
        window: tuple[datetime, datetime] | None = None,
        profile: Profile | None = None,
        ran_at: datetime | None = None,
        started_at: datetime | None = None,
        replace: bool = False,
    ) -> str:
        """Record a run from its report (``history import``); returns its run id.

        The run id, dataset and window default to the report's own record of its run; a report
        made outside a monitor gets an id derived from its content, so importing it twice
        records it once. A run id already stored raises :class:`StoreError` unless ``replace``.
        """
        from sqlalchemy import delete, insert, select

        from visiondrift.store._schema import BAD_COUNTS, DOCUMENTS, METRICS, RUNS

        run = report.run
        document = report.model_dump(mode="json")
        if run_id is None:
            run_id = run.run_id if run is not None else content_hash(document)[:32]
        if isinstance(dataset, AnyDataset):
            dataset = run.dataset if run is not None else None
        if window is None and run is not None and run.window_start and run.window_end:
            start, end = parse_time(run.window_start), parse_time(run.window_end)
            window = (start, end) if start is not None and end is not None else None
        finished = utc(ran_at) or parse_time(report.created_at) or datetime.now(UTC)
        started = utc(started_at) or finished
        rows = run_row(report, run_id, dataset, window, finished, started)
        metrics_in = metric_rows(report, run_id, dataset, finished)
        bad = {k: int(v) for k, v in report.current.bad_counts.items() if int(v) > 0}
        # Encoded before the transaction: the store's write lock (SQLite has one) is held for
        # the inserts only, not for the JSON and zlib work (about 0.1 s for a large window).
        documents = {
            "run_id": run_id,
            "report": pack(document),
            "profile": None if profile is None else pack(profile.to_dict()),
            "slow_values": None if profile is None else slow_values(profile),
        }
        with self._write(f"recording run {run_id}") as conn:
            exists = conn.execute(select(RUNS.c.run_id).where(RUNS.c.run_id == run_id)).first()
            if exists is not None:
                if not replace:
                    raise StoreError(
                        f"The run {run_id} is already in the history store {self.url}; it is "
                        "recorded once (pass replace=True / --replace to overwrite it)."
                    )
                for table in (METRICS, BAD_COUNTS, DOCUMENTS, RUNS):
                    conn.execute(delete(table).where(table.c.run_id == run_id))
            conn.execute(insert(RUNS), [rows])
            if bad:
                conn.execute(
                    insert(BAD_COUNTS),
                    [{"run_id": run_id, "reason": k, "count": v} for k, v in sorted(bad.items())],
                )
            if metrics_in:
                conn.execute(insert(METRICS), metrics_in)
            conn.execute(insert(DOCUMENTS), [documents])
        return run_id

    def prune(self, older_than: datetime, *, keep_metrics: bool = False) -> PruneResult:
        """Forget runs that finished before ``older_than`` (one transaction).

        With ``keep_metrics``, a run's row, bad-file counts and metric rows stay (trends and
        Grafana keep them) and only its report and profile documents (and the slow-drift values
        kept with the profile) are dropped.
        """
        from sqlalchemy import delete, func, select, update

        from visiondrift.store._schema import BAD_COUNTS, DOCUMENTS, METRICS, RUNS

        cutoff = utc(older_than)
        assert cutoff is not None
        old = select(RUNS.c.run_id).where(RUNS.c.ran_at < cutoff)
        with self._write("pruning old runs") as conn:
            if keep_metrics:
                dropped = conn.execute(
                    update(DOCUMENTS)
                    .where(DOCUMENTS.c.run_id.in_(old))
                    .where((DOCUMENTS.c.report.is_not(None)) | (DOCUMENTS.c.profile.is_not(None)))
                    .values(report=None, profile=None, slow_values=None)
                ).rowcount
                return PruneResult(runs_deleted=0, documents_dropped=dropped, cutoff=cutoff)
            n = conn.execute(select(func.count()).select_from(old.subquery())).scalar_one()
            docs = conn.execute(
                select(func.count())
                .select_from(DOCUMENTS)
                .where(DOCUMENTS.c.run_id.in_(old))
                .where((DOCUMENTS.c.report.is_not(None)) | (DOCUMENTS.c.profile.is_not(None)))
            ).scalar_one()
            for table in (METRICS, BAD_COUNTS, DOCUMENTS):
                conn.execute(delete(table).where(table.c.run_id.in_(old)))
            conn.execute(delete(RUNS).where(RUNS.c.ran_at < cutoff))
        return PruneResult(runs_deleted=int(n), documents_dropped=int(docs), cutoff=cutoff)

    # ------------------------------------------------------------ reading
    def runs(
        self,
        *,
        dataset: str | AnyDataset | None = ANY_DATASET,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = True,
    ) -> list[StoredRun]:
        """Stored runs, newest first (``limit``: at most that many)."""
        from visiondrift.store._schema import RUNS

        query = filtered(runs_query(), RUNS, dataset, since, until)
        order = RUNS.c.ran_at.desc() if newest_first else RUNS.c.ran_at.asc()
        query = query.order_by(order, RUNS.c.run_id)
        if limit is not None:
            query = query.limit(limit)

        def work(conn: Connection) -> list[StoredRun]:
            rows = conn.execute(query).mappings().all()
            bad = bad_counts(conn, [r["run_id"] for r in rows])
            return [stored_run(r, bad.get(r["run_id"], {})) for r in rows]

        return self._read("listing runs", work)

    def get(self, run_id: str) -> StoredRun:
        """The run with this id, or the one run whose id starts with it."""
        from visiondrift.store._schema import RUNS

        prefix = run_id.strip().lower()
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            raise RunNotFoundError(
                f"A run id is hexadecimal (see 'visiondrift history list'). Got {run_id!r}."
            )

        def work(conn: Connection) -> StoredRun:
            rows = (
                conn.execute(runs_query().where(RUNS.c.run_id.startswith(prefix)).limit(2))
                .mappings()
                .all()
            )
            if not rows:
                raise RunNotFoundError(
                    f"No run in the history store {self.url} has an id starting with "
                    f"{prefix!r}. See 'visiondrift history list'."
                )
            if len(rows) > 1:
                raise RunNotFoundError(
                    f"Several runs in the history store have ids starting with {prefix!r}; "
                    "give more of the id."
                )
            bad = bad_counts(conn, [rows[0]["run_id"]])
            return stored_run(rows[0], bad.get(rows[0]["run_id"], {}))

        return self._read(f"reading run {run_id}", work)

    def _document(self, run_id: str, column: str) -> Any:
        from sqlalchemy import select

        from visiondrift.store._schema import DOCUMENTS

        full = self.get(run_id).run_id
        blob = self._read(
            f"reading run {full}",
            lambda conn: conn.execute(
                select(DOCUMENTS.c[column]).where(DOCUMENTS.c.run_id == full)
            ).scalar_one_or_none(),
        )
        return None if blob is None else unpack(blob)

    def report(self, run_id: str) -> DriftReport:
        """The full report of a run (to re-render it); raises if ``prune`` dropped it."""
        from visiondrift.drift import DriftReport

        data = self._document(run_id, "report")
        if data is None:
            raise StoreError(
                f"The report of run {run_id} is no longer stored (pruned); its metric rows "
                "remain: 'visiondrift history show'."
            )
        return DriftReport.from_dict(data, origin=f"history run {run_id}")

    def profile(self, run_id: str) -> Profile | None:
        """The batch profile of a run, or ``None`` when it was not kept or was pruned."""
        from visiondrift.profiles import Profile

        data = self._document(run_id, "profile")
        return None if data is None else Profile.from_dict(data, origin=f"history run {run_id}")

    def recent_values(
        self,
        *,
        dataset: str | None,
        baseline_hash: str,
        limit: int,
        metrics: Sequence[str] = (),
    ) -> list[tuple[str, RunValues]]:
        """What the slow-drift check reads of the dataset's latest ``limit`` runs compared with
        the baseline of ``baseline_hash`` (see :func:`baseline_identity`): their run ids and
        :class:`~visiondrift.drift.RunValues`, oldest first. Runs recorded without a profile
        are left out; runs recorded before the values were kept, or without one of ``metrics``,
        are read from their profiles.

        One indexed query: what the monitor reads after every run.
        """
        from sqlalchemy import select

        from visiondrift.drift.slow import RunValues
        from visiondrift.profiles import Profile
        from visiondrift.store._schema import DOCUMENTS, RUNS

        joined: Select[Any] = (
            select(RUNS.c.run_id, DOCUMENTS.c.slow_values)
            .join(DOCUMENTS, DOCUMENTS.c.run_id == RUNS.c.run_id)
            .where(RUNS.c.baseline_hash == baseline_hash)
            .where(DOCUMENTS.c.profile.is_not(None))
        )
        query = filtered(joined, RUNS, dataset, None, None)
        query = query.order_by(RUNS.c.ran_at.desc(), RUNS.c.run_id).limit(max(0, int(limit)))
        rows = self._read("reading recent runs", lambda conn: conn.execute(query).all())
        out: list[tuple[str, RunValues]] = []
        wanted = tuple(dict.fromkeys((*stored_slow_metrics(), *metrics)))
        for run_id, values in reversed(rows):
            origin = f"history run {run_id}"
            if values is not None:
                kept = RunValues.from_bytes(values, origin=origin)
                if all(m in kept.samples for m in metrics):
                    out.append((str(run_id), kept))
                    continue
            # Recorded before the values were kept, or without a metric asked for: the profile
            # (read only then: profiles are a hundred times larger).
            blob = self._read(
                f"reading run {run_id}",
                lambda conn, rid=run_id: conn.execute(  # type: ignore[misc]
                    select(DOCUMENTS.c.profile).where(DOCUMENTS.c.run_id == rid)
                ).scalar_one(),
            )
            profile = Profile.from_dict(unpack(blob), origin=origin)
            out.append((str(run_id), RunValues.of(profile, wanted)))
        return out

    def profiles(
        self,
        *,
        dataset: str | AnyDataset | None = ANY_DATASET,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Iterator[tuple[StoredRun, Profile]]:
        """The stored batch profiles of a period, oldest first (runs without one are skipped).

        Read in pages, so merging a long period holds one page of documents at a time.
        """
        from sqlalchemy import select

        from visiondrift.profiles import Profile
        from visiondrift.store._schema import DOCUMENTS

        runs = [r for r in self.runs(dataset=dataset, since=since, until=until) if r.has_profile]
        runs.reverse()
        page = 64
        for start in range(0, len(runs), page):
            chunk = runs[start : start + page]
            ids = [r.run_id for r in chunk]
            blobs = dict(
                self._read(
                    "reading profiles",
                    lambda conn, ids=ids: conn.execute(  # type: ignore[misc]
                        select(DOCUMENTS.c.run_id, DOCUMENTS.c.profile).where(
                            DOCUMENTS.c.run_id.in_(ids)
                        )
                    ).all(),
                )
            )
            for run in chunk:
                blob = blobs.get(run.run_id)
                if blob is not None:
                    origin = f"history run {run.run_id}"
                    yield run, Profile.from_dict(unpack(blob), origin=origin)

    def metrics(self, run_id: str) -> list[MetricRow]:
        """The metric rows of a run, most severe first, then largest effect for its bands.

        That is the report's order, except that the report also puts, at one severity, the
        metrics a person or the model notices before detection metrics (not stored).
        """
        from sqlalchemy import select

        from visiondrift.store._schema import METRICS

        full = self.get(run_id).run_id
        rows = self._read(
            f"reading run {full}",
            lambda conn: (
                conn.execute(select(METRICS).where(METRICS.c.run_id == full)).mappings().all()
            ),
        )
        return sorted((metric_record(r) for r in rows), key=severity_order)

    def metric_rows(
        self,
        *,
        names: Sequence[str] | None = None,
        dataset: str | AnyDataset | None = ANY_DATASET,
        since: datetime | None = None,
        until: datetime | None = None,
        last_runs: int | None = None,
    ) -> list[MetricRow]:
        """Metric rows of many runs, oldest first (``last_runs``: of the latest runs only)."""
        from sqlalchemy import select

        from visiondrift.store._schema import METRICS, RUNS

        query = select(METRICS, RUNS.c.window_start).join(RUNS, RUNS.c.run_id == METRICS.c.run_id)
        if names is not None:
            query = query.where(METRICS.c.name.in_(list(names)))
        query = filtered(query, METRICS, dataset, since, until)
        query = query.order_by(METRICS.c.ran_at, METRICS.c.run_id, METRICS.c.name)
        latest = filtered(select(RUNS.c.run_id, RUNS.c.ran_at), RUNS, dataset, since, until)
        latest = latest.order_by(RUNS.c.ran_at.desc(), RUNS.c.run_id).limit(last_runs)

        def work(conn: Connection) -> list[Any]:
            if last_runs is None:
                return list(conn.execute(query).mappings().all())
            kept = conn.execute(latest).all()
            if not kept:
                return []
            # The latest runs' rows as a range of the (dataset, name, ran_at) index, not a join
            # with a subquery: a join planned without statistics (a table just filled, say by an
            # import) scanned quadratically on PostgreSQL, 7 s for a 10,000-run series.
            ids = {run_id for run_id, _ in kept}
            oldest = min(ran_at for _, ran_at in kept)
            rows = conn.execute(query.where(METRICS.c.ran_at >= oldest)).mappings().all()
            return [r for r in rows if r["run_id"] in ids]

        return [metric_record(r) for r in self._read("reading metric rows", work)]

    def trends(
        self,
        names: Sequence[str],
        *,
        dataset: str | AnyDataset | None = ANY_DATASET,
        last_runs: int = 30,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[TrendSeries]:
        """One :class:`~visiondrift.drift.trends.TrendSeries` per metric name that has rows."""
        from visiondrift.store._trend import series_of

        rows = self.metric_rows(
            names=names, dataset=dataset, since=since, until=until, last_runs=last_runs
        )
        return series_of(rows, names, dataset=None if isinstance(dataset, AnyDataset) else dataset)

    def run_trends(
        self,
        report: DriftReport,
        *,
        run_id: str,
        at: datetime,
        dataset: str | None,
        last_runs: int,
        until: datetime | None = None,
    ) -> list[TrendSeries]:
        """What a run's page draws: the report's metrics over the dataset's ``last_runs``
        stored runs (those that finished before ``until``), this run appended at ``at`` and
        highlighted (see :func:`with_run`)."""
        from visiondrift.store._trend import with_run

        names = [m.name for m in report.metrics]
        stored = self.trends(names, dataset=dataset, last_runs=last_runs, until=until)
        return with_run(stored, report, run_id=run_id, ran_at=at, dataset=dataset)

    def trend(
        self,
        name: str,
        *,
        dataset: str | AnyDataset | None = ANY_DATASET,
        last_runs: int = 30,
        since: datetime | None = None,
    ) -> TrendSeries | None:
        """The metric ``name`` over the latest runs, or ``None`` when no run has it."""
        found = self.trends([name], dataset=dataset, last_runs=last_runs, since=since)
        return found[0] if found else None

    def metric_names(self, *, dataset: str | AnyDataset | None = ANY_DATASET) -> list[str]:
        """Every metric name stored (for a dataset), sorted."""
        from sqlalchemy import select

        from visiondrift.store._schema import METRICS

        query = filtered(select(METRICS.c.name).distinct(), METRICS, dataset, None, None)
        return sorted(self._read("listing metrics", lambda c: list(c.execute(query).scalars())))
