"""Settings of a comparison: significance level, correction, and severity bands per family.

Detection and severity are two questions with two kinds of metric (:data:`ROLES`):

- ``effect`` metrics measure something a person or the model feels, in its own unit: how much
  darker, blurrier or noisier the images are, how much the model's confidence, outputs or class
  mix moved, how many files were lost. Their bands set the severity.
- ``detection`` metrics answer "is there any change at all": the domain classifier, the MMD on
  embeddings, and pipeline facts such as the file format, colour mode and file size mix. They
  stay in the family-wise correction and can make the verdict "drift", but they are sensitive to
  changes nobody would notice (a JPEG round trip at quality 95, a 1% resize), so their severity
  is capped at the strongest effect metric that drifted (``low`` when none did).

With a model on both sides, the consequence that matters is what the model feels: the image
properties (:data:`IMAGE_FAMILIES`) then describe *why*, and their severity is capped at the
strongest drift of the model's own metrics (:data:`MODEL_FAMILIES`: outputs, confidence, class
mix, accuracy), ``low`` when the model's outputs did not move. Lost files (``integrity``) and the
label mix keep their own severity.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from visiondrift._defaults import DEFAULTS
from visiondrift.detectors.multitest import Correction
from visiondrift.drift._model import Role, Severity
from visiondrift.errors import ConfigError

__all__ = [
    "ABSOLUTE_SCALE_FLOORS",
    "DEFAULT_BANDS",
    "DETECTION_CAP",
    "IMAGE_FAMILIES",
    "MODEL_FAMILIES",
    "RELATIVE_SCALE_FLOORS",
    "ROLES",
    "TEXTURE_PROPERTIES",
    "DriftConfig",
    "Role",
    "band_of",
]

#: The two roles of a metric: ``detection`` decides whether something changed, ``effect``
#: (also) says how much it matters.
ROLES: Final[tuple[Role, ...]] = ("detection", "effect")
#: Severity of a drift that only detection metrics see: something changed, but nothing a person
#: or the model would notice moved enough to matter.
DETECTION_CAP: Final[Severity] = "low"
#: The families of what the model feels, and of the image properties whose severity follows it
#: when a model is in the comparison.
MODEL_FAMILIES: Final = frozenset({"outputs", "confidence", "class_mix", "accuracy"})
IMAGE_FAMILIES: Final = frozenset({"pixel_mean", "pixel_std", "property", "texture", "size"})
#: Properties measured at the finest scale (Laplacian variance, Immerkær noise): their bands are
#: those of the ``texture`` family, not ``property``.
TEXTURE_PROPERTIES: Final = frozenset({"sharpness", "noise"})
#: The Wasserstein effect of a property is in baseline standard deviations, but never divides by
#: less than this share of the baseline median, per family (``default`` for the others): a
#: baseline whose images all have one size would otherwise make a 1% resize several "standard
#: deviations". Sizes read in relative terms: 10% of the median.
RELATIVE_SCALE_FLOORS: Final[dict[str, float]] = {"default": 0.05, "size": 0.10}
#: ... nor by less than this, in the property's own unit: the noise estimate of very clean
#: images (sd a few tenths of a grey level) rises several baseline SDs after a JPEG round trip
#: at quality 95, a change of well under one grey level that nobody sees.
ABSOLUTE_SCALE_FLOORS: Final[dict[str, float]] = {"noise": 1.0}

#: Severity bands (low, medium, high) on the absolute effect size of each metric family.
#: The original specification's rules are the ``medium`` thresholds: pixel mean shift > 0.05 and
#: pixel std shift > 0.1 (0-1 scale), confidence shift > 0.1, class Wasserstein > 0.15.
#: The model families (``confidence``, ``class_mix``, ``outputs``, ``accuracy``) apply only when
#: both profiles were made with a model (``accuracy`` also needs labels on both sides);
#: ``embedding`` needs the model's embedding on both sides.
DEFAULT_BANDS: Final[dict[str, tuple[float, float, float]]] = {
    # shift of the pooled pixel mean of a channel, 0-1 scale
    "pixel_mean": (0.025, 0.05, 0.10),
    # shift of the pooled pixel standard deviation of a channel, 0-1 scale
    "pixel_std": (0.05, 0.10, 0.20),
    # Wasserstein-1 distance between per-image values, in baseline standard deviations
    "property": (0.2, 0.5, 0.8),
    # sharpness and noise, same unit: they react to any resampling or re-encoding, so an
    # invisible 1% resize or JPEG round trip at quality 95 moves them by 0.35-0.5 baseline
    # standard deviations (photo crops, 128 px); a just visible blur (Gaussian radius 0.5 px)
    # moves sharpness by about 0.75, sensor noise of sd 2 grey levels moves noise by about 1.0,
    # and the demo's camera change (blur 1.2 px, noise 6, x0.75) moves sharpness by 1.1-1.2.
    "texture": (0.2, 0.6, 1.0),
    "size": (0.2, 0.5, 0.8),
    # difference in the share of unusable files (0-1)
    "integrity": (0.01, 0.05, 0.10),
    # total variation distance between category mixes (formats, colour modes, labels)
    "categorical": (0.05, 0.15, 0.30),
    # with a model: shift of the mean top-1 probability (original rule > 0.1 = medium)
    "confidence": (0.05, 0.10, 0.20),
    # with a model: Wasserstein distance between predicted-class distributions; with the
    # default 0/1 ground distance it is the total variation (original rule > 0.15 = medium)
    "class_mix": (0.075, 0.15, 0.30),
    # with a model: largest per-class KS distance D between output probabilities (BBSD)
    "outputs": (0.10, 0.20, 0.35),
    # with a model and labels on both sides: change of accuracy (share of labelled images)
    "accuracy": (0.02, 0.05, 0.10),
    # with a model embedding on both sides: MMD between the projected embeddings, Gaussian
    # kernel with the median-heuristic bandwidth (kernel units, 0 = same, at most sqrt(2))
    "embedding": (0.05, 0.10, 0.20),
    # domain classifier on the standardised image properties: cross-validated AUC minus 0.5
    # (0 = the batch cannot be told from the baseline, 0.5 = every image can)
    "domain": (0.05, 0.10, 0.20),
    # the same domain score, in its tail: excess share of the batch beyond the baseline's 95th
    # percentile of it, an estimate of the share of the batch that is new (0.10 = one image in
    # ten, as when one camera in ten is broken)
    "contamination": (0.02, 0.05, 0.20),
}


def band_of(effect: float, bands: tuple[float, float, float]) -> Severity:
    """The severity band an absolute effect size falls in."""
    size = abs(effect)
    if math.isnan(size) or size < bands[0]:
        return "none"
    if size < bands[1]:
        return "low"
    if size < bands[2]:
        return "medium"
    return "high"


@dataclass(frozen=True)
class DriftConfig:
    """How a comparison decides.

    Parameters
    ----------
    alpha
        Family-wise error rate: on data without drift, the whole comparison raises an alarm with
        probability at most ``alpha``.
    correction
        ``"holm"`` (family-wise, default), ``"bh"`` (false discovery rate), ``"bonferroni"``.
    bands
        Severity bands per metric family, overriding :data:`DEFAULT_BANDS` family by family.
    power
        Power used to estimate the sample size that would settle an inconclusive large effect.
    permutations
        Resamples of the Monte-Carlo null of the categorical tests.
    n_atypical
        How many of the current images most responsible for the drift the report lists.
    seed
        Seed of every resampling, so that a comparison is reproducible.
    class_cost
        Optional square matrix of the cost of mistaking one class for another, in the order of
        the model's class names (zero diagonal): the class-mix effect becomes a Wasserstein
        distance in cost units instead of the total variation (0/1 ground distance).
    """

    alpha: float = DEFAULTS.drift.alpha
    correction: Correction = DEFAULTS.drift.correction
    bands: Mapping[str, tuple[float, float, float]] = field(default_factory=dict)
    power: float = DEFAULTS.drift.power
    permutations: int = DEFAULTS.drift.permutations
    n_atypical: int = DEFAULTS.drift.n_atypical
    seed: int = DEFAULTS.drift.seed
    class_cost: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self) -> None:
        if self.class_cost is not None:
            object.__setattr__(
                self, "class_cost", tuple(tuple(float(v) for v in row) for row in self.class_cost)
            )
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"The 'alpha' option must be in (0, 1). Got {self.alpha!r} instead.")
        if self.correction not in ("holm", "bh", "bonferroni"):
            raise ConfigError(
                "The 'correction' option must be one of 'holm', 'bh', 'bonferroni'. "
                f"Got {self.correction!r} instead."
            )
        if not 0.0 < self.power < 1.0:
            raise ConfigError(f"The 'power' option must be in (0, 1). Got {self.power!r}.")
        if self.permutations < 99:
            raise ConfigError(
                f"The 'permutations' option must be at least 99. Got {self.permutations!r}."
            )
        for family, bands in self.bands.items():
            if family not in DEFAULT_BANDS:
                raise ConfigError(
                    f"Unknown metric family {family!r} in 'bands'; expected one of "
                    f"{sorted(DEFAULT_BANDS)}."
                )
            if len(bands) != 3 or not 0 <= bands[0] <= bands[1] <= bands[2]:
                raise ConfigError(
                    f"The bands of {family!r} must be three increasing non-negative numbers "
                    f"(low, medium, high). Got {bands!r}."
                )

    def bands_for(self, family: str) -> tuple[float, float, float]:
        bands = self.bands.get(family, DEFAULT_BANDS[family])
        return (float(bands[0]), float(bands[1]), float(bands[2]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "correction": self.correction,
            "bands": {f: list(self.bands_for(f)) for f in DEFAULT_BANDS},
            "power": self.power,
            "permutations": self.permutations,
            "n_atypical": self.n_atypical,
            "seed": self.seed,
            "class_cost": None if self.class_cost is None else [list(r) for r in self.class_cost],
        }
