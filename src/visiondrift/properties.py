"""Per-image measurements taken from one decoded image.

Two kinds of measurement come from the same decoded array:

- exact 256-bin histograms of the R, G, B and luminance values of the full-resolution image
  (luminance is ITU-R BT.601 luma, ``L = 0.299 R + 0.587 G + 0.114 B``, as Pillow computes it);
- per-image properties (:data:`PROPERTIES`), the values the statistical tests run on.

Noise is a property of the sensor's pixels, so it is estimated at native resolution on a central
crop. Other properties that depend on scale are computed on working copies reduced by an integer
box filter (Pillow's ``reduce``, fast and properly anti-aliased): sharpness on a grey copy whose
shorter side is close to ``work_size`` (128 px by default; the factor is
``round(shorter_side / work_size)``, at least 1). Saturation and colourfulness are global colour
statistics, measured on a regular grid sample of about ``colour_size`` (32) pixels along the
shorter side.
A 4000x3000 photo and a 1024x768 one are thus measured at about the same scale, and a baseline
recorded at one resolution can be compared with batches at another. Histogram-based properties
(brightness, contrast, clipping, entropy, channel means and spreads) use the exact histograms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from visiondrift.decode import DecodedImage
from visiondrift.errors import ConfigError

__all__ = [
    "CHANNELS",
    "PROPERTIES",
    "PROPERTY_NAMES",
    "MeasureConfig",
    "PropertySpec",
    "measure",
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
        "variance of the Laplacian of the working copy (higher = sharper)",
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
_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(PROPERTY_NAMES)}
_LEVELS: Final = np.arange(256, dtype=np.float64)
_LEVELS2: Final = _LEVELS**2
#: Where the per-channel means and spreads (R, G, B, luminance) go in the values array.
_MEAN_SLOTS: Final = [_INDEX[n] for n in ("mean_r", "mean_g", "mean_b", "brightness")]
_STD_SLOTS: Final = [_INDEX[n] for n in ("std_r", "std_g", "std_b", "contrast")]


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
    """

    work_size: int = 128
    colour_size: int = 32
    noise_size: int = 96
    clip_dark: int = 5
    clip_bright: int = 250

    def __post_init__(self) -> None:
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
        }


def _mean_var(x: NDArray[np.float32]) -> tuple[float, float]:
    """Mean and (population) variance of a flat array with two BLAS-backed reductions."""
    n = x.size
    mean = float(x.sum(dtype=np.float64)) / n
    return mean, max(0.0, float(np.dot(x, x)) / n - mean * mean)


def _noise(luma: Image.Image, width: int, height: int, size: int) -> float:
    """Noise standard deviation, in grey levels, at native resolution.

    Immerkær's (1996) 3x3 kernel ``[[1,-2,1],[-2,4,-2],[1,-2,1]]`` cancels smooth image content;
    it is the outer product of ``[1,-2,1]`` with itself, so it is applied as two second
    differences. On pure Gaussian noise of deviation s the response has deviation 6 s; the median
    absolute response (divided by 0.6745) estimates it while ignoring the minority of pixels on
    edges and texture. The responses are integers, so the median is interpolated within its
    unit bin (the grouped median) to stay continuous at low noise. It is measured on the central
    ``size`` x ``size`` crop.
    """
    left, top = max(0, (width - size) // 2), max(0, (height - size) // 2)
    crop = luma.crop((left, top, min(width, left + size), min(height, top + size)))
    g = np.asarray(crop, dtype=np.int16)
    if g.shape[0] < 3 or g.shape[1] < 3:
        return 0.0
    d2 = g[:, :-2] + g[:, 2:] - 2 * g[:, 1:-1]
    response = np.abs(d2[:-2] + d2[2:] - 2 * d2[1:-1]).ravel()
    counts = np.bincount(response)
    half = response.size / 2.0
    cumulative = np.cumsum(counts)
    k = int(np.searchsorted(cumulative, half))
    below = float(cumulative[k - 1]) if k else 0.0
    median = max(0.0, k - 0.5 + (half - below) / float(counts[k]))
    return float(median) / (6.0 * 0.6745)


def _sharpness(luma: Image.Image, factor: int) -> float:
    grey = np.asarray(luma.reduce(factor) if factor > 1 else luma, dtype=np.float32)
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:]
    lap -= 4.0 * grey[1:-1, 1:-1]
    return _mean_var(lap.ravel())[1]


def _colour(im: Image.Image, size: int) -> tuple[float, float]:
    """Mean HSV saturation and Hasler-Süsstrunk colourfulness of a grid sample of pixels.

    The pixels are sampled on a regular grid (nearest neighbour) so that the shorter side has
    ``size`` samples: a uniform sample of the image's own colours, not of blurred averages.
    """
    width, height = im.size
    scale = size / min(width, height)
    grid = (
        im.resize(
            (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.NEAREST
        )
        if scale < 1.0
        else im
    )
    r, g, b = np.ascontiguousarray(np.asarray(grid, dtype=np.float32).reshape(-1, 3).T)
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    saturation = float(((mx - mn) / np.maximum(mx, 1.0)).mean())
    rg_mean, rg_var = _mean_var(r - g)
    yb_mean, yb_var = _mean_var(0.5 * (r + g) - b)
    colourfulness = math.sqrt(rg_var + yb_var) + 0.3 * math.sqrt(rg_mean**2 + yb_mean**2)
    return saturation, colourfulness


def measure(
    decoded: DecodedImage, config: MeasureConfig
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Measure one decoded image.

    Returns
    -------
    histograms
        Array of shape (4, 256): counts of the R, G, B and luminance values.
    values
        Array of the per-image properties, in the order of :data:`PROPERTY_NAMES`.
    """
    im = decoded.image
    width, height = decoded.width, decoded.height
    n_pixels = width * height
    luma = im.convert("L")
    hists = np.empty((4, 256), dtype=np.int64)
    hists[:3] = np.asarray(im.histogram(), dtype=np.int64).reshape(3, 256)
    hists[3] = luma.histogram()
    means = (hists @ _LEVELS) / n_pixels
    stds = np.sqrt(np.maximum(0.0, (hists @ _LEVELS2) / n_pixels - means**2))
    values = np.empty(len(PROPERTY_NAMES), dtype=np.float64)
    values[_MEAN_SLOTS] = means / 255.0
    values[_STD_SLOTS] = stds / 255.0
    lum = hists[3]
    values[_INDEX["dark_clip"]] = float(lum[: config.clip_dark + 1].sum()) / n_pixels
    values[_INDEX["bright_clip"]] = float(lum[config.clip_bright :].sum()) / n_pixels
    p = lum[lum > 0] / n_pixels
    values[_INDEX["entropy"]] = float(-(p * np.log2(p)).sum())

    short = min(width, height)
    values[_INDEX["sharpness"]] = _sharpness(luma, max(1, round(short / config.work_size)))
    values[_INDEX["noise"]] = _noise(luma, width, height, config.noise_size)
    saturation, colourfulness = _colour(im, config.colour_size)
    values[_INDEX["saturation"]] = saturation
    values[_INDEX["colourfulness"]] = colourfulness

    values[_INDEX["width"]] = width
    values[_INDEX["height"]] = height
    values[_INDEX["aspect"]] = width / height
    values[_INDEX["megapixels"]] = n_pixels / 1e6
    values[_INDEX["file_size"]] = decoded.file_size
    return hists, values
