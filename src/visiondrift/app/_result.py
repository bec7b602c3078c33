"""What one monitor run produced: the report, the batch profile, the files, the sink failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from visiondrift.drift import DriftReport
    from visiondrift.profiles import Profile

__all__ = ["RunResult", "SinkFailure"]


@dataclass(frozen=True)
class SinkFailure:
    """A sink that raised while handling a run: which one, and what it said.

    The run itself is not lost: its report and files stay in the :class:`RunResult`.
    """

    sink: str
    error: str


@dataclass(frozen=True)
class RunResult:
    """The outcome of :meth:`visiondrift.app.Monitor.run`.

    Attributes
    ----------
    run_id
        A unique id of the run (hex), for the history store and the alert channels.
    dataset
        The dataset the batch belongs to, or ``None``.
    window
        The time the batch covers, ``(start, end)`` (timezone-aware), or ``None``.
    report
        The drift report.
    profile
        The batch's profile (what was compared with the baseline).
    baseline
        The baseline profile.
    files
        Every file the run wrote (report JSON, HTML page, Markdown summary, batch profile).
    failures
        The sinks that failed, in the order they ran.
    started_at, finished_at
        When the run started and when its last sink returned (UTC); the sinks themselves see
        when the report and its files were done.
    reports_root
        The folder the reports are published from (:attr:`Outputs.root`), or ``None``.
    """

    run_id: str
    dataset: str | None
    window: tuple[datetime, datetime] | None
    report: DriftReport
    profile: Profile
    baseline: Profile
    files: tuple[Path, ...]
    failures: tuple[SinkFailure, ...]
    started_at: datetime
    finished_at: datetime
    reports_root: Path | None = None

    @property
    def drift(self) -> bool:
        """Whether the comparison found drift."""
        return self.report.overall_drift_detected

    @property
    def ok(self) -> bool:
        """Whether every sink handled the run."""
        return not self.failures
