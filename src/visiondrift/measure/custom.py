"""Per-image metrics registered by the user, measured beside the built-in image properties.

A per-image metric is a function of one decoded image (an ``(height, width, 3)`` ``uint8`` RGB
array) to one number, for example the share of pure-white pixels. Registered with
:func:`register_image_metric`, it is:

- measured on every image while profiling (the measurer calls it on the decoded array it
  already holds), and kept per image in the profile's reservoir like the built-in properties;
- recorded in the profile's settings by name and version (``ProfileConfig.image_metrics``), so
  that profiles measured with different metric sets refuse to merge or compare;
- tested when comparing (Kolmogorov-Smirnov on the per-image values, inside the family-wise
  correction), given a severity with the bands of its family and explained in the reports (see
  :mod:`visiondrift.drift.catalogue`).

Profiling in worker processes needs the metric registered in them too: a pool that forks
(Linux's default) inherits the registry; with another start method, register the metric at the
import of a module the workers import.

Plain Python and numpy: it may import numpy, :mod:`visiondrift.measure.properties` and
:mod:`visiondrift.errors`; nothing that decodes images or compares profiles.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift.errors import ConfigError, MeasureError
from visiondrift.measure.properties import PROPERTY_NAMES, PropertySpec

__all__ = [
    "ImageFunction",
    "ImageMetric",
    "ImageMetricFamily",
    "image_metric_spec",
    "image_metric_versions",
    "register_image_metric",
    "registered_image_metrics",
    "resolve_image_metrics",
    "unregister_image_metric",
]

#: ``function(rgb) -> value``: one number per decoded image (``(h, w, 3)`` uint8 RGB array).
ImageFunction = Callable[[NDArray[np.uint8]], float]
#: The families a per-image metric may belong to: its effect is a Wasserstein distance in
#: baseline standard deviations, with the bands of ``property`` (default), ``texture`` (fine
#: detail, which any resampling moves) or ``size``.
ImageMetricFamily = Literal["property", "texture", "size"]

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
#: Names the reservoir already uses (the model's per-image columns).
_RESERVED_PREFIX: Final = "model_"


@dataclass(frozen=True)
class ImageMetric:
    """A per-image metric: its name, the function, and how reports name and explain it.

    Parameters
    ----------
    name
        Identifier (lower-case letters, digits, underscores), distinct from the built-in
        properties; the metric's name in profiles and reports.
    function
        ``function(rgb) -> float`` on the decoded ``(height, width, 3)`` uint8 RGB array.
    label
        What reports call it (default: the name with spaces).
    unit
        Unit of its values (``"share of pixels"`` shows them as percentages).
    version
        Bump it when the function changes meaning: profiles measured by different versions
        refuse to merge or compare.
    family
        ``"property"``, ``"texture"`` or ``"size"``: the severity bands it uses.
    more, less
        How a sentence says that the value rose or fell ("whiter", "less white").
    description
        One sentence of what it measures.
    """

    name: str
    function: ImageFunction
    label: str = ""
    unit: str = ""
    version: int = 1
    family: ImageMetricFamily = "property"
    more: str = "higher"
    less: str = "lower"
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigError(
                "The name of a per-image metric must be lower-case letters, digits and "
                f"underscores, starting with a letter. Got {self.name!r} instead."
            )
        if self.name in PROPERTY_NAMES or self.name.startswith(_RESERVED_PREFIX):
            raise ConfigError(
                f"The per-image metric name {self.name!r} is taken by a built-in property or "
                f"model column; choose another name."
            )
        if not callable(self.function):
            raise ConfigError(
                f"The function of the per-image metric {self.name!r} must be callable. "
                f"Got {type(self.function).__name__} instead."
            )
        version: object = self.version
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ConfigError(
                f"The version of the per-image metric {self.name!r} must be a positive "
                f"integer. Got {version!r} instead."
            )
        if self.family not in ("property", "texture", "size"):
            raise ConfigError(
                f"The family of the per-image metric {self.name!r} must be one of 'property', "
                f"'texture', 'size'. Got {self.family!r} instead."
            )
        if not self.label:
            object.__setattr__(self, "label", self.name.replace("_", " "))

    def measure(self, rgb: NDArray[np.uint8]) -> float:
        """The metric of one image.

        Raises
        ------
        MeasureError
            The function raised, or did not return a finite number (profiles hold finite
            numbers only); the profiler counts the image as unusable (``measure_error``).
        """
        try:
            result = self.function(rgb)
        except Exception as err:  # the user's code: any failure is this image's
            raise MeasureError(
                f"The per-image metric {self.name!r} failed on this image: "
                f"{type(err).__name__}: {err}"
            ) from err
        try:
            value = float(result)
        except (TypeError, ValueError) as err:
            raise MeasureError(
                f"The per-image metric {self.name!r} must return a number; it returned a "
                f"{type(result).__name__}."
            ) from err
        if not math.isfinite(value):
            raise MeasureError(
                f"The per-image metric {self.name!r} returned {value!r}; it must return a "
                "finite number for every image."
            )
        return value


_REGISTRY: dict[str, ImageMetric] = {}


def register_image_metric(metric: ImageMetric, *, replace: bool = False) -> ImageMetric:
    """Register a per-image metric: profiles made from now on measure it.

    Parameters
    ----------
    metric
        The metric.
    replace
        Replace a metric registered under the same name instead of refusing.

    Returns
    -------
    The metric.

    Examples
    --------
    >>> import numpy as np
    >>> white = ImageMetric("white_share_doc", lambda rgb: float((rgb == 255).all(-1).mean()))
    >>> _ = register_image_metric(white)
    >>> image_metric_versions()["white_share_doc"]
    1
    >>> unregister_image_metric("white_share_doc")
    """
    if not isinstance(metric, ImageMetric):
        raise ConfigError(
            f"register_image_metric takes an ImageMetric. Got {type(metric).__name__} instead."
        )
    if metric.name in _REGISTRY and not replace:
        raise ConfigError(
            f"A per-image metric named {metric.name!r} is already registered; pass "
            "replace=True to replace it, or choose another name."
        )
    _REGISTRY[metric.name] = metric
    return metric


def unregister_image_metric(name: str) -> None:
    """Forget a registered per-image metric (profiles made afterwards do not measure it)."""
    if name not in _REGISTRY:
        raise ConfigError(
            f"No per-image metric named {name!r} is registered; registered: {sorted(_REGISTRY)}."
        )
    del _REGISTRY[name]


def registered_image_metrics() -> dict[str, ImageMetric]:
    """The registered per-image metrics, by name."""
    return dict(sorted(_REGISTRY.items()))


def image_metric_versions() -> dict[str, int]:
    """Name -> version of every registered per-image metric (what a profile records)."""
    return {name: m.version for name, m in sorted(_REGISTRY.items())}


def resolve_image_metrics(recorded: Mapping[str, int]) -> tuple[ImageMetric, ...]:
    """The registered metrics a profile's settings name, in name order.

    Raises
    ------
    ConfigError
        A named metric is not registered in this process, or is registered with another
        version.
    """
    out = []
    for name, version in sorted(recorded.items()):
        metric = _REGISTRY.get(name)
        if metric is None:
            raise ConfigError(
                f"The profile settings name the per-image metric {name!r} (version {version}), "
                "which is not registered in this process; register it with "
                "visiondrift.measure.custom.register_image_metric before profiling."
            )
        if metric.version != version:
            raise ConfigError(
                f"The profile settings name version {version} of the per-image metric {name!r}, "
                f"but version {metric.version} is registered; profile with the registered "
                "version's settings, or register the recorded version."
            )
        out.append(metric)
    return tuple(out)


def image_metric_spec(name: str) -> PropertySpec:
    """How reports describe a per-image metric: from its registration, or from its name when
    it is not registered in this process (a saved profile compared elsewhere)."""
    metric = _REGISTRY.get(name)
    if metric is None:
        return PropertySpec(
            name, name.replace("_", " "), "", "", 0.0, 1.0, "linear", "higher", "lower", "property"
        )
    family: Literal["property", "size"] = "size" if metric.family == "size" else "property"
    return PropertySpec(
        metric.name,
        metric.label,
        metric.unit,
        metric.description,
        0.0,
        1.0,
        "linear",
        metric.more,
        metric.less,
        family,
    )
