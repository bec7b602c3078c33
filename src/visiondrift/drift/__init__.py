"""Compare two profiles into a drift report.

Owns the comparison (:func:`compare`), the saved report and its typed records
(:class:`DriftReport`, :mod:`visiondrift.drift._details`), the metric catalogue
(:mod:`visiondrift.drift.catalogue`) and the slow-drift checks over a history of runs
(:func:`detect_slow_drift`, :class:`SlowDriftMonitor`, in :mod:`visiondrift.drift.slow`).
Reading, writing and rendering a saved report imports pydantic only; comparing imports numpy,
scipy and :mod:`visiondrift.detectors`, and the slow-drift checks numpy and scipy, lazily.

May import :mod:`visiondrift.profiles` (the plain view, not the builder),
:mod:`visiondrift.measure.properties`, :mod:`visiondrift.detectors` and the errors module; never
Pillow, a model runtime, matplotlib or :mod:`visiondrift.report`.
"""

from __future__ import annotations

import typing

from visiondrift._lazy import lazy_attributes as _lazy_attributes
from visiondrift.drift._config import DEFAULT_BANDS, DriftConfig, band_of
from visiondrift.drift._details import (
    METRIC_FAMILIES,
    AccuracyDetails,
    ClassMixDetails,
    ClassShift,
    ConfidenceDetails,
    ConfidenceHistogram,
    ContaminationDetails,
    DistributionDetails,
    DomainDetails,
    EmbeddingDetails,
    LabelMetrics,
    MetricDetails,
    MetricFamily,
    MixDetails,
    ModelOutputSummary,
    ModelSpecRecord,
    OutputsDetails,
    ProfileSettings,
    ReportSettings,
    ShareDetails,
)
from visiondrift.drift._model import (
    REPORT_FORMAT,
    REPORT_FORMAT_VERSION,
    SEVERITIES,
    AtypicalImage,
    DatasetSummary,
    DriftReport,
    MetricResult,
    RunInfo,
    Severity,
    SlowDriftSummary,
)

if typing.TYPE_CHECKING:
    from visiondrift.drift._engine import compare, summarise
    from visiondrift.drift.slow import (
        MODEL_CONFIDENCE,
        SLOW_DRIFT_METRICS,
        SLOW_DRIFT_TESTS,
        WELCH_METRICS,
        RunValues,
        SlowDriftConfig,
        SlowDriftMonitor,
        SlowDriftResult,
        WindowTest,
        detect_slow_drift,
    )

# Imported on first use: comparing loads scipy.stats and the detectors; reading, writing and
# rendering a saved report (DriftReport) needs none of them; nor does the rest of the package
# need the slow-drift checks over a history of runs (drift.slow, scipy.stats).
_LAZY: dict[str, str] = {
    "compare": "visiondrift.drift._engine",
    "summarise": "visiondrift.drift._engine",
    "MODEL_CONFIDENCE": "visiondrift.drift.slow",
    "SLOW_DRIFT_METRICS": "visiondrift.drift.slow",
    "SLOW_DRIFT_TESTS": "visiondrift.drift.slow",
    "WELCH_METRICS": "visiondrift.drift.slow",
    "RunValues": "visiondrift.drift.slow",
    "SlowDriftConfig": "visiondrift.drift.slow",
    "SlowDriftMonitor": "visiondrift.drift.slow",
    "SlowDriftResult": "visiondrift.drift.slow",
    "WindowTest": "visiondrift.drift.slow",
    "detect_slow_drift": "visiondrift.drift.slow",
}


__all__ = [
    "DEFAULT_BANDS",
    "METRIC_FAMILIES",
    "MODEL_CONFIDENCE",
    "REPORT_FORMAT",
    "REPORT_FORMAT_VERSION",
    "SEVERITIES",
    "SLOW_DRIFT_METRICS",
    "SLOW_DRIFT_TESTS",
    "WELCH_METRICS",
    "AccuracyDetails",
    "AtypicalImage",
    "ClassMixDetails",
    "ClassShift",
    "ConfidenceDetails",
    "ConfidenceHistogram",
    "ContaminationDetails",
    "DatasetSummary",
    "DistributionDetails",
    "DomainDetails",
    "DriftConfig",
    "DriftReport",
    "EmbeddingDetails",
    "LabelMetrics",
    "MetricDetails",
    "MetricFamily",
    "MetricResult",
    "MixDetails",
    "ModelOutputSummary",
    "ModelSpecRecord",
    "OutputsDetails",
    "ProfileSettings",
    "ReportSettings",
    "RunInfo",
    "RunValues",
    "Severity",
    "ShareDetails",
    "SlowDriftConfig",
    "SlowDriftMonitor",
    "SlowDriftResult",
    "SlowDriftSummary",
    "WindowTest",
    "band_of",
    "compare",
    "detect_slow_drift",
    "summarise",
]

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
