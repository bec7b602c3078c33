"""visiondrift: calibrated drift detection for image classifiers.

Profile a baseline once, compare production batches against it, and learn what changed, how
much, which images show it, and whether to act::

    import visiondrift
    baseline = visiondrift.profile("data/val")
    report = visiondrift.compare(baseline, visiondrift.profile("data/prod"))
    report.overall_drift_detected, report.severity
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondrift._lazy import lazy_attributes as _lazy_attributes
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
    "BytesSource": "visiondrift.sources",
    "ConfigError": "visiondrift.errors",
    "DatasetAnalyzer": "visiondrift.compat",
    "DecodeLimits": "visiondrift.decode",
    "DriftConfig": "visiondrift.drift",
    "DriftDetector": "visiondrift.compat",
    "DriftReport": "visiondrift.drift",
    "FileListSource": "visiondrift.sources",
    "FolderSource": "visiondrift.sources",
    "FsspecSource": "visiondrift.sources",
    "IncompatibleProfilesError": "visiondrift.errors",
    "InputDistributionMonitor": "visiondrift.compat",
    "MeasureConfig": "visiondrift.measure.properties",
    "MeasureError": "visiondrift.errors",
    "MetricResult": "visiondrift.drift",
    "MissingExtraError": "visiondrift.errors",
    "ModelError": "visiondrift.errors",
    "Monitor": "visiondrift.app",
    "NoReadableImagesError": "visiondrift.errors",
    "NotFittedError": "visiondrift.errors",
    "OutputFileError": "visiondrift.errors",
    "Outputs": "visiondrift.app",
    "Profile": "visiondrift.profiles",
    "ProfileBuilder": "visiondrift.profiles",
    "ProfileConfig": "visiondrift.profiles",
    "ProfileFormatError": "visiondrift.errors",
    "RunResult": "visiondrift.app",
    "SourceError": "visiondrift.errors",
    "UnsupportedVersionError": "visiondrift.errors",
    "VisionDriftError": "visiondrift.errors",
    "compare": "visiondrift.drift",
    "generate_html_report": "visiondrift.report",
    "profile": "visiondrift.profiler",
    "profile_predictions": "visiondrift.profiles.predictions",
}


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

__getattr__, __dir__ = _lazy_attributes(__name__, _LAZY, __all__)
