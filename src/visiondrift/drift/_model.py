"""The drift report: one verdict, per-metric results, explanations, and what was compared.

Persisted as a versioned JSON document (format ``visiondrift.report``); its JSON Schema is
``DriftReport.model_json_schema()``, committed as ``docs/schema/report.schema.json``.

Format versions: 2 (this release) types every nested record (see :mod:`visiondrift.drift._details`);
1 kept metric details, the model summary and the settings as free dicts. Reports of version 1 are
read by :func:`upgrade_v1`, which adds what version 2 names explicitly (each metric's details
``kind``; ``class_name`` for a class of the output test).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, NonNegativeInt, ValidationError

from visiondrift._io import first_non_finite, write_json_atomic
from visiondrift._version import __version__
from visiondrift.drift._details import (
    DETAILS_KIND_OF_FAMILY,
    MetricDetails,
    MetricFamily,
    ModelOutputSummary,
    ReportSettings,
    Severity,
)
from visiondrift.errors import ProfileFormatError, UnsupportedVersionError

__all__ = [
    "REPORT_FORMAT",
    "REPORT_FORMAT_VERSION",
    "SEVERITIES",
    "AtypicalImage",
    "BadFileEntry",
    "DatasetSummary",
    "DriftReport",
    "MetricFamily",
    "MetricResult",
    "MetricStatus",
    "Role",
    "RunInfo",
    "Severity",
    "SlowDriftSummary",
    "upgrade_v1",
]

REPORT_FORMAT: Final = "visiondrift.report"
REPORT_FORMAT_VERSION: Final = 2
SUPPORTED_REPORT_VERSIONS: Final = (1, 2)

SEVERITIES: Final[tuple[Severity, ...]] = ("none", "low", "medium", "high")
MetricStatus = Literal["drift", "negligible", "insufficient_evidence", "stable"]
#: ``effect``: measures something a person or the model feels, and sets the severity;
#: ``detection``: says whether anything changed; its severity is capped (see ``drift._config``).
Role = Literal["detection", "effect"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MetricResult(_Frozen):
    """The outcome of one metric: values, test, effect size, severity and explanation.

    ``p_value`` is the test's raw p-value and ``p_adjusted`` the one after the family-wise
    correction; ``effect_size`` (in ``effect_unit``) is what severity bands are applied to.
    A ``detection`` metric's severity is at most that of the strongest ``effect`` metric that
    drifted (``low`` when none did); ``details.band_severity`` keeps its uncapped band.
    ``details`` holds what the metric's kind of test adds (see
    :mod:`visiondrift.drift._details`).
    """

    name: str
    label: str
    family: MetricFamily
    unit: str
    baseline: float | None
    current: float | None
    change: float | None
    relative_change: float | None = None
    test: str
    statistic: float
    p_value: float
    p_adjusted: float
    effect_size: float
    effect_unit: str
    bands: tuple[float, float, float]
    severity: Severity
    status: MetricStatus
    n_baseline: NonNegativeInt
    n_current: NonNegativeInt
    n_needed: NonNegativeInt | None = None
    explanation: str | None = None
    role: Role = "effect"
    details: MetricDetails


class BadFileEntry(_Frozen):
    name: str
    reason: str
    detail: str


class DatasetSummary(_Frozen):
    """What one side of the comparison was."""

    location: str
    n_files: NonNegativeInt
    n_images: NonNegativeInt
    n_bad: NonNegativeInt
    bad_share: float
    bad_counts: dict[str, NonNegativeInt]
    bad_files: list[BadFileEntry]
    n_bad_listed: NonNegativeInt
    created_at: str
    formats: dict[str, NonNegativeInt]
    modes: dict[str, NonNegativeInt]
    labels: dict[str, NonNegativeInt]
    channels: dict[str, list[NonNegativeInt]]
    #: With a model: predictions, confidence and (with labels) accuracy, recall, precision,
    #: confusion matrix and calibration; ``None`` without a model.
    model: ModelOutputSummary | None = None
    #: What the profile recorded of file names: ``keep``, ``hash`` (keyed hashes) or ``drop``
    #: (positions); see :mod:`visiondrift.names`.
    names: Literal["keep", "hash", "drop"] = "keep"


class AtypicalImage(_Frozen):
    """A current image that shows the change, with why it was picked.

    ``ranking`` says how it was picked. ``"domain score"``: ``score`` is the estimated
    probability that an image like it comes from the batch rather than the baseline, with equal
    priors (0.5 = either; 0.9 = nine times as likely in the batch), from a cross-validated
    classifier; the image lies beyond the baseline's 95th percentile of that score.
    ``"robust distance"`` (with too few images for the classifier): ``score`` is the largest
    distance from the baseline median, in robust standard deviations, on a drifted metric.
    ``reasons`` say it in words: the score, then the per-image values that raised it most,
    against the baseline median.
    """

    name: str
    score: float
    reasons: list[str]
    ranking: Literal["domain score", "robust distance"] = "robust distance"


class RunInfo(_Frozen):
    """Which monitor run made the report: its id, dataset and time window (for the history)."""

    run_id: str
    dataset: str | None = None
    window_start: str | None = None
    window_end: str | None = None


class SlowDriftSummary(_Frozen):
    """The slow-drift check made with the run's history (see :mod:`visiondrift.drift.slow`).

    The check pools the images of the last 2, 4, 8 and 16 runs of the dataset that were compared
    with the same baseline, this run included, and tests each pool against the baseline; its
    false-alarm probability is at most ``alpha`` over ``horizon`` clean runs.
    """

    drift_detected: bool
    #: The metric and window (number of runs) of the strongest alarm; ``None`` without one.
    metric: str | None = None
    window: int | None = None
    explanation: str
    #: The runs checked, oldest first (this run last).
    run_ids: list[str]
    alpha: float
    horizon: int
    test: str
    #: The p-value of the strongest check and the Holm threshold it was held to.
    p_value: float | None = None
    threshold: float | None = None


class DriftReport(_Frozen):
    """The result of comparing a current set of images with a baseline.

    ``overall_drift_detected`` is true when at least one metric is significant after the
    family-wise correction *and* its effect reaches the ``low`` band; ``severity`` is the highest
    severity among those metrics, where a detection metric counts at most as much as the
    strongest effect metric (``low`` when only detection metrics drifted). ``status`` adds
    ``insufficient_evidence`` when nothing is significant but a large effect was seen on too few
    images.
    """

    format: Literal["visiondrift.report"] = REPORT_FORMAT
    format_version: Literal[2] = REPORT_FORMAT_VERSION
    package_version: str = __version__
    created_at: str
    mode: Literal["monitor", "compare"]
    baseline: DatasetSummary
    current: DatasetSummary
    alpha: float
    correction: str
    overall_drift_detected: bool
    severity: Severity
    status: Literal["drift", "no_drift", "insufficient_evidence"]
    n_tests: NonNegativeInt
    n_drifted: NonNegativeInt
    explanations: list[str]
    metrics: list[MetricResult]
    atypical_images: list[AtypicalImage]
    config: ReportSettings
    command: str | None = None
    #: The monitor run that made the report (``None``: made by ``compare`` outside a monitor).
    run: RunInfo | None = None
    #: The slow-drift check over the dataset's recent runs (``None``: no history to check).
    slow_drift: SlowDriftSummary | None = None

    def reaches(self, severity: Severity) -> bool:
        """Whether drift was found at ``severity`` or above.

        The one place where severities are ordered (``none < low < medium < high``): the CLI's
        ``--fail-on`` and alert routing use it. ``reaches("none")`` is true for any drift.

        Examples
        --------
        >>> report = DriftReport.model_construct(overall_drift_detected=True, severity="medium")
        >>> report.reaches("low"), report.reaches("medium"), report.reaches("high")
        (True, True, False)
        """
        if severity not in SEVERITIES:
            raise ValueError(f"Unknown severity {severity!r}; expected one of {list(SEVERITIES)}.")
        if not self.overall_drift_detected:
            return False
        return SEVERITIES.index(self.severity) >= SEVERITIES.index(severity)

    @property
    def drifted(self) -> list[MetricResult]:
        """The metrics with status ``drift``, most severe first."""
        return [m for m in self.metrics if m.status == "drift"]

    def metric(self, name: str) -> MetricResult:
        for m in self.metrics:
            if m.name == name:
                return m
        raise KeyError(f"No metric named {name!r}; available: {[m.name for m in self.metrics]}")

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON, atomically."""
        return write_json_atomic(path, self.to_dict(), indent=1)

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "<dict>") -> DriftReport:
        if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ProfileFormatError(
                f"'{origin}' is not a visiondrift report: expected format {REPORT_FORMAT!r}, "
                f"found {found!r}."
            )
        if data.get("format_version") not in SUPPORTED_REPORT_VERSIONS:
            raise UnsupportedVersionError(
                f"'{origin}' is a visiondrift report of format version "
                f"{data.get('format_version')!r}; this release ({__version__}) reads versions "
                f"{list(SUPPORTED_REPORT_VERSIONS)}."
            )
        non_finite = first_non_finite(data)
        if non_finite is not None:
            raise ProfileFormatError(
                f"'{origin}' is a damaged or edited visiondrift report: the field "
                f"'{non_finite}' holds a NaN or infinite number."
            )
        if data["format_version"] == 1:
            data = upgrade_v1(data)
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ProfileFormatError(f"'{origin}' is a damaged visiondrift report: {err}") from err

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> DriftReport:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as err:
            raise ProfileFormatError(f"The report file '{path}' does not exist.") from err
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ProfileFormatError(f"Cannot read the report file '{path}': {err}") from err
        return cls.from_dict(data, origin=str(path))


def upgrade_v1(data: dict[str, Any]) -> dict[str, Any]:
    """A report of format version 1 as a version-2 document (a new dict; ``data`` is kept).

    Version 1 told a metric's kind of details by its family; version 2 names it (``kind``), and
    names a class of the output test ``class_name`` instead of ``class``. Nothing else changed.
    """
    out = dict(data, format_version=2)
    metrics = data.get("metrics")
    if not isinstance(metrics, list):
        return out
    upgraded: list[Any] = []
    for metric in metrics:
        if not isinstance(metric, dict) or not isinstance(metric.get("details"), dict):
            upgraded.append(metric)
            continue
        details = dict(metric["details"])
        kind = DETAILS_KIND_OF_FAMILY.get(str(metric.get("family")))
        if kind is not None:
            details.setdefault("kind", kind)
        if kind == "outputs" and isinstance(details.get("per_class"), list):
            details["per_class"] = [
                {("class_name" if k == "class" else k): v for k, v in row.items()}
                if isinstance(row, dict)
                else row
                for row in details["per_class"]
            ]
        upgraded.append(dict(metric, details=details))
    out["metrics"] = upgraded
    return out
