"""The defaults of the settings tree as plain values: GENERATED, do not edit.

Written by ``python scripts/settings_defaults.py`` from :mod:`visiondrift.settings`, where every
default is written (a test fails when this file differs from it). The configuration objects and
keyword defaults of the profiling path read their defaults here, so that profiling imports no
pydantic; :data:`visiondrift.settings.DEFAULTS` is the same tree as a validated pydantic model.

May import: the standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

__all__ = ["DEFAULTS"]


@dataclass(frozen=True, slots=True)
class _DefaultsProfileMeasure:
    """Defaults of MeasureSettings."""

    work_size: int = 128
    colour_size: int = 32
    noise_size: int = 64
    clip_dark: int = 5
    clip_bright: int = 250


@dataclass(frozen=True, slots=True)
class _DefaultsProfileDecode:
    """Defaults of DecodeSettings."""

    max_pixels: int = 89478485
    min_side: int = 8


@dataclass(frozen=True, slots=True)
class _DefaultsProfile:
    """Defaults of ProfileSettings."""

    reservoir_size: int = 10000
    seed: int = 0
    max_listed_bad_files: int = 1000
    labels: Literal["auto", "imagefolder", "none"] = "auto"
    names: Literal["keep", "hash", "drop"] = "keep"
    workers: int | None = None
    max_images: int | None = None
    measure: _DefaultsProfileMeasure = field(default_factory=_DefaultsProfileMeasure)
    decode: _DefaultsProfileDecode = field(default_factory=_DefaultsProfileDecode)


@dataclass(frozen=True, slots=True)
class _DefaultsModel:
    """Defaults of ModelSettings."""

    path: Path | None = None
    config: Path | None = None
    size: str | None = None
    output: str | None = None
    labels_file: Path | None = None
    embedding: str | None = None
    scaling: Literal["auto", "raw", "0-1", "-1-1", "imagenet"] | None = None
    low_confidence: float = 0.5
    embedding_components: int = 64


@dataclass(frozen=True, slots=True)
class _DefaultsDrift:
    """Defaults of DriftSettings."""

    alpha: float = 0.05
    correction: Literal["holm", "bh", "bonferroni"] = "holm"
    fail_on: Literal["low", "medium", "high", "never"] = "low"
    power: float = 0.8
    permutations: int = 2000
    n_atypical: int = 12
    seed: int = 0
    bands: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    class_cost: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True, slots=True)
class _DefaultsStore:
    """Defaults of StoreSettings."""

    url: str | None = None
    enabled: bool = True
    pg_schema: str | None = None
    timeout: float = 30.0
    keep_profiles: bool = True
    trend_runs: int = 30


@dataclass(frozen=True, slots=True)
class _DefaultsAlertsRetry:
    """Defaults of RetrySettings."""

    attempts: int = 3
    backoff: float = 1.0
    max_backoff: float = 600.0
    jitter: float = 0.5
    max_attempts: int = 12
    max_age: float = 86400.0


@dataclass(frozen=True, slots=True)
class _DefaultsAlerts:
    """Defaults of AlertsSettings."""

    enabled: bool = True
    cooldown: float = 21600.0
    base_url: str | None = None
    include_paths: bool = False
    retry: _DefaultsAlertsRetry = field(default_factory=_DefaultsAlertsRetry)
    channels: dict[str, Any] = field(default_factory=dict)
    routes: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class _DefaultsWatch:
    """Defaults of WatchSettings."""

    inbox: str | None = None
    settle: float = 60.0
    marker: str | None = None
    poll: float = 10.0
    cron: str | None = None
    source: str | None = None
    timezone: str = "UTC"
    lease: float = 600.0
    max_attempts: int = 3


@dataclass(frozen=True, slots=True)
class _DefaultsServiceWindow:
    """Defaults of WindowSettings."""

    count: int | None = 1000
    seconds: float | None = 3600.0


@dataclass(frozen=True, slots=True)
class _DefaultsService:
    """Defaults of ServiceSettings."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    pool_workers: int = 2
    close_processes: int = 1
    queue_size: int = 16
    record_queue: int = 2000
    retry_after: int = 1
    max_request_bytes: int = 33554432
    max_images: int = 1000
    max_records: int = 10000
    roots: tuple[Path, ...] = ()
    url_prefixes: tuple[str, ...] = ()
    data_dir: Path | None = None
    window: _DefaultsServiceWindow = field(default_factory=_DefaultsServiceWindow)
    datasets: dict[str, Any] = field(default_factory=dict)
    keep_records: float = 604800.0
    auth: bool = True
    metrics_auth: bool = False
    cors_origins: tuple[str, ...] = ()
    heartbeat: float = 15.0


@dataclass(frozen=True, slots=True)
class _Defaults:
    """Defaults of Settings."""

    profile: _DefaultsProfile = field(default_factory=_DefaultsProfile)
    model: _DefaultsModel = field(default_factory=_DefaultsModel)
    drift: _DefaultsDrift = field(default_factory=_DefaultsDrift)
    store: _DefaultsStore = field(default_factory=_DefaultsStore)
    alerts: _DefaultsAlerts = field(default_factory=_DefaultsAlerts)
    watch: _DefaultsWatch = field(default_factory=_DefaultsWatch)
    service: _DefaultsService = field(default_factory=_DefaultsService)


#: The settings tree's defaults (``DEFAULTS.profile.reservoir_size``...).
DEFAULTS: Final = _Defaults()
