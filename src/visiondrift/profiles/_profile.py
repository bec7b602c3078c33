"""The saved, mergeable view of a set of images: :class:`Profile`, plain data.

A profile holds integrity counts, exact per-channel histograms, per-property moments, category
counts, a bounded seeded reservoir of per-image values, what the model said, and its provenance
(dataset, time window, sources). It is immutable: :meth:`Profile.merge` returns a new profile of
both sets of images, :meth:`Profile.empty` is the zero of that merge, and a profile round-trips
through a versioned JSON file. Its size does not grow with the number of images (or of merged
profiles) beyond the reservoir's capacity and the listing limits.

This module imports numpy, :mod:`visiondrift.errors` and the plain modules a profile holds
(sketches, model summary, provenance, settings, decoding records); never Pillow, a decoder, a
model runtime or matplotlib. Profiles are built by :class:`visiondrift.profiles.ProfileBuilder`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from visiondrift._io import first_non_finite, write_json_atomic
from visiondrift._version import __version__
from visiondrift.decode._records import BadFile
from visiondrift.errors import (
    ConfigError,
    IncompatibleProfilesError,
    ProfileFormatError,
    UnsupportedVersionError,
)
from visiondrift.measure.properties import CHANNELS, PROPERTY_NAMES
from visiondrift.profiles._checks import check_profile, missing_key
from visiondrift.profiles.config import ProfileConfig
from visiondrift.profiles.model_summary import MODEL_COLUMNS, ModelSummary
from visiondrift.profiles.provenance import (
    Window,
    merge_dataset,
    merge_sources,
    merge_window,
)
from visiondrift.profiles.sketches import CategoryCounts, Moments, Reservoir
from visiondrift.sources import SourceInfo

__all__ = [
    "PROFILE_FORMAT",
    "PROFILE_FORMAT_VERSION",
    "SUPPORTED_PROFILE_VERSIONS",
    "ChannelStats",
    "Profile",
    "channel_stats",
]

PROFILE_FORMAT: Final = "visiondrift.profile"
#: Version 2 added the dataset, the time window and the count of merged sources.
PROFILE_FORMAT_VERSION: Final = 2
SUPPORTED_PROFILE_VERSIONS: Final = (1, 2)
PERCENTILES: Final = (1, 5, 25, 50, 75, 95, 99)


@dataclass(frozen=True)
class ChannelStats:
    """Statistics of one channel's pixel values (0-1 scale), exact from its 256-bin histogram."""

    mean: float
    std: float
    min: float
    max: float
    percentiles: Mapping[int, float]


def channel_stats(hist: NDArray[np.int64]) -> ChannelStats | None:
    """Exact statistics of a 256-bin histogram of 8-bit values, on the 0-1 scale."""
    total = int(hist.sum())
    if total == 0:
        return None
    levels = np.arange(256, dtype=np.float64)
    mean = float(hist @ levels) / total
    var = max(0.0, float(hist @ levels**2) / total - mean * mean)
    nonzero = np.flatnonzero(hist)
    cumulative = np.cumsum(hist)
    percentiles = {}
    for q in PERCENTILES:
        # The smallest value v with at least q% of the pixels at or below v.
        rank = math.ceil(q / 100.0 * total)
        percentiles[q] = float(np.searchsorted(cumulative, max(rank, 1))) / 255.0
    return ChannelStats(
        mean=mean / 255.0,
        std=math.sqrt(var) / 255.0,
        min=float(nonzero[0]) / 255.0,
        max=float(nonzero[-1]) / 255.0,
        percentiles=percentiles,
    )


@dataclass(frozen=True, eq=False)
class Profile:
    """An immutable, mergeable summary of a set of images.

    Build one with :func:`visiondrift.profile` (or a :class:`ProfileBuilder`); load one with
    :meth:`Profile.load`. ``a.merge(b)`` is the profile of both sets; :meth:`empty` is the zero
    of that merge, which is associative and commutative (up to the last bits of floating sums
    in the moments: compare merged profiles with :meth:`equivalent`). ``==`` is exact equality
    of the saved documents.
    """

    config: ProfileConfig
    n_files: int
    n_images: int
    bad_counts: Mapping[str, int]
    bad_files: tuple[BadFile, ...]
    channels: NDArray[np.int64]
    moments: Mapping[str, Moments]
    formats: CategoryCounts
    modes: CategoryCounts
    labels: CategoryCounts
    reservoir: Reservoir
    sources: tuple[SourceInfo, ...] = ()
    created_at: str = ""
    package_version: str = __version__
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: What the model said (``None`` when the profile was made without a model).
    model: ModelSummary | None = None
    #: The dataset the images belong to (``None``: not named).
    dataset: str | None = None
    #: The time span the images belong to (``None``: not known).
    window: Window | None = None
    #: How many source records were merged into this profile; ``sources`` lists at most
    #: :data:`~visiondrift.profiles.provenance.MAX_LISTED_SOURCES` distinct ones.
    source_count: int = 0

    def __post_init__(self) -> None:
        sources = self.sources
        if all(_well_typed(s) for s in sources):  # else check_profile names the bad field
            sources = merge_sources(sources)
        object.__setattr__(self, "sources", sources)
        if isinstance(self.source_count, int):
            object.__setattr__(self, "source_count", max(self.source_count, len(sources)))

    @classmethod
    def empty(cls, config: ProfileConfig | None = None) -> Profile:
        """The profile of no images: the zero of :meth:`merge` (``p.merge(empty) == p``).

        Parameters
        ----------
        config
            The settings (the default settings when ``None``); only profiles with the same
            settings merge.

        Examples
        --------
        >>> empty = Profile.empty()
        >>> empty.n_images, empty.dataset, empty.window, len(empty.reservoir)
        (0, None, None, 0)
        >>> empty.merge(empty).equivalent(empty)
        True
        """
        config = config or ProfileConfig()
        return cls(
            config=config,
            n_files=0,
            n_images=0,
            bad_counts={},
            bad_files=(),
            channels=np.zeros((len(CHANNELS), 256), dtype=np.int64),
            moments={name: Moments.empty() for name in PROPERTY_NAMES},
            formats=CategoryCounts.empty(),
            modes=CategoryCounts.empty(),
            labels=CategoryCounts.empty(),
            reservoir=Reservoir.empty(config.reservoir_size),
        )

    def with_dataset(self, dataset: str | None) -> Profile:
        """The same profile, of dataset ``dataset`` (``None``: not named)."""
        if dataset is not None and (not isinstance(dataset, str) or not dataset.strip()):
            raise ConfigError(
                f"The 'dataset' name must be a non-empty string or None. Got {dataset!r} instead."
            )
        return replace(self, dataset=dataset)

    def with_window(self, start: datetime | str, end: datetime | str) -> Profile:
        """The same profile, of the time window ``start`` .. ``end`` (timezone-aware)."""
        return replace(self, window=Window(start, end))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ views
    @property
    def n_bad(self) -> int:
        return sum(self.bad_counts.values())

    @property
    def bad_share(self) -> float:
        return self.n_bad / self.n_files if self.n_files else 0.0

    def channel(self, name: str) -> ChannelStats | None:
        """Exact pixel statistics of channel ``r``, ``g``, ``b`` or ``l`` (luminance)."""
        if name not in CHANNELS:
            raise ConfigError(f"Unknown channel {name!r}; expected one of {list(CHANNELS)}.")
        return channel_stats(self.channels[CHANNELS.index(name)])

    def values(self, name: str) -> NDArray[np.float64]:
        """Per-image values of property ``name`` in the reservoir (a uniform sample).

        A profile without images (made from a predictions file) has no image properties: their
        values are an empty array, so that comparisons skip those metrics.
        """
        try:
            return self.reservoir.values[name]
        except KeyError as err:
            if name in PROPERTY_NAMES or name in MODEL_COLUMNS:
                return np.zeros(0, dtype=np.float64)
            raise ConfigError(
                f"Unknown property {name!r}; expected one of {sorted(self.reservoir.values)}."
            ) from err

    # ------------------------------------------------------------------ merge
    def check_mergeable(self, other: Profile) -> None:
        """Raise :class:`IncompatibleProfilesError` unless ``other`` can merge with this one."""
        if self.config.image_metrics != other.config.image_metrics:
            raise IncompatibleProfilesError(
                "Cannot merge profiles measured with different per-image metrics "
                f"(name: version): {dict(self.config.image_metrics)} vs "
                f"{dict(other.config.image_metrics)}. Register the same metrics and rebuild one "
                "of them with the other's settings."
            )
        if self.config != other.config:
            raise IncompatibleProfilesError(
                "Cannot merge profiles built with different settings: "
                f"{self.config.to_dict()} vs {other.config.to_dict()}. Rebuild one of them with "
                "the other's settings."
            )
        merge_dataset(self.dataset, other.dataset)

    def merge(self, other: Profile) -> Profile:
        """A new profile of both sets of images (neither operand changes).

        Counts, histograms, moments and the reservoir add up; the dataset must match (a
        profile without one takes the other's); the window spans both; the sources are listed
        up to a bound and counted.
        """
        self.check_mergeable(other)
        bad_counts = dict(self.bad_counts)
        for reason, count in other.bad_counts.items():
            bad_counts[reason] = bad_counts.get(reason, 0) + count
        bad_files = tuple(
            sorted(self.bad_files + other.bad_files, key=lambda b: (b.name, b.reason, b.detail))
        )[: self.config.max_listed_bad_files]
        return Profile(
            config=self.config,
            n_files=self.n_files + other.n_files,
            n_images=self.n_images + other.n_images,
            bad_counts=dict(sorted(bad_counts.items())),
            bad_files=bad_files,
            channels=self.channels + other.channels,
            moments={k: v.merge(other.moments[k]) for k, v in self.moments.items()},
            formats=self.formats.merge(other.formats),
            modes=self.modes.merge(other.modes),
            labels=self.labels.merge(other.labels),
            reservoir=self.reservoir.merge(other.reservoir),
            sources=merge_sources(self.sources, other.sources),
            created_at=max(self.created_at, other.created_at),
            package_version=max(self.package_version, other.package_version),
            extra=_merge_extra(self.extra, other.extra),
            model=_merge_models(self.model, other.model),
            dataset=merge_dataset(self.dataset, other.dataset),
            window=merge_window(self.window, other.window),
            source_count=self.source_count + other.source_count,
        )

    def equivalent(self, other: Profile, *, rel_tol: float = 1e-9, abs_tol: float = 1e-9) -> bool:
        """Whether ``other`` holds the same summary, floats compared within a tolerance.

        Everything saved is compared except ``created_at`` (when it was built). Integers and
        strings must be equal; floating values within ``rel_tol`` (relative) or ``abs_tol``
        (absolute): the moments of one set of images merged in another order differ in the
        last bits of their floating sums.
        """
        a, b = self.to_dict(), other.to_dict()
        a.pop("created_at")
        b.pop("created_at")
        return _close(a, b, rel_tol, abs_tol)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Profile):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def merge_all(cls, profiles: Sequence[Profile]) -> Profile:
        """All ``profiles`` merged, in order (at least one)."""
        if not profiles:
            raise ConfigError("merge_all needs at least one profile.")
        result = profiles[0]
        for p in profiles[1:]:
            result = result.merge(p)
        return result

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """The profile as a JSON-ready document (see ``docs/schema/profile.schema.json``)."""
        return {
            "format": PROFILE_FORMAT,
            "format_version": PROFILE_FORMAT_VERSION,
            "package_version": self.package_version,
            "created_at": self.created_at,
            "dataset": self.dataset,
            "window": None if self.window is None else self.window.to_dict(),
            "sources": [s.to_dict() for s in self.sources],
            "source_count": self.source_count,
            "config": self.config.to_dict(),
            "n_files": self.n_files,
            "n_images": self.n_images,
            "integrity": {
                "bad_counts": dict(self.bad_counts),
                "bad_files": [
                    {"name": b.name, "reason": b.reason, "detail": b.detail} for b in self.bad_files
                ],
            },
            "channels": {c: self.channels[i].tolist() for i, c in enumerate(CHANNELS)},
            "moments": {k: v.to_dict() for k, v in self.moments.items()},
            "formats": self.formats.to_dict(),
            "modes": self.modes.to_dict(),
            "labels": self.labels.to_dict(),
            "reservoir": self.reservoir.to_dict(),
            "extra": dict(self.extra),
            "model": None if self.model is None else self.model.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, origin: str = "<dict>") -> Profile:
        """A profile from :meth:`to_dict`'s document, of any supported format version.

        Version 1 documents (no dataset, window or source count) read with no dataset, no
        window and one source record per listed source. ``origin`` names the document in errors.
        """
        if not isinstance(data, Mapping) or data.get("format") != PROFILE_FORMAT:
            found = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise ProfileFormatError(
                f"'{origin}' is not a visiondrift profile: expected format "
                f"{PROFILE_FORMAT!r}, found {found!r}. Build one with 'visiondrift baseline'."
            )
        version = data.get("format_version")
        if version not in SUPPORTED_PROFILE_VERSIONS:
            raise UnsupportedVersionError(
                f"'{origin}' is a visiondrift profile of format version {version!r}; this "
                f"release ({__version__}) reads versions {list(SUPPORTED_PROFILE_VERSIONS)}. "
                "Upgrade visiondrift or rebuild the profile with this release."
            )
        non_finite = first_non_finite(data)
        if non_finite is not None:
            raise ProfileFormatError(
                f"'{origin}' is a damaged or edited visiondrift profile: the field "
                f"'{non_finite}' holds a NaN or infinite number. Rebuild it with "
                "'visiondrift baseline'."
            )
        missing = missing_key(data)
        if missing is not None:
            raise ProfileFormatError(
                f"'{origin}' is a damaged visiondrift profile: the field '{missing}' is missing "
                "or not an object. Rebuild it with 'visiondrift baseline'."
            )
        try:
            integrity = data["integrity"]
            loaded = cls(
                config=ProfileConfig.from_dict(data["config"]),
                n_files=int(data["n_files"]),
                n_images=int(data["n_images"]),
                bad_counts={str(k): int(v) for k, v in integrity["bad_counts"].items()},
                bad_files=tuple(
                    BadFile(str(b["name"]), b["reason"], str(b["detail"]))
                    for b in integrity["bad_files"]
                ),
                channels=np.asarray([data["channels"][c] for c in CHANNELS], dtype=np.int64),
                moments={k: Moments.from_dict(v) for k, v in data["moments"].items()},
                formats=CategoryCounts.from_dict(data["formats"]),
                modes=CategoryCounts.from_dict(data["modes"]),
                labels=CategoryCounts.from_dict(data["labels"]),
                reservoir=Reservoir.from_dict(data["reservoir"]),
                sources=tuple(SourceInfo(**s) for s in data["sources"]),
                created_at=str(data["created_at"]),
                package_version=str(data["package_version"]),
                extra=dict(data.get("extra", {})),
                model=(
                    None if data.get("model") is None else ModelSummary.from_dict(data["model"])
                ),
                dataset=None if data.get("dataset") is None else str(data["dataset"]),
                window=None if data.get("window") is None else Window.from_dict(data["window"]),
                source_count=int(data.get("source_count", 0)),
            )
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            OverflowError,
            ConfigError,
        ) as err:
            raise ProfileFormatError(
                f"'{origin}' is a damaged visiondrift profile: {type(err).__name__}: {err}. "
                "Rebuild it with 'visiondrift baseline'."
            ) from err
        problem = check_profile(loaded)
        if problem is not None:
            raise ProfileFormatError(
                f"'{origin}' is a damaged or edited visiondrift profile: {problem}. Rebuild it "
                "with 'visiondrift baseline'."
            )
        return loaded

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the profile as JSON, atomically (temporary file, then rename)."""
        return write_json_atomic(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Profile:
        """Read a profile written by :meth:`save`; raises ProfileFormatError if damaged."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise ProfileFormatError(f"The profile file '{path}' does not exist.") from err
        except (OSError, UnicodeDecodeError) as err:
            raise ProfileFormatError(f"Cannot read the profile file '{path}': {err}") from err
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ProfileFormatError(
                f"'{path}' is not valid JSON (line {err.lineno}, column {err.colno}: {err.msg}); "
                "the file is damaged or truncated. Rebuild it with 'visiondrift baseline'."
            ) from err
        return cls.from_dict(data, origin=str(path))


def _well_typed(s: SourceInfo) -> bool:
    """Whether a source record's fields have the types that merging them needs."""
    whole = (s.n_listed, s.n_selected, s.seed, 0 if s.max_images is None else s.max_images)
    return (
        isinstance(s.kind, str)
        and isinstance(s.location, str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in whole)
    )


def _merge_models(a: ModelSummary | None, b: ModelSummary | None) -> ModelSummary | None:
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)


def _merge_extra(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Both mappings; where they disagree on a key, the value whose JSON sorts first (so the
    result does not depend on the order of merging)."""
    out = dict(a)
    for key, value in b.items():
        if key in out and out[key] != value:
            out[key] = min(out[key], value, key=lambda v: json.dumps(v, sort_keys=True))
        else:
            out[key] = value
    return dict(sorted(out.items()))


def _close(a: Any, b: Any, rel_tol: float, abs_tol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, str) or a is None:
        return bool(a == b)
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)
    if isinstance(a, int):
        return isinstance(b, int) and a == b
    if isinstance(a, Mapping):
        return (
            isinstance(b, Mapping)
            and a.keys() == b.keys()
            and all(_close(a[k], b[k], rel_tol, abs_tol) for k in a)
        )
    if isinstance(a, list | tuple):
        return (
            isinstance(b, list | tuple)
            and len(a) == len(b)
            and all(_close(x, y, rel_tol, abs_tol) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)
