"""The names of the original specification, as a thin layer over the new API.

``DatasetAnalyzer``, ``InputDistributionMonitor`` and ``DriftDetector`` keep the roles the original
gives them and return plain dicts, so scripts written against it keep working::

    analyzer = DatasetAnalyzer("ml/data/val")
    baseline = analyzer.analyze()
    report = DatasetAnalyzer("ml/data/production").detect_drift(baseline)
    report["overall_drift_detected"], report["severity"]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from visiondrift._defaults import DEFAULTS
from visiondrift.app import Monitor
from visiondrift.drift import DriftConfig, DriftReport
from visiondrift.errors import ConfigError
from visiondrift.measure.properties import CHANNELS
from visiondrift.profiler import profile
from visiondrift.profiles import Profile

if TYPE_CHECKING:
    from visiondrift.models import ModelSpec

__all__ = ["DatasetAnalyzer", "DriftDetector", "InputDistributionMonitor"]

ProfileLike = Profile | Mapping[str, Any] | str | os.PathLike[str]


def _as_profile(value: ProfileLike) -> Profile:
    if isinstance(value, Profile):
        return value
    if isinstance(value, Mapping):
        return Profile.from_dict(value)
    return Profile.load(value)


def _legacy_dict(report: DriftReport) -> dict[str, Any]:
    data = report.to_dict()
    pixel = {m.name: m for m in report.metrics if m.family in ("pixel_mean", "pixel_std")}
    data["alerts"] = list(report.explanations)
    data["pixel_drift"] = {
        "mean_shift": max(
            (abs(m.effect_size) for m in pixel.values() if m.family == "pixel_mean"), default=0.0
        ),
        "std_shift": max(
            (abs(m.effect_size) for m in pixel.values() if m.family == "pixel_std"), default=0.0
        ),
        "detected": any(m.status == "drift" for m in pixel.values()),
    }
    return data


class InputDistributionMonitor:
    """Loads the images of a dataset, computes pixel statistics, aggregates them.

    Parameters
    ----------
    data_dir
        Folder (or list file) of images.
    **options
        Passed to :func:`visiondrift.profile` (``workers``, ``max_images``, ``seed``...).
    """

    def __init__(self, data_dir: str | os.PathLike[str], **options: Any) -> None:
        self.data_dir = Path(data_dir)
        self.options = options
        self.profile: Profile | None = None

    def analyze(self) -> dict[str, Any]:
        """Profile the images; returns per-channel pixel statistics (0-1 scale) and counts."""
        self.profile = profile(self.data_dir, **self.options)
        stats: dict[str, Any] = {}
        for channel in CHANNELS:
            st = self.profile.channel(channel)
            if st is not None:
                stats[channel] = {
                    "mean": st.mean,
                    "std": st.std,
                    "min": st.min,
                    "max": st.max,
                    "percentiles": dict(st.percentiles),
                }
        return {
            "num_images": self.profile.n_images,
            "num_files": self.profile.n_files,
            "pixel_stats": stats,
        }


class DriftDetector:
    """Compares a baseline with a current dataset, classifies severity, generates alerts.

    Parameters
    ----------
    alpha
        Family-wise false-alarm rate of a comparison.
    bands
        Severity bands per metric family (see :data:`visiondrift.drift.DEFAULT_BANDS`).
    """

    def __init__(
        self,
        alpha: float = DEFAULTS.drift.alpha,
        bands: Mapping[str, tuple[float, float, float]] | None = None,
    ) -> None:
        self.config = DriftConfig(alpha=alpha, bands=dict(bands or {}))

    def detect(self, baseline: ProfileLike, current: ProfileLike) -> dict[str, Any]:
        """Drift report as a dict with ``overall_drift_detected``, ``severity`` and ``alerts``."""
        monitor = Monitor(_as_profile(baseline), config=self.config)
        return _legacy_dict(monitor.run(_as_profile(current)).report)


class DatasetAnalyzer:
    """High-level entry point of the original specification.

    Parameters
    ----------
    data_dir
        Folder (or list file) of images.
    model_path
        Path of an ONNX or TFLite classifier (or a :class:`~visiondrift.models.ModelSpec`) run
        on every image: the profile then holds its predictions and confidence, and
        :meth:`detect_drift` adds confidence, class-mix and output drift. When comparing with a
        baseline made with a model, ``None`` reuses the baseline's model and a path replaces its
        model file.
    **options
        Passed to :func:`visiondrift.profile` (``low_confidence``, ``workers``...).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        model_path: str | os.PathLike[str] | ModelSpec | None = None,
        **options: Any,
    ) -> None:
        if "model" in options:
            raise ConfigError("Give the model as 'model_path=...', not 'model=...'.")
        self.data_dir = Path(data_dir)
        self.model_path = model_path
        self.options = options
        self._profile: Profile | None = None

    @property
    def profile(self) -> Profile:
        if self._profile is None:
            self._profile = profile(self.data_dir, model=self.model_path, **self.options)
        return self._profile

    def analyze(self) -> dict[str, Any]:
        """Profile the dataset; returns the baseline as a dict (what ``Profile.save`` writes)."""
        return self.profile.to_dict()

    def detect_drift(
        self, baseline: ProfileLike, *, alpha: float = DEFAULTS.drift.alpha
    ) -> dict[str, Any]:
        """Compare this dataset with ``baseline`` (dict, Profile or path of a saved profile)."""
        monitor = Monitor(_as_profile(baseline), alpha=alpha, model=self.model_path)
        kept = ("workers", "max_images", "labels")
        result = monitor.run(
            self.data_dir,
            predictions=False,
            allow_empty=False,
            **{k: v for k, v in self.options.items() if k in kept},
        )
        self._profile = result.profile
        return _legacy_dict(result.report)
