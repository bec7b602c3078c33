"""What is measured on each image: the per-image properties and the settings of the measurements.

The measuring itself (Pillow) is in :mod:`visiondrift.measure._measurer`; this module is plain
numpy, so that a saved profile's settings import without Pillow. It may import only numpy and
:mod:`visiondrift.errors`. Two kinds of measurement come from the same decoded array:

- exact 256-bin histograms of the R, G, B and luminance values of the full-resolution image
  (luminance is ITU-R BT.601 luma, ``L = 0.299 R + 0.587 G + 0.114 B``, as Pillow computes it);
- per-image properties (:data:`PROPERTIES`), the values the statistical tests run on.

Sharpness is the Laplacian variance less what the image's noise alone would contribute (``20
sigma^2`` for white noise of deviation ``sigma`` in the working copy), so that added sensor noise
does not read as a sharper image. JPEG quality comes from the file's quantisation tables
(:mod:`visiondrift.decode._jpeg`), blockiness from the 8-pixel grid that block compression leaves in
the pixels of any format, and orientation from the balance of horizontal and vertical gradient
energy. Noise is a property of the sensor's pixels, so it is estimated at native resolution on a
central crop. Other properties that depend on scale are computed on working copies reduced by an
integer box filter (Pillow's ``reduce``, fast and properly anti-aliased): sharpness on a grey copy
whose shorter side is close to ``work_size`` (128 px by default; the factor is ``round(shorter_side
/ work_size)``, at least 1). Saturation and colourfulness are global colour statistics, measured on
a regular grid sample of about ``colour_size`` (32) pixels along the shorter side. A 4000x3000 photo
and a 1024x768 one are thus measured at about the same scale, and a baseline recorded at one
resolution can be compared with batches at another. Histogram-based properties (brightness,
contrast, clipping, entropy, channel means and spreads) use the exact histograms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift._defaults import DEFAULTS
from visiondrift.errors import ConfigError

__all__ = [
    "CHANNELS",
    "MEASURE_VERSION",
    "PROPERTIES",
    "PROPERTY_NAMES",
    "MeasureConfig",
    "PropertySpec",
]

#: Histogram channels, in the order they are stored.
CHANNELS: Final[tuple[str, ...]] = ("r", "g", "b", "l")


@dataclass(frozen=True)
class PropertySpec:
    """How one per-image property is described, binned and explained.

    ``edges`` are the fixed bin edges of its summary histogram (values outside fall in the end
    bins); ``scale`` says whether changes read better as a difference or as a ratio.
    """

    name: str
    label: str
    unit: str
    description: str
    lo: float
    hi: float
    scale: Literal["linear", "log"]
    more: str
    less: str
    family: Literal["pixel_mean", "pixel_std", "property", "size"]

    @property
    def edges(self) -> NDArray[np.float64]:
        if self.scale == "log":
            return np.geomspace(self.lo, self.hi, 65)
        return np.linspace(self.lo, self.hi, 65)


def _ch(c: str, name: str) -> tuple[PropertySpec, PropertySpec]:
    return (
        PropertySpec(
            f"mean_{c}",
            f"{name}",
            "0-1 scale",
            f"mean {name} value of the image, 0 = none, 1 = full",
            0.0,
            1.0,
            "linear",
            f"more {name}",
            f"less {name}",
            "pixel_mean",
        ),
        PropertySpec(
            f"std_{c}",
            f"{name} spread",
            "0-1 scale",
            f"standard deviation of the {name} values within the image",
            0.0,
            0.5,
            "linear",
            f"more varied in {name}",
            f"less varied in {name}",
            "pixel_std",
        ),
    )


_RED, _RED_STD = _ch("r", "red")
_GREEN, _GREEN_STD = _ch("g", "green")
_BLUE, _BLUE_STD = _ch("b", "blue")

#: Every per-image property, in storage order.
PROPERTIES: Final[tuple[PropertySpec, ...]] = (
    PropertySpec(
        "brightness",
        "brightness",
        "0-1 scale",
        "mean luminance of the image (0 = black, 1 = white)",
        0.0,
        1.0,
        "linear",
        "brighter",
        "darker",
        "pixel_mean",
    ),
    PropertySpec(
        "contrast",
        "contrast",
        "0-1 scale",
        "RMS contrast: standard deviation of luminance",
        0.0,
        0.5,
        "linear",
        "more contrasted",
        "flatter (less contrast)",
        "pixel_std",
    ),
    _RED,
    _GREEN,
    _BLUE,
    _RED_STD,
    _GREEN_STD,
    _BLUE_STD,
    PropertySpec(
        "saturation",
        "saturation",
        "0-1 scale",
        "mean HSV saturation of a grid sample of the pixels",
        0.0,
        1.0,
        "linear",
        "more saturated",
        "less saturated (washed out)",
        "property",
    ),
    PropertySpec(
        "colourfulness",
        "colourfulness",
        "Hasler-Süsstrunk M",
        "colourfulness metric of Hasler and Süsstrunk (2003), 0 = grey",
        0.0,
        200.0,
        "linear",
        "more colourful",
        "less colourful",
        "property",
    ),
    PropertySpec(
        "sharpness",
        "sharpness",
        "Laplacian variance",
        "variance of the Laplacian of the working copy, less the part that the image's noise "
        "explains (higher = sharper)",
        1.0,
        1e5,
        "log",
        "sharper",
        "softer (blurrier)",
        "property",
    ),
    PropertySpec(
        "noise",
        "noise",
        "grey levels",
        "robust Immerkær estimate of the noise standard deviation at native resolution",
        0.05,
        50.0,
        "log",
        "noisier",
        "cleaner (less noise)",
        "property",
    ),
    PropertySpec(
        "dark_clip",
        "crushed shadows",
        "share of pixels",
        "share of pixels with luminance at or below clip_dark",
        0.0,
        1.0,
        "linear",
        "crushed to black more often",
        "crushed to black less often",
        "property",
    ),
    PropertySpec(
        "bright_clip",
        "blown highlights",
        "share of pixels",
        "share of pixels with luminance at or above clip_bright",
        0.0,
        1.0,
        "linear",
        "more blown out",
        "less blown out",
        "property",
    ),
    PropertySpec(
        "entropy",
        "detail (entropy)",
        "bits",
        "Shannon entropy of the luminance histogram",
        0.0,
        8.0,
        "linear",
        "more detailed",
        "less detailed",
        "property",
    ),
    PropertySpec(
        "jpeg_quality",
        "JPEG quality",
        "quality 1-100",
        "JPEG quality estimated from the file's quantisation tables (100 for files that are not "
        "JPEG)",
        1.0,
        100.0,
        "linear",
        "less compressed (higher JPEG quality)",
        "more compressed (lower JPEG quality)",
        "property",
    ),
    PropertySpec(
        "blockiness",
        "blockiness",
        "boundary / interior gradient",
        "mean gradient across the strongest 8-pixel grid phase over the mean gradient, on the "
        "native-resolution crop (1 = no block grid; compression raises it)",
        0.5,
        8.0,
        "log",
        "blockier (stronger compression artefacts)",
        "less blocky (fewer compression artefacts)",
        "property",
    ),
    PropertySpec(
        "vertical_edges",
        "orientation (vertical edges)",
        "share of gradient energy",
        "share of the working copy's gradient energy that runs across columns, i.e. in vertical "
        "edges (0.5 = balanced; a 90° rotation turns a share s into 1 - s)",
        0.0,
        1.0,
        "linear",
        "more vertical in structure",
        "more horizontal in structure",
        "property",
    ),
    PropertySpec(
        "width",
        "width",
        "px",
        "width after EXIF orientation",
        1.0,
        1e5,
        "log",
        "wider",
        "narrower",
        "size",
    ),
    PropertySpec(
        "height",
        "height",
        "px",
        "height after EXIF orientation",
        1.0,
        1e5,
        "log",
        "taller",
        "shorter",
        "size",
    ),
    PropertySpec(
        "aspect",
        "aspect ratio",
        "width / height",
        "width divided by height",
        0.1,
        10.0,
        "log",
        "wider in shape",
        "taller in shape",
        "size",
    ),
    PropertySpec(
        "megapixels",
        "resolution",
        "megapixels",
        "width x height / 1e6",
        1e-4,
        1e3,
        "log",
        "higher resolution",
        "lower resolution",
        "size",
    ),
    PropertySpec(
        "file_size",
        "file size",
        "bytes",
        "size of the file on disk",
        10.0,
        1e9,
        "log",
        "stored in larger files",
        "stored in smaller files",
        "size",
    ),
)

PROPERTY_NAMES: Final[tuple[str, ...]] = tuple(spec.name for spec in PROPERTIES)

#: Version of what the properties measure. It is part of :class:`MeasureConfig`, so profiles
#: measured by different versions neither merge nor compare. 2: sharpness less the noise's share,
#: JPEG quality, blockiness and orientation added. Profiles saved before it was recorded are 1.
MEASURE_VERSION: Final = 2


@dataclass(frozen=True)
class MeasureConfig:
    """Settings of the per-image measurements; profiles built with different ones don't mix.

    Parameters
    ----------
    work_size
        Target shorter side, in pixels, of the grey working copy on which sharpness and noise
        are measured.
    colour_size
        Saturation and colourfulness are measured on a grid sample of pixels with this many
        samples along the shorter side (global colour statistics need few pixels).
    noise_size
        Side of the central crop, at native resolution, on which noise is estimated.
    clip_dark
        Luminance at or below which a pixel counts as crushed to black (0-255).
    clip_bright
        Luminance at or above which a pixel counts as blown to white (0-255).
    version
        Version of the measurements (:data:`MEASURE_VERSION`); a profile read from a file keeps
        the version it was measured with, and only the current one can measure new images.
    """

    work_size: int = DEFAULTS.profile.measure.work_size
    colour_size: int = DEFAULTS.profile.measure.colour_size
    noise_size: int = DEFAULTS.profile.measure.noise_size
    clip_dark: int = DEFAULTS.profile.measure.clip_dark
    clip_bright: int = DEFAULTS.profile.measure.clip_bright
    version: int = MEASURE_VERSION

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or self.version not in range(1, MEASURE_VERSION + 1):
            raise ConfigError(
                f"The measurement 'version' must be an integer from 1 to {MEASURE_VERSION}. "
                f"Got {self.version!r}. Profiles measured by a newer version need a newer "
                "visiondrift: upgrade it."
            )
        if not 8 <= self.work_size <= 4096:
            raise ConfigError(
                f"The 'work_size' option must be between 8 and 4096 pixels. Got {self.work_size}."
            )
        if not 4 <= self.colour_size <= 4096:
            raise ConfigError(
                "The 'colour_size' option must be between 4 and 4096 pixels. "
                f"Got {self.colour_size}."
            )
        if not 8 <= self.noise_size <= 4096:
            raise ConfigError(
                f"The 'noise_size' option must be between 8 and 4096 pixels. Got {self.noise_size}."
            )
        if not 0 <= self.clip_dark < self.clip_bright <= 255:
            raise ConfigError(
                "The 'clip_dark' and 'clip_bright' options must satisfy "
                f"0 <= clip_dark < clip_bright <= 255. Got {self.clip_dark} and "
                f"{self.clip_bright}."
            )

    def to_dict(self) -> dict[str, int]:
        return {
            "work_size": self.work_size,
            "colour_size": self.colour_size,
            "noise_size": self.noise_size,
            "clip_dark": self.clip_dark,
            "clip_bright": self.clip_bright,
            "version": self.version,
        }
