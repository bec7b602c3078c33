"""Profiles: everything visiondrift keeps about a set of images, and nothing of the images.

:class:`ProfileBuilder` sees images one by one (mutable); :class:`Profile` is the immutable result,
which merges (``a.merge(b)`` summarises both sets) and round-trips through a versioned JSON file.
A profile holds integrity counts, exact per-channel histograms, per-property moments, category
counts and a bounded seeded reservoir of per-image values; its size does not grow with the number
of images beyond the reservoir's capacity.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import NDArray

from visiondrift._defaults import DEFAULTS
from visiondrift._io import first_non_finite, write_json_atomic
from visiondrift._profile_checks import check_profile, missing_key
from visiondrift._version import __version__
from visiondrift.decode import BadFile, DecodedImage, DecodeLimits
from visiondrift.errors import (
    ConfigError,
    IncompatibleProfilesError,
    ProfileFormatError,
    UnsupportedVersionError,
)
from visiondrift.measure import ImageMeasurer
from visiondrift.model_summary import (
    MODEL_COLUMNS,
    ModelSummary,
    model_column_values,
)
from visiondrift.names import NamePolicy, check_policy
from visiondrift.properties import CHANNELS, PROPERTY_NAMES, MeasureConfig
from visiondrift.sketches import CategoryCounts, Moments, Reservoir
from visiondrift.sources import ImageItem, SourceInfo, item_key

if TYPE_CHECKING:
    from visiondrift.models.spec import ModelSpec

__all__ = [
    "PROFILE_FORMAT",
    "PROFILE_FORMAT_VERSION",
    "SUPPORTED_PROFILE_VERSIONS",
    "ChannelStats",
    "Prediction",
    "Profile",
    "ProfileBuilder",
    "ProfileConfig",
]

PROFILE_FORMAT: Final = "visiondrift.profile"
PROFILE_FORMAT_VERSION: Final = 1
SUPPORTED_PROFILE_VERSIONS: Final = (1,)
PERCENTILES: Final = (1, 5, 25, 50, 75, 95, 99)
#: Per-image model output handed to :meth:`ProfileBuilder.add_image`: the probability vector
#: and the projected embedding (or ``None``).
Prediction = tuple[NDArray[np.float32], NDArray[np.float32] | None]


@dataclass(frozen=True)
class ProfileConfig:
    """Settings that shape a profile. Profiles merge only when their settings match.

    Parameters
    ----------
    measure
        Settings of the per-image measurements.
    limits
        Decoding limits (pixel budget, minimum side).
    reservoir_size
        Most per-image records kept for the statistical tests.
    seed
        Seed of the reservoir's hash (and of ``max_images`` sampling).
    max_listed_bad_files
        Most unusable files listed by name (all are counted).
    model
        The classifier run on every image, or ``None`` (no model: nothing of it is computed).
        A labels file is read once and kept as the class names, and the path is made absolute,
        so that a saved profile describes the model completely.
    low_confidence
        Predictions whose top-1 probability is below this count as low-confidence.
    embedding_components
        Most dimensions kept of the model's embedding (seeded random projection, seed ``seed``).
    names
        What is recorded of file names: ``"keep"``, ``"hash"`` (a keyed hash) or ``"drop"``
        (positions only); see :mod:`visiondrift.names`. Never the key itself.
    """

    measure: MeasureConfig = field(default_factory=MeasureConfig)
    limits: DecodeLimits = field(default_factory=DecodeLimits)
    reservoir_size: int = DEFAULTS.profile.reservoir_size
    seed: int = DEFAULTS.profile.seed
    max_listed_bad_files: int = DEFAULTS.profile.max_listed_bad_files
    model: ModelSpec | None = None
    low_confidence: float = DEFAULTS.model.low_confidence
    embedding_components: int = DEFAULTS.model.embedding_components
    names: NamePolicy = DEFAULTS.profile.names

    def __post_init__(self) -> None:
        check_policy(self.names)
        if self.model is not None:
            spec = self.model
            if spec.labels_file is not None:
                spec = replace(spec, labels_file=None)
            if not spec.path.is_absolute():
                spec = replace(spec, path=spec.path.absolute())
            object.__setattr__(self, "model", spec)
        low: object = self.low_confidence
        if isinstance(low, bool) or not isinstance(low, int | float) or not 0.0 <= low <= 1.0:
            raise ConfigError(
                f"The 'low_confidence' option must be a number in [0, 1]. Got {low!r} instead."
            )
        comps: object = self.embedding_components
        if isinstance(comps, bool) or not isinstance(comps, int) or comps < 1:
            raise ConfigError(
                "The 'embedding_components' option must be a positive integer. "
                f"Got {comps!r} instead."
            )
        seed: object = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**63:
            raise ConfigError(
                f"The 'seed' option must be an integer in [-2**63, 2**63). Got {seed!r} instead."
            )
        if not isinstance(self.reservoir_size, int) or self.reservoir_size < 10:
            raise ConfigError(
                "The 'reservoir_size' option must be an integer of at least 10. "
                f"Got {self.reservoir_size!r} instead."
            )
        if not isinstance(self.max_listed_bad_files, int) or self.max_listed_bad_files < 0:
            raise ConfigError(
                "The 'max_listed_bad_files' option must be a non-negative integer. "
                f"Got {self.max_listed_bad_files!r} instead."
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure.to_dict(),
            "limits": self.limits.to_dict(),
            "reservoir_size": self.reservoir_size,
            "seed": self.seed,
            "max_listed_bad_files": self.max_listed_bad_files,
            "model": None if self.model is None else self.model.to_dict(),
            "low_confidence": self.low_confidence,
            "embedding_components": self.embedding_components,
            "names": self.names,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileConfig:
        model = None
        if data.get("model") is not None:
            from visiondrift.models.spec import ModelSpec

            model = ModelSpec.from_dict(data["model"])
        return cls(
            # Profiles saved before the measurement version was recorded are version 1.
            measure=MeasureConfig(**{"version": 1, **data["measure"]}),
            limits=DecodeLimits(**data["limits"]),
            reservoir_size=int(data["reservoir_size"]),
            seed=int(data["seed"]),
            max_listed_bad_files=int(data["max_listed_bad_files"]),
            model=model,
            low_confidence=float(data.get("low_confidence", 0.5)),
            embedding_components=int(data.get("embedding_components", 64)),
            names=check_policy(data.get("names", "keep")),
        )


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

    Build one with :func:`visiondrift.profile`; load one with :meth:`Profile.load`.
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
        if self.config != other.config:
            raise IncompatibleProfilesError(
                "Cannot merge profiles built with different settings: "
                f"{self.config.to_dict()} vs {other.config.to_dict()}. Rebuild one of them with "
                "the other's settings."
            )

    def merge(self, other: Profile) -> Profile:
        """A new profile of both sets of images (neither operand changes)."""
        self.check_mergeable(other)
        bad_counts = dict(self.bad_counts)
        for reason, count in other.bad_counts.items():
            bad_counts[reason] = bad_counts.get(reason, 0) + count
        bad_files = tuple(
            sorted(self.bad_files + other.bad_files, key=lambda b: (b.name, b.reason))
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
            sources=self.sources + other.sources,
            created_at=max(self.created_at, other.created_at),
            package_version=self.package_version,
            extra={**self.extra, **other.extra},
            model=_merge_models(self.model, other.model),
        )

    @classmethod
    def merge_all(cls, profiles: Sequence[Profile]) -> Profile:
        if not profiles:
            raise ConfigError("merge_all needs at least one profile.")
        result = profiles[0]
        for p in profiles[1:]:
            result = result.merge(p)
        return result

    # ------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PROFILE_FORMAT,
            "format_version": PROFILE_FORMAT_VERSION,
            "package_version": self.package_version,
            "created_at": self.created_at,
            "sources": [s.to_dict() for s in self.sources],
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
            )
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
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


def _merge_models(a: ModelSummary | None, b: ModelSummary | None) -> ModelSummary | None:
    if a is None or b is None:
        return a if b is None else b
    return a.merge(b)


class ProfileBuilder:
    """Sees images one at a time and builds a :class:`Profile`.

    Images are measured in batches of ``measure_batch`` (only small working copies are kept
    between batches); memory stays bounded: per-image rows are folded into the moments and the
    reservoir every ``reservoir_size`` images.
    """

    #: Images measured together (numpy then runs each operation once per batch).
    measure_batch: int = 64

    def __init__(self, config: ProfileConfig | None = None) -> None:
        self.config = config or ProfileConfig()
        self._channels = np.zeros((len(CHANNELS), 256), dtype=np.int64)
        self._bad_counts: dict[str, int] = {}
        self._bad_files: list[BadFile] = []
        self._formats: dict[str, int] = {}
        self._modes: dict[str, int] = {}
        self._labels: dict[str, int] = {}
        self._n_files = 0
        self._n_images = 0
        self._moments = {name: Moments.empty() for name in PROPERTY_NAMES}
        columns = PROPERTY_NAMES + (MODEL_COLUMNS if self.config.model is not None else ())
        self._reservoir = Reservoir.empty(self.config.reservoir_size, columns)
        self._keys: list[int] = []
        self._names: list[str] = []
        self._row_labels: list[str | None] = []
        self._rows: list[NDArray[np.float64]] = []
        self._model: ModelSummary | None = None
        self._probs: list[NDArray[np.float32]] = []
        self._embeddings: list[NDArray[np.float32]] = []
        self._measurer = ImageMeasurer(self.config.measure)
        self._pending: list[ImageItem] = []

    def set_model(
        self,
        class_names: Sequence[str],
        description: Mapping[str, Any],
        projection: Mapping[str, Any] | None = None,
    ) -> None:
        """Say which model the predictions come from (call once, before ``add_image``)."""
        if self.config.model is None:
            raise ConfigError("This profile is built without a model (config.model is None).")
        if self._model is None:
            self._model = ModelSummary.empty(class_names, description, projection)
        elif projection is not None and self._model.projection is None:
            self._model = replace(self._model, projection=dict(projection))

    def add_bad(self, bad: BadFile) -> None:
        self._n_files += 1
        self._bad_counts[bad.reason] = self._bad_counts.get(bad.reason, 0) + 1
        self._bad_files.append(bad)
        if len(self._bad_files) > 2 * self.config.max_listed_bad_files:
            self._bad_files.sort(key=lambda b: (b.name, b.reason))
            del self._bad_files[self.config.max_listed_bad_files :]

    def add_image(
        self, item: ImageItem, decoded: DecodedImage, prediction: Prediction | None = None
    ) -> None:
        """Measure one decoded image; with a model, ``prediction`` is what the model said."""
        if (prediction is None) != (self.config.model is None):
            raise ConfigError(
                "add_image needs a prediction exactly when the profile is built with a model."
            )
        self._measurer.add(decoded)
        self._pending.append(item)
        if prediction is not None:
            self._probs.append(np.asarray(prediction[0], dtype=np.float32))
            if prediction[1] is not None:
                self._embeddings.append(np.asarray(prediction[1], dtype=np.float32))
        self._n_files += 1
        self._n_images += 1
        self._formats[decoded.format] = self._formats.get(decoded.format, 0) + 1
        self._modes[decoded.mode] = self._modes.get(decoded.mode, 0) + 1
        if item.label is not None:
            self._labels[item.label] = self._labels.get(item.label, 0) + 1
        if len(self._pending) >= self.measure_batch:
            self._measure_pending()

    def _measure_pending(self) -> None:
        if not self._pending:
            return
        hists, values = self._measurer.finish()
        self._channels += hists.sum(axis=0)
        seed = self.config.seed
        for item, row in zip(self._pending, values, strict=True):
            self._keys.append(item_key(seed, self._sampling_identity(item, row)))
            self._names.append(item.name)
            self._row_labels.append(item.label)
        self._rows.extend(values)
        self._pending = []
        if len(self._rows) >= self.config.reservoir_size:
            self._flush()

    def _sampling_identity(self, item: ImageItem, row: NDArray[np.float64]) -> str:
        """What an image's sampling key hashes: its path, unless names may not be recorded.

        The keys are stored and the seed is public, so a key of the path would let anyone test
        a guessed path. With ``names="hash"`` the key hashes the keyed hash of the name; with
        ``"drop"`` it hashes the image's own measurements, which the profile stores anyway.
        """
        if self.config.names == "keep":
            return item.path
        if self.config.names == "hash":
            return item.name
        return np.asarray(row, dtype=np.float64).tobytes().hex()

    def _flush(self) -> None:
        self._measure_pending()
        if not self._rows:
            return
        table = np.vstack(self._rows)
        columns = {name: table[:, i].copy() for i, name in enumerate(PROPERTY_NAMES)}
        for name, col in columns.items():
            self._moments[name] = self._moments[name].merge(Moments.of(col))
        vectors: dict[str, NDArray[np.float32]] = {}
        if self.config.model is not None:
            vectors = self._flush_model(columns)
        batch = Reservoir(
            self.config.reservoir_size,
            np.asarray(self._keys, dtype=np.uint64),
            tuple(self._names),
            tuple(self._row_labels),
            columns,
            vectors,
        )
        self._reservoir = self._reservoir.merge(batch)
        self._keys, self._names, self._row_labels, self._rows = [], [], [], []

    def _flush_model(
        self, columns: dict[str, NDArray[np.float64]]
    ) -> dict[str, NDArray[np.float32]]:
        if self._model is None:
            raise ConfigError("ProfileBuilder.set_model must be called before adding predictions.")
        probs = np.vstack(self._probs).astype(np.float32)
        columns.update(model_column_values(probs))
        self._model = self._model.add(probs, self.config.low_confidence)
        vectors = {"probs": probs}
        if self._embeddings:
            if len(self._embeddings) != len(self._probs):
                raise ConfigError("Every image needs an embedding once one image has one.")
            vectors["embedding"] = np.vstack(self._embeddings).astype(np.float32)
        self._probs, self._embeddings = [], []
        return vectors

    def build(self, source: SourceInfo | None = None) -> Profile:
        self._flush()
        return Profile(
            config=self.config,
            n_files=self._n_files,
            n_images=self._n_images,
            bad_counts=dict(sorted(self._bad_counts.items())),
            bad_files=tuple(sorted(self._bad_files, key=lambda b: (b.name, b.reason)))[
                : self.config.max_listed_bad_files
            ],
            channels=self._channels.copy(),
            moments=dict(self._moments),
            formats=CategoryCounts(dict(sorted(self._formats.items()))),
            modes=CategoryCounts(dict(sorted(self._modes.items()))),
            labels=CategoryCounts(dict(sorted(self._labels.items()))),
            reservoir=self._reservoir,
            sources=(source,) if source is not None else (),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            model=self._model,
        )


def with_sources(profile: Profile, sources: tuple[SourceInfo, ...]) -> Profile:
    """The same profile with its provenance replaced."""
    return replace(profile, sources=sources)
