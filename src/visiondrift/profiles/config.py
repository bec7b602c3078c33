"""The settings that shape a profile (:class:`ProfileConfig`): plain data, saved in every profile.

Profiles merge only when their settings match. This module imports plain modules only (the
measurement settings, the decoding limits, the name policy, the errors and, when a saved
model is read, the model spec), never Pillow, a decoder or a model runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from visiondrift._defaults import DEFAULTS
from visiondrift.decode._records import DecodeLimits
from visiondrift.errors import ConfigError
from visiondrift.measure.custom import image_metric_versions
from visiondrift.measure.properties import MeasureConfig
from visiondrift.names import NamePolicy, check_policy

if TYPE_CHECKING:
    from visiondrift.models.spec import ModelSpec

__all__ = ["ProfileConfig"]


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
    image_metrics
        Per-image metrics measured beside the built-in properties, name -> version; by default
        every metric registered with :func:`visiondrift.measure.custom.register_image_metric`.
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
    image_metrics: Mapping[str, int] = field(default_factory=image_metric_versions)

    def __post_init__(self) -> None:
        check_policy(self.names)
        object.__setattr__(self, "image_metrics", dict(sorted(dict(self.image_metrics).items())))
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
        """The settings as the JSON object saved in a profile."""
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
            "image_metrics": dict(self.image_metrics),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProfileConfig:
        """Settings from :meth:`to_dict`'s object (older profiles' missing keys take defaults)."""
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
            image_metrics={str(k): int(v) for k, v in data.get("image_metrics", {}).items()},
        )
