"""Turn decoded RGB images into the input tensor a model was trained on.

Importing this module does not import Pillow (a saved profile's settings hold a
:class:`Preprocessing`): the resizing functions import it when they run.

:class:`Preprocessing` holds the options (resize mode, interpolation, value scaling, channel
order); :func:`preprocess` applies them to a batch. Resizing uses Pillow, one image at a time since
sizes vary; everything after resizing (channel order, scaling, quantisation, layout) runs on the
whole batch at once with numpy.

Value scaling is applied in two steps: the ``scaling`` preset maps the 0..255 pixel ``p`` to a
range, then the optional per-channel ``mean`` and ``std`` are applied in that range::

    "raw"       p
    "0-1"       p / 255
    "-1-1"      p / 127.5 - 1
    "imagenet"  (p / 255 - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)

so ``scaling="0-1", mean=(0.5,), std=(0.5,)`` equals ``"-1-1"`` and Caffe-style models use
``scaling="raw", mean=(103.94, 116.78, 123.68), channel_order="BGR"``. With ``scaling="auto"``
(the default) a float input gets ``"0-1"``; an integer input gets the raw pixels (``p`` for
``uint8``, ``p - 128`` for ``int8``), which is what a model with its preprocessing built in or a
quantised model whose input quantisation covers the pixel range expects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import numpy as np
from numpy.typing import NDArray

from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from PIL import Image

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "InputTarget",
    "Interpolation",
    "Layout",
    "Preprocessing",
    "ResizeMode",
    "Scaling",
    "preprocess",
]

ResizeMode = Literal["stretch", "shorter-side-crop"]
Interpolation = Literal["nearest", "bilinear", "bicubic", "area"]
Scaling = Literal["auto", "raw", "0-1", "-1-1", "imagenet"]
ChannelOrder = Literal["RGB", "BGR"]
Layout = Literal["NCHW", "NHWC"]
LayoutOption = Literal["auto", "NCHW", "NHWC"]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)

#: Pillow's resampling filter of each interpolation (names: Pillow is imported only to resize).
_RESAMPLING: dict[str, str] = {
    "nearest": "NEAREST",
    "bilinear": "BILINEAR",
    "bicubic": "BICUBIC",
    "area": "BOX",
}
_FLOAT_DTYPES = ("float16", "float32", "float64")
_INT_DTYPES = ("uint8", "int8")


def _check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(repr(a) for a in allowed)
        raise ConfigError(
            f"The '{name}' preprocessing option must be one of {choices}. Got {value!r} instead."
        )


def _as_floats(name: str, value: object) -> tuple[float, ...] | None:
    if value is None:
        return None
    seq = (value,) if isinstance(value, int | float) else value
    try:
        out = tuple(float(v) for v in cast(Sequence[float], seq))
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"The '{name}' preprocessing option must be 1 or 3 numbers. Got {value!r} instead."
        ) from err
    if len(out) not in (1, 3):
        raise ConfigError(
            f"The '{name}' preprocessing option must be 1 or 3 numbers (one per channel). "
            f"Got {len(out)} instead."
        )
    return out


@dataclass(frozen=True)
class Preprocessing:
    """How images are resized and scaled before they reach the model.

    Parameters
    ----------
    size
        ``(height, width)`` to resize to. ``None`` reads it from the model; required when the
        model's height or width is dynamic. An int means a square.
    resize
        ``"stretch"`` resizes to the size ignoring the aspect ratio; ``"shorter-side-crop"``
        scales the shorter side and centre-crops the rest (no distortion).
    resize_shorter
        With ``"shorter-side-crop"``, the length the shorter side is scaled to before the centre
        crop (e.g. 256 for a 224 crop, as in many ImageNet pipelines). ``None`` scales the
        shorter side to the crop itself.
    interpolation
        Resampling filter: ``"nearest"``, ``"bilinear"``, ``"bicubic"`` or ``"area"`` (box).
    scaling
        Value preset: ``"auto"``, ``"raw"`` (0..255), ``"0-1"``, ``"-1-1"`` or ``"imagenet"``.
    mean, std
        Optional per-channel (or single) mean and standard deviation applied after the preset,
        in the preset's units: ``(value - mean) / std``.
    channel_order
        ``"RGB"`` or ``"BGR"``. Ignored for a model with one (grayscale) channel.
    layout
        ``"auto"`` reads NCHW or NHWC from the model; set it only when the model is ambiguous
        (for example an input of shape ``[1, 3, 3, 3]``).
    """

    size: tuple[int, int] | None = None
    resize: ResizeMode = "stretch"
    resize_shorter: int | None = None
    interpolation: Interpolation = "bilinear"
    scaling: Scaling = "auto"
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    channel_order: ChannelOrder = "RGB"
    layout: LayoutOption = "auto"

    def __post_init__(self) -> None:
        size: object = self.size
        if size is not None:
            if isinstance(size, int):
                size = (size, size)
            if (
                not isinstance(size, Sequence)
                or len(size) != 2
                or not all(isinstance(s, int) and s > 0 for s in size)
            ):
                raise ConfigError(
                    "The 'size' preprocessing option must be a positive int or (height, width). "
                    f"Got {self.size!r} instead."
                )
            object.__setattr__(self, "size", (int(size[0]), int(size[1])))
        _check_choice("resize", self.resize, get_args(ResizeMode))
        _check_choice("interpolation", self.interpolation, get_args(Interpolation))
        _check_choice("scaling", self.scaling, get_args(Scaling))
        _check_choice("channel_order", self.channel_order, get_args(ChannelOrder))
        _check_choice("layout", self.layout, get_args(LayoutOption))
        if self.resize_shorter is not None and (
            not isinstance(self.resize_shorter, int) or self.resize_shorter <= 0
        ):
            raise ConfigError(
                "The 'resize_shorter' preprocessing option must be a positive int. "
                f"Got {self.resize_shorter!r} instead."
            )
        if self.resize_shorter is not None and self.resize != "shorter-side-crop":
            raise ConfigError(
                "The 'resize_shorter' preprocessing option needs resize='shorter-side-crop'. "
                f"Got resize={self.resize!r} instead."
            )
        mean = _as_floats("mean", self.mean)
        std = _as_floats("std", self.std)
        if std is not None and any(s <= 0 for s in std):
            raise ConfigError(
                f"The 'std' preprocessing option must be positive. Got {std!r} instead."
            )
        if self.scaling == "imagenet" and (mean is not None or std is not None):
            raise ConfigError(
                "The 'imagenet' scaling already sets mean and std; use scaling='0-1' with your "
                "own 'mean' and 'std' instead."
            )
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON- and TOML-friendly dict (``None`` values left out)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if value is not None:
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessing:
        """Options from a dict such as the ``[preprocessing]`` table of a config file."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(
                f"Unknown preprocessing option(s) {', '.join(map(repr, unknown))}. "
                f"Allowed: {', '.join(sorted(allowed))}."
            )
        kwargs = dict(data)
        for key in ("size", "mean", "std"):
            if isinstance(kwargs.get(key), list):
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)

    def describe(self, target: InputTarget) -> str:
        """Human-readable summary of what this preprocessing does for ``target``."""
        if self.resize == "stretch":
            resize = f"stretch to {target.height}x{target.width} (height x width)"
        else:
            shorter = (
                f"shorter side to {self.resize_shorter}, "
                if self.resize_shorter is not None
                else "shorter side to fit, "
            )
            resize = f"{shorter}centre crop {target.height}x{target.width}"
        colour = "grayscale (ITU-R 601 luma)" if target.channels == 1 else f"{self.channel_order}"
        return (
            f"resize: {resize}, {self.interpolation}\n"
            f"colour: {colour}\n"
            f"values: {self._describe_values(target)}\n"
            f"layout: {target.layout}, dtype {target.dtype}"
        )

    def _describe_values(self, target: InputTarget) -> str:
        scaling = resolved_scaling(self, target)
        if scaling == "integer":
            shift = " - 128" if target.dtype == "int8" else ""
            text = f"raw pixels p{shift} (no scaling)"
            if target.quantization is not None:
                scale, zero_point = target.quantization
                low = -128 if target.dtype == "int8" else 0
                lo, hi = (low - zero_point) * scale, (low + 255 - zero_point) * scale
                text += (
                    f"; the input quantisation maps them to real values {lo:.4g}..{hi:.4g} "
                    "(if the model was trained on another range, set 'scaling')"
                )
            return text
        text = {
            "raw": "p (0..255)",
            "0-1": "p / 255",
            "-1-1": "p / 127.5 - 1",
            "imagenet": f"(p / 255 - {IMAGENET_MEAN}) / {IMAGENET_STD}",
        }[scaling]
        if self.mean is not None:
            text = f"({text}) - {self.mean}"
        if self.std is not None:
            text = f"({text}) / {self.std}"
        if self.scaling == "auto":
            text += "  [auto: check how the model was trained]"
        if target.quantization is not None:
            q = target.quantization
            text += f", then quantised: round(x / {q[0]:.6g}) + {q[1]}"
        return text


@dataclass(frozen=True)
class InputTarget:
    """The input tensor a batch must match: size, channels, layout, dtype and quantisation."""

    height: int
    width: int
    channels: int
    layout: Layout
    dtype: str
    quantization: tuple[float, int] | None = None


def resolved_scaling(
    preprocessing: Preprocessing, target: InputTarget
) -> Literal["integer", "raw", "0-1", "-1-1", "imagenet"]:
    """The preset actually used: ``"integer"`` means raw pixels written into an integer input."""
    scaling = preprocessing.scaling
    if target.dtype in _INT_DTYPES:
        custom = preprocessing.mean is not None or preprocessing.std is not None
        if scaling == "auto" and not custom:
            return "integer"
        if target.quantization is None:
            if scaling in ("auto", "raw") and not custom:
                return "integer"
            raise ConfigError(
                f"The model input is {target.dtype} without quantisation parameters, so it takes "
                f"raw pixels; scaling={scaling!r} with mean={preprocessing.mean} and "
                f"std={preprocessing.std} cannot be represented. Use scaling='auto' and no "
                "mean/std."
            )
        return "raw" if scaling == "auto" else scaling
    if target.dtype not in _FLOAT_DTYPES:
        raise ConfigError(f"Inputs of dtype {target.dtype} are not supported.")
    return "0-1" if scaling == "auto" else scaling


def _check_image(index: int, image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if image.dtype != np.uint8:
        raise ConfigError(
            f"Image {index} must be a uint8 array; got dtype {image.dtype}. Decode images to "
            "8-bit RGB first."
        )
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ConfigError(f"Image {index} must have shape (height, width, 3); got {image.shape}.")
    return image


def _crop_box(
    width: int, height: int, target_w: int, target_h: int, resize_shorter: int | None
) -> tuple[float, float, float, float]:
    """Source region that, scaled to ``target``, equals "shorter side then centre crop"."""
    if resize_shorter is None:
        scale = max(target_w / width, target_h / height)
    else:
        scale = resize_shorter / min(width, height)
    crop_w = min(target_w / scale, width)
    crop_h = min(target_h / scale, height)
    left = (width - crop_w) / 2
    top = (height - crop_h) / 2
    return (left, top, left + crop_w, top + crop_h)


def model_box(
    width: int, height: int, preprocessing: Preprocessing, target: InputTarget
) -> tuple[float, float, float, float] | None:
    """The source region to resize to the model's input: ``None`` for the whole image.

    ``None`` also when the image is already the input size and the crop would keep all of it
    (an image that needs no resampling at all).
    """
    if preprocessing.resize == "stretch":
        return None
    box = _crop_box(width, height, target.width, target.height, preprocessing.resize_shorter)
    if (width, height) == (target.width, target.height) and box == (0.0, 0.0, width, height):
        return None
    return box


def resize_pil(
    image: Image.Image, preprocessing: Preprocessing, target: InputTarget
) -> Image.Image:
    """One decoded image at the model's input size, by the configured resize mode.

    A grayscale conversion first for a 1-channel model, then one Pillow ``resize`` (with the
    crop ``box`` for ``shorter-side-crop``), skipped when the image is already the input size.
    :func:`resize_images` and the profiler both call this, so both give the same pixels.
    """
    if target.channels == 1 and image.mode != "L":
        image = image.convert("L")
    size = (target.width, target.height)
    box = model_box(image.width, image.height, preprocessing, target)
    if image.size != size or box is not None:
        from PIL import Image

        resample = Image.Resampling[_RESAMPLING[preprocessing.interpolation]]
        image = image.resize(size, resample=resample, box=box)
    return image


def presizer(
    preprocessing: Preprocessing, target: InputTarget
) -> Callable[[Image.Image], NDArray[np.uint8]]:
    """A function turning a decoded RGB image into an array for :func:`preprocess`, resized
    early when that is exact.

    When resizing an image already at the input size is a no-op (``stretch``, or
    ``shorter-side-crop`` without ``resize_shorter``), the image is resized with
    :func:`resize_pil` and :func:`resize_images` only copies it later: the same batch, without
    turning the full-size image into an array. Otherwise (a crop that would cut an image at
    the input size again) the full image is returned. Which of the two applies is decided once,
    here, not per image.
    """
    exact = model_box(target.width, target.height, preprocessing, target) is None

    def presize(image: Image.Image) -> NDArray[np.uint8]:
        if exact and image.mode == "RGB":
            image = resize_pil(image, preprocessing, target)
        return np.asarray(image, dtype=np.uint8)

    return presize


def resize_images(
    images: Sequence[NDArray[np.uint8]], preprocessing: Preprocessing, target: InputTarget
) -> NDArray[np.uint8]:
    """Resize (and convert to grayscale for one channel) into a ``(n, H, W, C)`` uint8 batch.

    An image that is already ``(H, W, C)`` at the input size, with a resize that would keep it
    whole, is copied as it is (the profiler hands images over already resized).
    """
    from PIL import Image as pil_image

    out = np.empty((len(images), target.height, target.width, target.channels), dtype=np.uint8)
    whole = model_box(target.width, target.height, preprocessing, target) is None
    for i, raw in enumerate(images):
        if whole and raw.dtype == np.uint8:
            if raw.shape == out.shape[1:]:
                out[i] = raw  # already the model's size and layout: no resampling to do
                continue
            if target.channels == 1 and raw.shape == out.shape[1:3]:
                out[i, :, :, 0] = raw  # a grayscale image at the model's size
                continue
        image = resize_pil(pil_image.fromarray(_check_image(i, raw)), preprocessing, target)
        pixels = np.asarray(image)
        out[i] = pixels[:, :, None] if pixels.ndim == 2 else pixels
    return out


def scale_values(
    pixels: NDArray[np.uint8],
    preprocessing: Preprocessing,
    target: InputTarget,
    *,
    channels_first: bool = False,
) -> NDArray[np.generic]:
    """Channel order, value scaling and quantisation of a resized batch.

    ``pixels`` is ``(n, H, W, C)``, or ``(n, C, H, W)`` with ``channels_first``. The result is
    C-contiguous in that order: scaling a transposed view writes the transposed copy in the
    same pass as the conversion to float.
    """
    axis = 1 if channels_first else -1
    per_channel: tuple[int, ...] = (-1, 1, 1) if channels_first else (-1,)
    if target.channels == 3 and preprocessing.channel_order == "BGR":
        pixels = np.flip(pixels, axis=axis)
    scaling = resolved_scaling(preprocessing, target)
    if scaling == "integer":
        if target.dtype == "int8":
            return (pixels.astype(np.int16) - 128).astype(np.int8)
        return np.ascontiguousarray(pixels)
    x = np.ascontiguousarray(pixels, dtype=np.float32)
    if scaling == "0-1":
        x /= np.float32(255.0)
    elif scaling == "-1-1":
        x /= np.float32(127.5)
        x -= np.float32(1.0)
    elif scaling == "imagenet":
        x /= np.float32(255.0)
        x -= np.asarray(IMAGENET_MEAN[: target.channels], dtype=np.float32).reshape(per_channel)
        x /= np.asarray(IMAGENET_STD[: target.channels], dtype=np.float32).reshape(per_channel)
    for name, values in (("mean", preprocessing.mean), ("std", preprocessing.std)):
        if values is not None and len(values) not in (1, target.channels):
            raise ConfigError(
                f"The '{name}' preprocessing option has {len(values)} values but the model "
                f"input has {target.channels} channel(s). Give 1 or {target.channels} values."
            )
    if preprocessing.mean is not None:
        x -= np.asarray(preprocessing.mean, dtype=np.float32).reshape(per_channel)
    if preprocessing.std is not None:
        x /= np.asarray(preprocessing.std, dtype=np.float32).reshape(per_channel)
    if target.quantization is not None:
        scale, zero_point = target.quantization
        limits = np.iinfo(target.dtype)
        q = np.rint(x / np.float32(scale)) + np.float32(zero_point)
        quantised: NDArray[np.generic] = np.clip(q, limits.min, limits.max).astype(target.dtype)
        return quantised
    converted: NDArray[np.generic] = x.astype(target.dtype, copy=False)
    return converted


def preprocess(
    images: Sequence[NDArray[np.uint8]], preprocessing: Preprocessing, target: InputTarget
) -> NDArray[np.generic]:
    """The model input for a batch of RGB ``uint8`` images of any sizes.

    Parameters
    ----------
    images
        Decoded images, each ``(H, W, 3)`` ``uint8`` (a 2-D grayscale array is accepted too).
    preprocessing
        The options.
    target
        The input tensor to produce (from the model).

    Returns
    -------
    NDArray
        Shape ``(n, C, H, W)`` or ``(n, H, W, C)``, dtype of the model input.
    """
    pixels = resize_images(images, preprocessing, target)
    nchw = target.layout == "NCHW"
    if nchw:
        pixels = pixels.transpose(0, 3, 1, 2)  # a view: scaling writes the NCHW copy
    return np.ascontiguousarray(scale_values(pixels, preprocessing, target, channels_first=nchw))
