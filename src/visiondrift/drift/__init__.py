"""Compare two profiles into a drift report."""

from __future__ import annotations

from visiondrift.drift._config import DEFAULT_BANDS, DriftConfig, band_of
from visiondrift.drift._engine import compare, summarise
from visiondrift.drift._model import (
    REPORT_FORMAT,
    REPORT_FORMAT_VERSION,
    SEVERITIES,
    AtypicalImage,
    DatasetSummary,
    DriftReport,
    MetricResult,
    Severity,
)

__all__ = [
    "DEFAULT_BANDS",
    "REPORT_FORMAT",
    "REPORT_FORMAT_VERSION",
    "SEVERITIES",
    "AtypicalImage",
    "DatasetSummary",
    "DriftConfig",
    "DriftReport",
    "MetricResult",
    "Severity",
    "band_of",
    "compare",
    "summarise",
]
