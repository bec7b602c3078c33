"""Compare two profiles into a drift report."""

from __future__ import annotations

import importlib
import typing

from visiondrift.drift._config import DEFAULT_BANDS, DriftConfig, band_of
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

if typing.TYPE_CHECKING:
    from visiondrift.drift._engine import compare, summarise

# Imported on first use: comparing loads scipy.stats and the detectors; reading, writing and
# rendering a saved report (DriftReport) needs none of them.
_LAZY: dict[str, str] = {
    "compare": "visiondrift.drift._engine",
    "summarise": "visiondrift.drift._engine",
}


def __getattr__(name: str) -> typing.Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


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
