"""Per-image measurements: what is measured on each image, and the measuring itself.

:mod:`.properties` (plain numpy) owns the catalogue of per-image properties and their settings
(:class:`MeasureConfig`, :data:`PROPERTY_NAMES`, :data:`CHANNELS`...): a saved profile holds
them, so they import eagerly and without Pillow. :mod:`._measurer` owns :class:`ImageMeasurer`,
which measures decoded images with Pillow and numpy; it is imported on first use.

May import :mod:`visiondrift.errors`, :mod:`visiondrift.decode._jpeg` and :mod:`visiondrift.decode`;
nothing from the profile, drift or report layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondrift._lazy import lazy_attributes
from visiondrift.measure.properties import (
    CHANNELS,
    MEASURE_VERSION,
    PROPERTIES,
    PROPERTY_NAMES,
    MeasureConfig,
    PropertySpec,
)

if TYPE_CHECKING:
    from visiondrift.measure._measurer import ImageMeasurer

__all__ = [
    "CHANNELS",
    "MEASURE_VERSION",
    "PROPERTIES",
    "PROPERTY_NAMES",
    "ImageMeasurer",
    "MeasureConfig",
    "PropertySpec",
]

__getattr__, __dir__ = lazy_attributes(
    __name__, {"ImageMeasurer": "visiondrift.measure._measurer"}, __all__
)
