"""The monitor workflow: profile a batch with the baseline's settings, compare, write, notify."""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from visiondrift.app._inputs import is_predictions_source, open_batch, prediction_defaults
from visiondrift.app._result import RunResult, SinkFailure
from visiondrift.app._sinks import Sink
from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from visiondrift.drift import DriftConfig, DriftReport, SlowDriftSummary
    from visiondrift.drift.slow import SlowDriftConfig
    from visiondrift.drift.trends import TrendSeries
    from visiondrift.names import NamesKey
    from visiondrift.profiler import ChunkExecutor, ProgressCallback
    from visiondrift.profiles import Profile
    from visiondrift.store import HistoryStore

__all__ = ["Monitor", "Outputs", "write_outputs"]

logger = logging.getLogger("visiondrift.app")

_RUN_ID = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Outputs:
    """The files a run writes (each atomically); ``None`` skips that file.

    Attributes
    ----------
    report
        The JSON report.
    html
        The self-contained HTML dashboard.
    markdown
        The short Markdown summary.
    profile
        The batch's profile (to merge later or to compare again).
    thumbnails
        Whether the HTML page embeds thumbnails of the atypical images.
    image_root
        The folder the batch's images were read from (where thumbnails come from).
    names_key
        The key of hashed file names, to find the images behind them for thumbnails.
    root
        The folder the reports are published from (``alerts.base_url`` serves it): an alert
        links ``base_url`` + the report's path under it (``20261129/20261129.html``); default:
        the report's own folder (the link is ``base_url`` + its file name).
    """

    report: Path | None = None
    html: Path | None = None
    markdown: Path | None = None
    profile: Path | None = None
    thumbnails: bool = True
    image_root: Path | None = None
    names_key: NamesKey | None = None
    root: Path | None = None


class Monitor:
    """Compares batches of images with a baseline and hands every result to its sinks.

    Parameters
    ----------
    baseline
        The baseline: a :class:`~visiondrift.profiles.Profile` or the path of a saved one.
    config
        Drift settings (bands, correction, permutations...); default :class:`DriftConfig`.
    alpha, correction
        Shortcuts that override ``config``'s family-wise error rate and correction.
    sinks
        Called after every run, in order (see :class:`~visiondrift.app.Sink`).
    model
        A model file that replaces the baseline's (same preprocessing and options), a
        :class:`~visiondrift.models.ModelSpec`, or a model already loaded with
        :meth:`ModelSpec.load` (a long-running process loads it once and every run reuses it);
        default: the baseline's own model, loaded once per run.
    executor
        Maps the profiling chunks (see :func:`visiondrift.profiler.profile`): any
        ``concurrent.futures.Executor`` or a Dask client; default: a process pool per run.
    mode
        ``"monitor"`` (a production batch against a baseline: a batch of only unusable files is
        reported as integrity drift) or ``"compare"`` (any two sets: such a batch is an error).
    history
        A :class:`~visiondrift.store.HistoryStore`: every run is recorded in it (the first
        sink, named ``history``), and the HTML page and Markdown summary show the trends of the
        run's dataset over its last ``trend_runs`` runs. ``None``: no history.
    keep_profiles
        Keep each run's batch profile in the history (rolling baselines, slow drift).
    trend_runs
        How many runs (this one included) the trends show.
    slow_drift
        With a history: after each run, check the dataset's recent runs (those compared with the
        same baseline, this one included) for a drift too slow for one batch's test
        (:func:`~visiondrift.drift.slow.detect_slow_drift`); the verdict goes into the report's
        ``slow_drift``. ``True``: the default :class:`~visiondrift.drift.slow.SlowDriftConfig`;
        ``False``: no check.

    A run, as the CLI's ``monitor`` does it::

        result = Monitor("baseline.json").run(
            "prod/20261129", dataset="skin", outputs=Outputs(report=Path("report.json"))
        )
        result.report.reaches("medium"), result.files, result.failures
    """

    def __init__(
        self,
        baseline: Profile | str | os.PathLike[str],
        *,
        config: DriftConfig | None = None,
        alpha: float | None = None,
        correction: str | None = None,
        sinks: Sequence[Sink] = (),
        model: Any = None,
        executor: ChunkExecutor | None = None,
        mode: Literal["monitor", "compare"] = "monitor",
        history: HistoryStore | None = None,
        keep_profiles: bool = True,
        trend_runs: int = 30,
        slow_drift: SlowDriftConfig | bool = True,
    ) -> None:
        from visiondrift.drift import DriftConfig
        from visiondrift.profiles import Profile

        self.baseline = baseline if isinstance(baseline, Profile) else Profile.load(baseline)
        drift = config or DriftConfig()
        if alpha is not None:
            drift = replace(drift, alpha=alpha)  # replace validates, as the constructor does
        if correction is not None:
            drift = replace(drift, correction=correction)  # type: ignore[arg-type]
        self.config = drift
        for sink in sinks:
            if not isinstance(sink, Sink):
                raise ConfigError(
                    f"A sink must have a 'name' and a 'handle(result)' method; got "
                    f"{type(sink).__name__}."
                )
        self.history = history
        if history is not None:
            from visiondrift.store import HistorySink

            sinks = (HistorySink(history, keep_profile=keep_profiles), *sinks)
        if not isinstance(trend_runs, int) or trend_runs < 2:
            raise ConfigError(
                f"The 'trend_runs' of Monitor must be an integer of at least 2. Got "
                f"{trend_runs!r} instead."
            )
        self.trend_runs = trend_runs
        if slow_drift is True:
            from visiondrift.drift.slow import SlowDriftConfig

            slow_drift = SlowDriftConfig()
        self.slow_drift = slow_drift or None
        self.sinks = tuple(sinks)
        self.model = model
        self.executor = executor
        if mode not in ("monitor", "compare"):
            raise ConfigError(f"The 'mode' must be 'monitor' or 'compare'. Got {mode!r} instead.")
        self.mode = mode

    # ----------------------------------------------------------------- steps
    def profile(
        self,
        source: Any,
        *,
        predictions: bool | None = None,
        class_names: Sequence[str] | None = None,
        activation: Literal["none", "softmax"] | None = None,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> Profile:
        """The profile of ``source`` made with the baseline's settings.

        ``source`` is anything :func:`~visiondrift.app.open_batch` reads. Folder names become
        labels only if the baseline has labels; a predictions file takes the baseline's class
        names and activation unless given. ``options`` are those of :func:`visiondrift.profile`
        that do not shape the profile (``workers``, ``max_images``, ``labels``, ``names_key``,
        ``names_root``...).
        """
        base = self.baseline
        if options.get("labels", "auto") == "auto" and not base.labels.counts:
            options["labels"] = "none"  # folder names are classes only if they were in the baseline
        is_predictions = is_predictions_source(source) if predictions is None else predictions
        if is_predictions:
            default_names, default_activation = prediction_defaults(base)
            class_names = class_names or default_names
            activation = activation or default_activation
            for key in ("labels", "workers", "allow_empty"):
                options.pop(key, None)
        else:
            options.setdefault("allow_empty", self.mode == "monitor")
            if self.model is not None:
                options["model"] = self.model
            if self.executor is not None:
                options.setdefault("executor", self.executor)
        return open_batch(
            source,
            config=base.config,
            predictions=is_predictions,
            class_names=class_names,
            activation=activation,
            progress=progress,
            **options,
        )

    def compare(self, current: Profile, *, command: str | None = None) -> DriftReport:
        """Compare ``current`` with the baseline under the monitor's drift settings."""
        from visiondrift.drift import compare

        return compare(self.baseline, current, config=self.config, mode=self.mode, command=command)

    def run(
        self,
        source: Any,
        *,
        dataset: str | None = None,
        window: tuple[datetime, datetime] | None = None,
        outputs: Outputs | None = None,
        command: str | None = None,
        run_id: str | None = None,
        **options: Any,
    ) -> RunResult:
        """Profile ``source``, compare it with the baseline, write ``outputs``, notify the sinks.

        Parameters
        ----------
        source
            A folder, list file, predictions file, saved profile, source object or profile.
        dataset
            The dataset the batch belongs to, recorded in the batch profile and the result;
            default: the baseline's dataset.
        window
            The time the batch covers, ``(start, end)``, timezone-aware; recorded in the batch
            profile (in UTC) and the result.
        outputs
            Files to write; writing fails the run (raises) only for these files, never for a
            sink.
        command
            The command line that started the run, kept in the report.
        run_id
            The run's id (32 lowercase hex digits), when the caller announced it before the
            run (the service answers a posted batch with it); default: a new random id.
        **options
            Passed to :meth:`profile`.

        Returns
        -------
        RunResult
            The report, the batch profile, the files written and the sinks that failed.
        """
        from visiondrift.drift import RunInfo

        started = datetime.now(UTC)
        if run_id is None:
            run_id = uuid.uuid4().hex
        elif not _RUN_ID.fullmatch(run_id):
            raise ConfigError(
                f"The 'run_id' must be 32 lowercase hex digits. Got {run_id!r} instead."
            )
        _check_window(window)
        if dataset is None:
            dataset = self.baseline.dataset
        current = self.profile(source, **options)
        if dataset is not None and current.dataset != dataset:
            current = current.with_dataset(dataset)
        if window is not None:
            current = current.with_window(*window)
        report = self.compare(current, command=command).model_copy(
            update={
                "run": RunInfo(
                    run_id=run_id,
                    dataset=dataset,
                    window_start=None if window is None else window[0].isoformat(),
                    window_end=None if window is None else window[1].isoformat(),
                )
            }
        )
        slow = self.check_slow_drift(report, current, run_id=run_id, dataset=dataset)
        if slow is not None:
            report = report.model_copy(update={"slow_drift": slow})
        outputs = outputs or Outputs()
        trends = None
        if outputs.html is not None or outputs.markdown is not None:
            trends = self.trends(
                report,
                run_id=run_id,
                dataset=dataset,
                at=window[0] if window is not None else None,
            )
        files = write_outputs(report, outputs, profile=current, trends=trends)
        result = RunResult(
            run_id=run_id,
            dataset=dataset,
            window=window,
            report=report,
            profile=current,
            baseline=self.baseline,
            files=files,
            reports_root=outputs.root,
            failures=(),
            started_at=started,
            finished_at=datetime.now(UTC),  # what the sinks see (the history's ran_at)
        )
        return self.notify(result)

    def check_slow_drift(
        self, report: DriftReport, current: Profile, *, run_id: str, dataset: str | None
    ) -> SlowDriftSummary | None:
        """The slow-drift verdict of this run with the dataset's recent stored runs; ``None``
        without a history (or when it cannot be read: the run goes on, and says why)."""
        if self.history is None or self.slow_drift is None:
            return None
        from visiondrift.drift import SlowDriftSummary
        from visiondrift.drift.slow import detect_slow_drift
        from visiondrift.errors import IncompatibleProfilesError, StoreError
        from visiondrift.store import baseline_identity

        config = self.slow_drift
        try:
            stored = self.history.recent_values(
                dataset=dataset,
                baseline_hash=baseline_identity(report),
                limit=max(config.windows) - 1,
                metrics=config.metrics or (),
            )
            # The stored runs were profiled with this baseline's settings (same baseline hash);
            # the batch is checked against it as a profile.
            baseline = self.baseline.with_dataset(None)
            runs = [v for _, v in stored] + [current.with_dataset(None)]
            result = detect_slow_drift(baseline, runs, config, check="last")
        except (StoreError, IncompatibleProfilesError) as err:
            logger.warning("No slow-drift check on run %s: %s", run_id, err)
            return None
        best = next(
            (
                t
                for t in result.tests
                if t.metric == result.metric and t.window == result.window and t.drift_detected
            ),
            None,
        )
        return SlowDriftSummary(
            drift_detected=result.drift_detected,
            metric=result.metric,
            window=result.window,
            explanation=result.explanation,
            run_ids=[rid for rid, _ in stored] + [run_id],
            alpha=config.alpha,
            horizon=config.horizon,
            test=config.test,
            p_value=None if best is None else best.p_value,
            threshold=None if best is None else best.threshold,
        )

    def trends(
        self,
        report: DriftReport,
        *,
        run_id: str,
        dataset: str | None,
        at: datetime | None = None,
    ) -> list[TrendSeries] | None:
        """The report's metrics over the dataset's stored runs, this run last; ``None`` without
        a history (or when it cannot be read: the run goes on, and its recording will say why).
        """
        if self.history is None:
            return None
        from visiondrift.errors import StoreError

        when = datetime.now(UTC) if at is None else at.astimezone(UTC)
        try:
            return self.history.run_trends(
                report, run_id=run_id, at=when, dataset=dataset, last_runs=self.trend_runs - 1
            )
        except StoreError as err:
            logger.warning("No trends on run %s's pages: %s", run_id, err)
            return None

    def notify(self, result: RunResult) -> RunResult:
        """Hand ``result`` to every sink; a sink that raises is recorded, not fatal."""
        failures: list[SinkFailure] = []
        for sink in self.sinks:
            name = str(getattr(sink, "name", type(sink).__name__))
            try:
                sink.handle(replace(result, failures=tuple(failures)))
            except Exception as err:  # a sink never fails the run
                failure = SinkFailure(sink=name, error=f"{type(err).__name__}: {err}")
                failures.append(failure)
                logger.warning(
                    "The sink %r failed on run %s: %s", name, result.run_id, failure.error
                )
        return replace(result, failures=tuple(failures), finished_at=datetime.now(UTC))


def write_outputs(
    report: DriftReport,
    outputs: Outputs,
    *,
    profile: Profile | None = None,
    trends: Sequence[TrendSeries] | None = None,
) -> tuple[Path, ...]:
    """Write a report's files (each atomically), in the order JSON, profile, HTML, Markdown.

    Used by :meth:`Monitor.run` and to re-render a saved report. ``trends`` (metrics over the
    dataset's runs) add a history section to the HTML page and the Markdown summary.
    """
    extra: dict[str, Any] = {"trends": trends} if trends else {}
    written: list[Path] = []
    if outputs.report is not None:
        written.append(report.save(outputs.report))
    if outputs.profile is not None:
        if profile is None:
            raise ConfigError("Outputs.profile is set but there is no profile to save.")
        written.append(profile.save(outputs.profile))
    if outputs.html is not None:
        from visiondrift.report import generate_html_report  # jinja2; matplotlib when drawing

        root = outputs.image_root
        written.append(
            generate_html_report(
                report,
                outputs.html,
                image_root=root if root is not None and Path(root).is_dir() else None,
                thumbnails=outputs.thumbnails,
                names_key=outputs.names_key,
                **extra,
            )
        )
    if outputs.markdown is not None:
        from visiondrift._io import write_text_atomic
        from visiondrift.report.markdown import render_markdown

        written.append(write_text_atomic(outputs.markdown, render_markdown(report, **extra)))
    return tuple(written)


def _check_window(window: tuple[datetime, datetime] | None) -> None:
    if window is None:
        return
    if (
        not isinstance(window, tuple)
        or len(window) != 2
        or not all(isinstance(t, datetime) and t.tzinfo is not None for t in window)
    ):
        raise ConfigError(
            "The 'window' must be a (start, end) pair of timezone-aware datetimes. "
            f"Got {window!r} instead."
        )
    if window[0] > window[1]:
        raise ConfigError(
            f"The window starts ({window[0].isoformat()}) after it ends "
            f"({window[1].isoformat()}); give (start, end)."
        )
