"""Measure decoded images: exact histograms and per-image properties, in batches.

Measuring is split in two so that it stays cheap per image:

1. :meth:`ImageMeasurer.add` does the per-image work in Pillow's C code while the full decoded
   image is at hand: the R, G, B and luminance histograms, a grey working copy (for sharpness), a
   native-resolution central crop (for noise) and a grid sample of the colours. The full image
   can then be released; only small arrays are kept.
2. :meth:`ImageMeasurer.finish` computes every property for all pending images at once, stacking
   the small arrays of equal shape so that numpy runs each operation once per batch rather than
   once per image.

What each property means is documented in :mod:`visiondrift.measure.properties`. This module
may import Pillow, numpy, :mod:`visiondrift.decode` and :mod:`visiondrift.measure.properties`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from visiondrift.decode._image import DecodedImage
from visiondrift.decode._jpeg import LOSSLESS_QUALITY
from visiondrift.errors import ConfigError
from visiondrift.measure.custom import ImageMetric
from visiondrift.measure.properties import MEASURE_VERSION, PROPERTY_NAMES, MeasureConfig

__all__ = ["ImageMeasurer", "measure"]

_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(PROPERTY_NAMES)}
_LEVELS: Final = np.arange(256, dtype=np.float64)
_LEVELS2: Final = _LEVELS**2
#: Where the per-channel means and spreads (R, G, B, luminance) go in the values array.
_MEAN_SLOTS: Final = [_INDEX[n] for n in ("mean_r", "mean_g", "mean_b", "brightness")]
_STD_SLOTS: Final = [_INDEX[n] for n in ("std_r", "std_g", "std_b", "contrast")]
#: Median absolute Immerkær response of Gaussian noise of deviation s is 6 * 0.6745 * s.
_NOISE_SCALE: Final = 6.0 * 0.6745
#: Variance of the 4-neighbour Laplacian of white noise of unit variance (16 + 4 * 1).
_LAPLACIAN_NOISE_GAIN: Final = 20.0
#: Side of the block grid that JPEG (and MPEG-style) compression leaves in the pixels.
_BLOCK: Final = 8


@dataclass(slots=True)
class _Pending:
    histogram: list[int]
    grey: NDArray[np.uint8]
    crop: NDArray[np.uint8]
    colours: NDArray[np.uint8]
    width: int
    height: int
    file_size: int
    factor: int
    jpeg_quality: float
    #: Values of the registered per-image metrics (see :mod:`visiondrift.measure.custom`).
    extra: tuple[float, ...] = ()


def _groups(arrays: Sequence[NDArray[np.uint8]]) -> dict[tuple[int, ...], list[int]]:
    """Indices of the arrays grouped by shape, so each group stacks into one array."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, arr in enumerate(arrays):
        groups[arr.shape].append(i)
    return groups


def _row_var(x: NDArray[np.float32]) -> NDArray[np.float64]:
    """Variance of each row of a 2-D float32 array (sums and sums of squares, float64 result)."""
    n = x.shape[1]
    mean = x.sum(axis=1, dtype=np.float64) / n
    squares = np.einsum("ij,ij->i", x, x, dtype=np.float64) / n
    result: NDArray[np.float64] = np.maximum(0.0, squares - mean * mean)
    return result


def _sharpness(
    greys: Sequence[NDArray[np.uint8]],
    noise_var: NDArray[np.float64],
    out: NDArray[np.float64],
    vertical: NDArray[np.float64],
) -> None:
    """Laplacian variance of each grey working copy less the part its noise explains
    (``noise_var``: noise variance in the working copy), and the share of the gradient energy
    that runs across columns (vertical edges)."""
    for shape, idx in _groups(greys).items():
        if shape[0] < 3 or shape[1] < 3:
            out[idx] = 0.0
            vertical[idx] = 0.5
            continue
        k = len(idx)
        g = np.stack([greys[i] for i in idx], dtype=np.int16)
        lap = g[:, :-2, 1:-1] + g[:, 2:, 1:-1] + g[:, 1:-1, :-2] + g[:, 1:-1, 2:]
        lap -= 4 * g[:, 1:-1, 1:-1]
        raw = _row_var(lap.reshape(k, -1).astype(np.float32))
        out[idx] = np.maximum(0.0, raw - _LAPLACIAN_NOISE_GAIN * noise_var[idx])
        dx = (g[:, :, 1:] - g[:, :, :-1]).reshape(k, -1).astype(np.float32)
        dy = (g[:, 1:, :] - g[:, :-1, :]).reshape(k, -1).astype(np.float32)
        ex = np.einsum("ij,ij->i", dx, dx, dtype=np.float64) / dx.shape[1]
        ey = np.einsum("ij,ij->i", dy, dy, dtype=np.float64) / dy.shape[1]
        total = ex + ey
        vertical[idx] = np.where(total > 0, ex / np.where(total > 0, total, 1.0), 0.5)


def _blockiness(crops: Sequence[NDArray[np.uint8]], out: NDArray[np.float64]) -> None:
    """Block-grid strength of each native crop: the mean absolute gradient across the strongest
    of the 8 grid phases over that across the second strongest (per direction, then averaged).

    The phase is searched rather than assumed, so a crop need not start on the file's grid; the
    second strongest phase as reference keeps patterns of period 2 or 4 (left by upscaling) at 1.
    """
    for shape, idx in _groups(crops).items():
        k = len(idx)
        if shape[0] < 2 * _BLOCK or shape[1] < 2 * _BLOCK:
            out[idx] = 1.0
            continue
        g = np.stack([crops[i] for i in idx], dtype=np.int16)
        ratios = np.zeros(k)
        for diff in (np.abs(g[:, :, 1:] - g[:, :, :-1]), np.abs(g[:, 1:, :] - g[:, :-1, :])):
            # Move the differenced axis last and cut it to whole periods.
            d = diff if diff.shape[2] != shape[1] else np.swapaxes(diff, 1, 2)
            periods = d.shape[2] // _BLOCK
            d = d[:, :, : periods * _BLOCK].reshape(k, d.shape[1], periods, _BLOCK)
            phase = np.sort(d.mean(axis=(1, 2), dtype=np.float64), axis=1)
            second = phase[:, -2]
            ratios += np.where(second > 0, phase[:, -1] / np.where(second > 0, second, 1.0), 1.0)
        out[idx] = ratios / 2.0


#: Responses above this are clipped before taking the median; it only matters if the noise
#: deviation exceeds ``_RESPONSE_CAP / _NOISE_SCALE`` (about 250 grey levels), never in practice.
_RESPONSE_CAP: Final = 1023


def _noise(crops: Sequence[NDArray[np.uint8]], out: NDArray[np.float64]) -> None:
    """Robust Immerkær noise estimate of each native-resolution crop (grouped median)."""
    for shape, idx in _groups(crops).items():
        if shape[0] < 3 or shape[1] < 3:
            out[idx] = 0.0
            continue
        k = len(idx)
        g = np.stack([crops[i] for i in idx], dtype=np.int16)
        d2 = g[:, :, :-2] + g[:, :, 2:] - 2 * g[:, :, 1:-1]
        response = np.abs(d2[:, :-2] + d2[:, 2:] - 2 * d2[:, 1:-1]).reshape(k, -1)
        np.minimum(response, _RESPONSE_CAP, out=response)
        # One bincount for all images: row i's responses are offset by i * (cap + 1).
        width = _RESPONSE_CAP + 1
        offsets = (np.arange(k, dtype=np.intp) * width)[:, None]
        counts = np.bincount((response + offsets).ravel(), minlength=k * width).reshape(k, width)
        cumulative = np.cumsum(counts, axis=1)
        half = response.shape[1] / 2.0
        # The responses are integers: the median is interpolated within its unit bin.
        level = np.argmax(cumulative >= half, axis=1)
        rows = np.arange(k)
        below = np.where(level > 0, cumulative[rows, level - 1], 0)
        median = level - 0.5 + (half - below) / np.maximum(counts[rows, level], 1)
        out[idx] = np.maximum(median, 0.0) / _NOISE_SCALE


def _colour(
    grids: Sequence[NDArray[np.uint8]],
    saturation: NDArray[np.float64],
    colourful: NDArray[np.float64],
) -> None:
    """Mean HSV saturation and Hasler-Süsstrunk colourfulness of each colour grid sample."""
    for _, idx in _groups(grids).items():
        rgb = np.stack([grids[i] for i in idx], dtype=np.float32).reshape(len(idx), -1, 3)
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        mx = np.maximum(np.maximum(r, g), b)
        mn = np.minimum(np.minimum(r, g), b)
        saturation[idx] = ((mx - mn) / np.maximum(mx, 1.0)).mean(axis=1)
        rg = r - g
        yb = 0.5 * (r + g) - b
        spread = np.sqrt(rg.var(axis=1, dtype=np.float64) + yb.var(axis=1, dtype=np.float64))
        centre = np.sqrt(
            rg.mean(axis=1, dtype=np.float64) ** 2 + yb.mean(axis=1, dtype=np.float64) ** 2
        )
        colourful[idx] = spread + 0.3 * centre


class ImageMeasurer:
    """Collects decoded images and measures them in batches.

    Parameters
    ----------
    config
        Measurement settings.
    image_metrics
        Registered per-image metrics to measure after the built-in properties (their values
        follow the properties' in :attr:`columns`).
    """

    def __init__(self, config: MeasureConfig, image_metrics: Sequence[ImageMetric] = ()) -> None:
        if config.version != MEASURE_VERSION:
            raise ConfigError(
                f"These measurement settings are of version {config.version}; this release "
                f"measures images with version {MEASURE_VERSION} only. Rebuild the profile with "
                "this release instead of adding images to an older one."
            )
        self.config = config
        self.image_metrics = tuple(image_metrics)
        #: Names of the columns of :meth:`finish`'s values.
        self.columns: tuple[str, ...] = PROPERTY_NAMES + tuple(m.name for m in self.image_metrics)
        self._pending: list[_Pending] = []

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, decoded: DecodedImage) -> None:
        """Take what the properties need from ``decoded``; the image itself is not kept."""
        cfg = self.config
        im = decoded.image
        width, height = decoded.width, decoded.height
        luma = im.convert("L")
        histogram = im.histogram() + luma.histogram()
        short = min(width, height)
        factor = max(1, round(short / cfg.work_size))
        grey = np.asarray(luma.reduce(factor) if factor > 1 else luma)
        left, top = max(0, (width - cfg.noise_size) // 2), max(0, (height - cfg.noise_size) // 2)
        crop = np.asarray(
            luma.crop(
                (left, top, min(width, left + cfg.noise_size), min(height, top + cfg.noise_size))
            )
        )
        scale = cfg.colour_size / short
        grid = (
            im.resize(
                (max(1, round(width * scale)), max(1, round(height * scale))),
                Image.Resampling.NEAREST,
            )
            if scale < 1.0
            else im
        )
        quality = decoded.jpeg_quality
        self._pending.append(
            _Pending(
                histogram,
                grey,
                crop,
                np.asarray(grid),
                width,
                height,
                decoded.file_size,
                factor,
                LOSSLESS_QUALITY if quality is None else quality,
                tuple(m.measure(np.asarray(im)) for m in self.image_metrics),
            )
        )

    def finish(self) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Measure every pending image and forget them.

        Returns
        -------
        histograms
            Array of shape (n, 4, 256): counts of the R, G, B and luminance values.
        values
            Array of shape (n, len(columns)) of per-image properties, then the registered
            per-image metrics.
        """
        pending, self._pending = self._pending, []
        n = len(pending)
        values = np.empty((n, len(self.columns)), dtype=np.float64)
        if n == 0:
            return np.zeros((0, 4, 256), dtype=np.int64), values
        hists = np.array([p.histogram for p in pending], dtype=np.int64).reshape(n, 4, 256)
        width = np.array([p.width for p in pending], dtype=np.float64)
        height = np.array([p.height for p in pending], dtype=np.float64)
        pixels = (width * height)[:, None]
        means = (hists @ _LEVELS) / pixels
        stds = np.sqrt(np.maximum(0.0, (hists @ _LEVELS2) / pixels - means**2))
        values[:, _MEAN_SLOTS] = means / 255.0
        values[:, _STD_SLOTS] = stds / 255.0
        lum = hists[:, 3, :]
        values[:, _INDEX["dark_clip"]] = (
            lum[:, : self.config.clip_dark + 1].sum(axis=1) / pixels[:, 0]
        )
        values[:, _INDEX["bright_clip"]] = (
            lum[:, self.config.clip_bright :].sum(axis=1) / pixels[:, 0]
        )
        p = lum / pixels
        with np.errstate(divide="ignore", invalid="ignore"):
            values[:, _INDEX["entropy"]] = -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=1)

        noise = np.empty(n)
        _noise([q.crop for q in pending], noise)
        values[:, _INDEX["noise"]] = noise
        # Averaging f x f pixels divides the variance of white noise by f^2.
        factors = np.array([q.factor for q in pending], dtype=np.float64)
        sharp, vertical = np.empty(n), np.empty(n)
        _sharpness([q.grey for q in pending], (noise / factors) ** 2, sharp, vertical)
        values[:, _INDEX["sharpness"]] = sharp
        values[:, _INDEX["vertical_edges"]] = vertical
        blocky = np.empty(n)
        _blockiness([q.crop for q in pending], blocky)
        values[:, _INDEX["blockiness"]] = blocky
        values[:, _INDEX["jpeg_quality"]] = [q.jpeg_quality for q in pending]
        saturation, colourful = np.empty(n), np.empty(n)
        _colour([q.colours for q in pending], saturation, colourful)
        values[:, _INDEX["saturation"]] = saturation
        values[:, _INDEX["colourfulness"]] = colourful

        values[:, _INDEX["width"]] = width
        values[:, _INDEX["height"]] = height
        values[:, _INDEX["aspect"]] = width / height
        values[:, _INDEX["megapixels"]] = pixels[:, 0] / 1e6
        values[:, _INDEX["file_size"]] = [q.file_size for q in pending]
        if self.image_metrics:
            values[:, len(PROPERTY_NAMES) :] = [q.extra for q in pending]
        return hists, values


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
    measurer = ImageMeasurer(config)
    measurer.add(decoded)
    hists, values = measurer.finish()
    return hists[0], values[0]
