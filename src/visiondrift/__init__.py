"""visiondrift: calibrated drift detection for image classifiers.

Profile a baseline once, compare production batches against it, and learn what changed, how
much, which images show it, and whether to act::

    import visiondrift
    baseline = visiondrift.profile("data/val")
    report = visiondrift.compare(baseline, visiondrift.profile("data/prod"))
    report.overall_drift_detected, report.severity
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from visiondrift._version import __version__

if TYPE_CHECKING:
    from visiondrift.app import Monitor, Outputs, RunResult
    from visiondrift.compat import DatasetAnalyzer, DriftDetector, InputDistributionMonitor
    from visiondrift.decode import BadFile, DecodeLimits
    from visiondrift.drift import DriftConfig, DriftReport, MetricResult, compare
    from visiondrift.errors import (
        ConfigError,
        IncompatibleProfilesError,
        MeasureError,
        MissingExtraError,
        ModelError,
        NoReadableImagesError,
        NotFittedError,
        OutputFileError,
        ProfileFormatError,
        SourceError,
        UnsupportedVersionError,
        VisionDriftError,
    )
    from visiondrift.measure.properties import MeasureConfig
    from visiondrift.profiler import profile
    from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig
    from visiondrift.profiles.predictions import profile_predictions
    from visiondrift.report import generate_html_report
    from visiondrift.sources import BytesSource, FileListSource, FolderSource, FsspecSource

_LAZY: dict[str, str] = {
    "BadFile": "visiondrift.decode",
    "ConfigError": "visiondrift.errors",
    "DatasetAnalyzer": "visiondrift.compat",
    "DecodeLimits": "visiondrift.decode",
    "DriftConfig": "visiondrift.drift",
    "DriftDetector": "visiondrift.compat",
    "DriftReport": "visiondrift.drift",
    "BytesSource": "visiondrift.sources",
    "FileListSource": "visiondrift.sources",
    "FsspecSource": "visiondrift.sources",
    "FolderSource": "visiondrift.sources",
    "IncompatibleProfilesError": "visiondrift.errors",
    "InputDistributionMonitor": "visiondrift.compat",
    "MeasureConfig": "visiondrift.measure.properties",
    "MeasureError": "visiondrift.errors",
    "MetricResult": "visiondrift.drift",
    "Monitor": "visiondrift.app",
    "Outputs": "visiondrift.app",
    "RunResult": "visiondrift.app",
    "MissingExtraError": "visiondrift.errors",
    "ModelError": "visiondrift.errors",
    "NoReadableImagesError": "visiondrift.errors",
    "NotFittedError": "visiondrift.errors",
    "OutputFileError": "visiondrift.errors",
    "Profile": "visiondrift.profiles",
    "ProfileBuilder": "visiondrift.profiles",
    "ProfileConfig": "visiondrift.profiles",
    "ProfileFormatError": "visiondrift.errors",
    "SourceError": "visiondrift.errors",
    "UnsupportedVersionError": "visiondrift.errors",
    "VisionDriftError": "visiondrift.errors",
    "compare": "visiondrift.drift",
    "generate_html_report": "visiondrift.report",
    "profile": "visiondrift.profiler",
    "profile_predictions": "visiondrift.profiles.predictions",
}


def __getattr__(name: str) -> Any:
    """Import public names on first use, so that ``visiondrift --help`` starts instantly."""
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'visiondrift' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BadFile",
    "BytesSource",
    "ConfigError",
    "DatasetAnalyzer",
    "DecodeLimits",
    "DriftConfig",
    "DriftDetector",
    "DriftReport",
    "FileListSource",
    "FolderSource",
    "FsspecSource",
    "IncompatibleProfilesError",
    "InputDistributionMonitor",
    "MeasureConfig",
    "MeasureError",
    "MetricResult",
    "MissingExtraError",
    "ModelError",
    "Monitor",
    "NoReadableImagesError",
    "NotFittedError",
    "OutputFileError",
    "Outputs",
    "Profile",
    "ProfileBuilder",
    "ProfileConfig",
    "ProfileFormatError",
    "RunResult",
    "SourceError",
    "UnsupportedVersionError",
    "VisionDriftError",
    "__version__",
    "compare",
    "generate_html_report",
    "profile",
    "profile_predictions",
]
