"""The watcher: take each complete batch once, run the monitor on it, record how it ended.

For every batch the inbox says is complete (or every firing of the schedule), the watcher

1. claims it in the history store (:class:`~visiondrift.store._claims.Claims`); a batch that is
   done, failed, or held by another live watcher is skipped;
2. runs :meth:`visiondrift.app.Monitor.run` on it, writing ``OUT/<batch>/<batch>.json``,
   ``.html`` and ``.md``, while a thread renews the claim's heartbeat; the monitor's sinks record
   the run in the history and send the alerts;
3. marks the claim ``done`` with the run, or ``failed`` with the reason when the batch cannot be
   read or holds no usable image (a failed batch is not taken again).

SIGTERM or SIGINT stops the watcher: it takes no new batch; a batch still being profiled is
abandoned (its claim released, nothing recorded, so the next watcher takes it whole); a batch
whose run already reached its sinks is finished. Then :meth:`Watcher.run` returns (the command
exits 0). A watcher killed outright leaves its claim to expire: the batch is retried after the
lease.
"""

from __future__ import annotations

import copy
import logging
import os
import secrets
import signal
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from visiondrift.errors import ConfigError, SourceError, StoreError, VisionDriftError
from visiondrift.watch._inbox import Batch, Inbox, batch_key, batch_window, is_url
from visiondrift.watch._schedule import Schedule, time_zone

if TYPE_CHECKING:
    from visiondrift.app import Monitor, RunResult, Sink
    from visiondrift.settings import WatchSettings
    from visiondrift.store import HistoryStore
    from visiondrift.store._claims import Claim

__all__ = ["Outcome", "Watcher"]

logger = logging.getLogger("visiondrift.watch")

OutcomeStatus = Literal["done", "failed", "skipped", "abandoned", "crashed", "waiting"]


@dataclass(frozen=True)
class Outcome:
    """What became of one batch the watcher looked at.

    ``status`` is ``done`` (run recorded, claim done), ``failed`` (recorded with its reason,
    not retried), ``skipped`` (done, failed or held elsewhere: not this watcher's), ``abandoned``
    (stopped before its run reached the sinks; released for the next watcher), ``crashed`` (an
    unexpected error; retried up to ``watch.max_attempts``) or ``waiting`` (a scheduled source
    that is not there yet, or without its marker).
    """

    batch: Batch
    status: OutcomeStatus
    run_id: str | None = None
    reason: str | None = None
    drift: bool | None = None
    severity: str | None = None


class _Abandoned(Exception):
    """Raised from the profiling progress callback when the watcher is told to stop."""


def _owner() -> str:
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(3)}"


class _Heartbeat:
    """Renews a claim every ``interval`` seconds in a thread while a batch runs."""

    def __init__(self, store: HistoryStore, claim: Claim, interval: float) -> None:
        self.store, self.claim, self.interval = store, claim, interval
        self.lost = False
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="visiondrift-heartbeat")

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._done.wait(self.interval):
            try:
                if not self.store.claims.heartbeat(self.claim):
                    self.lost = True
                    logger.warning(
                        "Lost the claim on batch %s: its heartbeat was late by more than the "
                        "lease and another watcher took it over; raise watch.lease.",
                        self.claim.batch_key,
                        extra={"event": "claim_lost", "source": self.claim.source},
                    )
                    return
            except StoreError as err:  # the store is away: the next beat tries again
                logger.warning(
                    "Cannot renew the claim on batch %s: %s",
                    self.claim.batch_key,
                    err,
                    extra={"event": "heartbeat_failed"},
                )


class Watcher:
    """Runs the monitor on each batch of an inbox or a schedule, exactly once.

    Parameters
    ----------
    monitor
        The :class:`~visiondrift.app.Monitor` to run (built with the history ``store`` so that
        each run is recorded; see :func:`~visiondrift.app.monitor_from_settings`), or a
        function that makes one per batch.
    store
        The history store that holds the claims.
    settings
        The ``[watch]`` settings (settle, marker, poll, lease, max_attempts; inbox or cron and
        source unless ``source`` is given).
    out
        The folder under which each batch's files are written (``OUT/<batch>/``); ``None``
        writes none.
    source
        An :class:`Inbox` or a :class:`Schedule`; default: made from ``settings``.
    dataset
        The dataset each run is recorded under; default: the baseline's.
    sinks
        More sinks, called after the monitor's own (the history first).
    html
        Write each batch's HTML page (with the JSON report and the Markdown summary).
    run_options
        Keyword arguments of :meth:`Monitor.run` (``workers``, ``max_images``...).
    command
        The command line kept in each report.
    owner
        The name of this watcher in the claims (default ``host:pid:random``).
    """

    def __init__(
        self,
        monitor: Monitor | Callable[[], Monitor],
        store: HistoryStore,
        settings: WatchSettings,
        out: str | os.PathLike[str] | None = None,
        *,
        source: Inbox | Schedule | None = None,
        dataset: str | None = None,
        sinks: Sequence[Sink] = (),
        html: bool = True,
        run_options: Mapping[str, Any] | None = None,
        command: str | None = None,
        owner: str | None = None,
    ) -> None:
        self._monitor = monitor
        self.store = store
        self.settings = settings
        # A batch named by its day or hour is recorded with that window, in this time zone.
        self._zone = time_zone(settings.timezone)
        self.out = None if out is None else Path(out)
        self.source = source if source is not None else _source_from(settings)
        self.dataset = dataset
        self.sinks = tuple(sinks)
        self.html = html
        self.run_options = dict(run_options or {})
        self.command = command
        self.owner = owner or _owner()
        self.counts: Counter[str] = Counter()
        # Batches this watcher knows are done or failed: not asked about again at each look.
        self._ended: set[str] = set()
        self._stop = threading.Event()
        self._why: str | None = None

    def __repr__(self) -> str:
        return f"Watcher({self.source!r}, owner={self.owner!r})"

    # ------------------------------------------------------------ stopping
    def stop(self, why: str = "asked to stop") -> None:
        """Take no new batch, and abandon the one being profiled (safe from a signal handler)."""
        self._why = why
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (or a SIGTERM / SIGINT arrived)."""
        return self._stop.is_set()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGTERM and SIGINT call :meth:`stop` while the watcher runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, _frame: Any) -> None:
            self.stop(signal.Signals(signum).name)

        before = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for s, previous in before.items():
                signal.signal(s, previous)

    # ------------------------------------------------------------ the loop
    def run(self, *, once: bool = False) -> Counter[str]:
        """Watch until stopped (SIGTERM, SIGINT, :meth:`stop`), or, with ``once``, process what
        is complete now and return. Returns how many batches ended in each status."""
        with self._signals():
            logger.info(
                "Watching %s (%s)",
                self._describe(),
                "once" if once else "until stopped",
                extra={"event": "watch_started", "owner": self.owner, "once": once},
            )
            if isinstance(self.source, Schedule):
                self._run_schedule(self.source, once=once)
            else:
                self._run_inbox(self.source, once=once)
            why = f" ({self._why})" if self._why else ""
            logger.info(
                "Stopped%s: %s",
                why,
                ", ".join(f"{n} {s}" for s, n in sorted(self.counts.items())) or "no batch",
                extra={"event": "watch_stopped", "counts": dict(self.counts), "signal": self._why},
            )
        return self.counts

    def _describe(self) -> str:
        if isinstance(self.source, Schedule):
            cron = self.source.expression or "now"
            return f"the schedule {cron!r} of {self.source.source!r} ({self.source.zone})"
        return f"the inbox {self.source.location!r}"

    def _run_inbox(self, inbox: Inbox, *, once: bool) -> None:
        while not self.stopping:
            try:
                self.run_once(inbox)
            except (SourceError, StoreError) as err:
                if once:
                    raise
                logger.error(
                    "%s; trying again in %g s.",
                    err,
                    self.settings.poll,
                    extra={"event": "look_failed"},
                )
            if once:
                return
            self._stop.wait(self.settings.poll)

    def run_once(self, inbox: Inbox | None = None) -> list[Outcome]:
        """One look at the inbox: process every complete batch (until stopped)."""
        looked = inbox if inbox is not None else self.source
        if not isinstance(looked, Inbox):
            raise ConfigError("run_once needs an inbox; a schedule runs with run().")
        outcomes: list[Outcome] = []
        for batch in looked.complete(skip=self._ended):
            if self.stopping:
                break
            outcomes.append(self.process(batch))
        return outcomes

    def _run_schedule(self, schedule: Schedule, *, once: bool) -> None:
        if once or schedule.expression is None:
            self._fire(schedule, datetime.now(UTC))
            return
        last = datetime.now(UTC)
        logger.info(
            "Next firing at %s",
            schedule.next_fire(last).isoformat(),
            extra={"event": "next_fire"},
        )
        while not self.stopping:
            fire = schedule.next_fire(last)
            wait = (fire - datetime.now(UTC)).total_seconds()
            if wait > 0 and self._stop.wait(wait):
                return
            # Firings missed while a batch ran: each distinct batch once, the latest firing.
            due = {schedule.source_at(f): f for f in schedule.fires(last, datetime.now(UTC))}
            for fire in due.values():
                if self.stopping:
                    return
                try:
                    self._fire(schedule, fire)
                except StoreError as err:
                    logger.error("%s", err, extra={"event": "fire_failed"})
                last = fire

    def _fire(self, schedule: Schedule, fire: datetime) -> Outcome:
        location = schedule.source_at(fire)
        name = location.rstrip("/").rsplit("/", 1)[-1] or location
        batch = Batch(name=name, location=location, key=batch_key(location))
        logger.info(
            "Fired at %s: batch %s",
            fire.isoformat(),
            location,
            extra={"event": "fired", "fire_time": fire.isoformat(), "batch": name},
        )
        ready, why = _ready(location, self.settings.marker)
        if not ready:
            logger.warning(
                "Batch %s is not there yet (%s); the next firing of the same batch tries again.",
                location,
                why,
                extra={"event": "waiting", "batch": name, "source": location},
            )
            self.counts["waiting"] += 1
            return Outcome(batch, "waiting", reason=why)
        return self.process(batch, quiet_skip=False)

    # ------------------------------------------------------------ one batch
    def process(self, batch: Batch, *, quiet_skip: bool = True) -> Outcome:
        """Claim ``batch`` and, if this watcher got it, run the monitor on it (a batch that is
        not this watcher's is logged at DEBUG level, or INFO without ``quiet_skip``)."""
        # The monitor first: one that cannot be made (a factory's error) takes no batch.
        monitor = self._monitor_for_run()
        dataset = self.dataset if self.dataset is not None else monitor.baseline.dataset
        fields = {"batch": batch.name, "source": batch.location, "dataset": dataset}
        claim = self.store.claims.claim(
            batch.key,
            source=batch.location,
            owner=self.owner,
            dataset=dataset,
            lease=self.settings.lease,
            max_attempts=self.settings.max_attempts,
        )
        if claim is None:
            return self._skipped(batch, fields, logging.DEBUG if quiet_skip else logging.INFO)
        logger.info(
            "Batch %s: started (attempt %d)",
            batch.name,
            claim.attempts,
            extra={"event": "batch_started", "attempts": claim.attempts, **fields},
        )
        interval = max(0.05, min(self.settings.lease / 4, 60.0))
        try:
            with _Heartbeat(self.store, claim, interval):
                result = monitor.run(
                    batch.location,
                    dataset=dataset,
                    window=batch_window(batch.name, self._zone),
                    outputs=self._outputs(batch),
                    command=self.command,
                    progress=self._progress,
                    **self.run_options,
                )
        except _Abandoned:
            self.store.claims.release(claim)
            logger.warning(
                "Batch %s: abandoned before its run was recorded (%s); released for the next "
                "watcher.",
                batch.name,
                self._why or "stopping",
                extra={"event": "batch_abandoned", **fields},
            )
            return self._count(Outcome(batch, "abandoned", reason=self._why))
        except VisionDriftError as err:
            reason = str(err)
            self.store.claims.fail(claim, reason)
            logger.error(
                "Batch %s: failed, not retried: %s",
                batch.name,
                reason,
                extra={"event": "batch_failed", "reason": reason, **fields},
            )
            return self._count(Outcome(batch, "failed", reason=reason))
        except Exception as err:
            reason = f"{type(err).__name__}: {err}"
            self.store.claims.release(claim, crashed=True)
            logger.exception(
                "Batch %s: unexpected error (attempt %d of %d; retried until then): %s",
                batch.name,
                claim.attempts,
                self.settings.max_attempts,
                reason,
                extra={"event": "batch_crashed", "reason": reason, **fields},
            )
            return self._count(Outcome(batch, "crashed", reason=reason))
        return self._finish(batch, claim, result, fields)

    def _skipped(self, batch: Batch, fields: dict[str, Any], level: int) -> Outcome:
        held = self.store.claims.get(batch.key)
        if held is None:  # released between the claim and this read: the next look takes it
            state = "released"
        elif held.status == "running":
            state = f"running in {held.owner}"
        else:
            self._ended.add(batch.key)
            state = held.status + (f" (run {held.run_id[:12]})" if held.run_id else "")
        logger.log(
            level,
            "Batch %s: skipped, %s",
            batch.name,
            state,
            extra={"event": "batch_skipped", "state": state, **fields},
        )
        return self._count(Outcome(batch, "skipped", reason=state))

    def _finish(
        self, batch: Batch, claim: Claim, result: RunResult, fields: dict[str, Any]
    ) -> Outcome:
        report = result.report
        failed = [f.sink for f in result.failures]
        out = {
            **fields,
            "dataset": result.dataset,
            "run_id": result.run_id,
            "verdict": "drift" if result.drift else "no drift",
            "severity": report.severity if result.drift else "none",
            "images": result.profile.n_images,
            "bad": result.profile.n_bad,
            "files": [str(p) for p in result.files],
            "failed_sinks": failed,
        }
        if "history" in failed:
            # Not recorded: the batch is given back (its attempt counted) to be run again.
            self.store.claims.release(claim, crashed=True)
            logger.error(
                "Batch %s: ran (run %s), but the history store did not record it; released to "
                "be run again.",
                batch.name,
                result.run_id,
                extra={"event": "batch_not_recorded", **out},
            )
            return self._count(Outcome(batch, "crashed", run_id=result.run_id))
        if result.profile.n_images == 0:
            from visiondrift.profiler._run import no_images_message

            reason = no_images_message(batch.location, result.profile)
            self.store.claims.fail(claim, reason, run_id=result.run_id)
            logger.error(
                "Batch %s: failed, not retried: %s (run %s records it)",
                batch.name,
                reason,
                result.run_id,
                extra={"event": "batch_failed", "reason": reason, **out},
            )
            return self._count(
                Outcome(batch, "failed", run_id=result.run_id, reason=reason, drift=True)
            )
        if not self.store.claims.finish(claim, run_id=result.run_id):
            logger.warning(
                "Batch %s: ran (run %s), but another watcher had taken it over meanwhile.",
                batch.name,
                result.run_id,
                extra={"event": "claim_lost", **out},
            )
        sinks = f"; sinks failed: {', '.join(failed)}" if failed else ""
        logger.info(
            "Batch %s: done, %s%s (run %s)%s",
            batch.name,
            out["verdict"],
            f" ({out['severity']})" if result.drift else "",
            result.run_id[:12],
            sinks,
            extra={"event": "batch_done", **out},
        )
        return self._count(
            Outcome(
                batch,
                "done",
                run_id=result.run_id,
                drift=result.drift,
                severity=str(out["severity"]),
            )
        )

    def _count(self, outcome: Outcome) -> Outcome:
        if outcome.status in ("done", "failed"):
            self._ended.add(outcome.batch.key)
        self.counts[outcome.status] += 1
        return outcome

    def _monitor_for_run(self) -> Monitor:
        from visiondrift.app import Monitor

        monitor = self._monitor if isinstance(self._monitor, Monitor) else self._monitor()
        if self.sinks:
            monitor = copy.copy(monitor)
            monitor.sinks = (*monitor.sinks, *self.sinks)
        return monitor

    def _progress(self, done: int, total: int) -> None:
        if self.stopping:
            raise _Abandoned(self._why or "stopping")

    def _outputs(self, batch: Batch) -> Any:
        from visiondrift.app import Outputs

        if self.out is None:
            return None
        folder = self.out / batch.name
        local = None if is_url(batch.location) else Path(batch.location)
        return Outputs(
            report=folder / f"{batch.name}.json",
            html=folder / f"{batch.name}.html" if self.html else None,
            markdown=folder / f"{batch.name}.md",
            image_root=local,
            root=self.out,  # alerts link base_url + <batch>/<batch>.html
        )


def _ready(location: str, marker: str | None) -> tuple[bool, str]:
    """Whether a scheduled batch can be read: its folder exists (and holds the marker)."""
    if is_url(location):
        import fsspec

        fs, path = fsspec.core.url_to_fs(location)
        exists = bool(fs.exists(path))
        has_marker = marker is None or bool(fs.isfile(f"{str(path).rstrip('/')}/{marker}"))
    else:
        exists = Path(location).exists()
        has_marker = marker is None or (Path(location) / marker).is_file()
    if not exists:
        return False, f"'{location}' does not exist"
    if not has_marker:
        return False, f"no marker file '{marker}' in '{location}' yet"
    return True, ""


def _source_from(settings: WatchSettings) -> Inbox | Schedule:
    """The inbox or the schedule the ``[watch]`` settings name."""
    if settings.inbox is not None and (settings.cron is not None or settings.source is not None):
        raise ConfigError(
            "Give watch either an inbox (watch.inbox, --inbox) or a schedule (watch.cron and "
            "watch.source, --cron and --source), not both."
        )
    if settings.inbox is not None:
        return Inbox(settings.inbox, settle=settings.settle, marker=settings.marker)
    if settings.source is not None:
        return Schedule(settings.cron, settings.source, timezone=settings.timezone)
    if settings.cron is not None:
        raise ConfigError(
            "A watch schedule (watch.cron, --cron) needs the source it monitors (watch.source, "
            "--source), e.g. --source 'production/{date:%Y%m%d}/'."
        )
    raise ConfigError(
        "Tell watch what to watch: an inbox folder (--inbox DIR, watch.inbox) whose sub-folders "
        "are batches, or a schedule (--cron EXPR --source PATTERN, watch.cron / watch.source)."
    )
