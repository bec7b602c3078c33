"""Robust decoding: any supported file to an 8-bit RGB Pillow image, or a reason it is unusable.

Every file is opened once. What cannot be used is reported with one of the
:data:`BAD_FILE_REASONS` and a human-readable detail, never raised: one bad image never stops a run.

Conversions to 8-bit RGB:

- EXIF orientation is applied (a photo taken in portrait mode is measured upright).
- GIF and other multi-frame files: the first frame.
- 16-bit greyscale (``I;16``) is scaled by 1/257 (65535 -> 255); 32-bit integer (``I``) likewise
  when its values exceed 255; float (``F``) is clipped to 0..255.
- CMYK, palette, greyscale, ``LA`` and ``RGBA`` go through Pillow's ``convert("RGB")``; alpha is
  dropped, as most training pipelines do.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from visiondrift.decode._jpeg import header_segments, quality_from_dqt, quality_from_tables
from visiondrift.decode._records import BadFile, DecodeLimits

try:  # libjpeg-turbo without Pillow's per-file overhead; optional
    import simplejpeg as _simplejpeg
except ImportError:  # pragma: no cover - exercised when the package is absent
    _simplejpeg = None

__all__ = [
    "SUPPORTED_FORMATS",
    "DecodedImage",
    "decode_image",
]

#: Pillow format names visiondrift reads. MPO is the multi-picture JPEG written by many cameras.
SUPPORTED_FORMATS: Final[frozenset[str]] = frozenset(
    {"JPEG", "MPO", "PNG", "BMP", "DIB", "GIF", "WEBP", "TIFF"}
)

_EXIF_ORIENTATION: Final = 0x0112


@dataclass(slots=True)
class DecodedImage:
    """A decoded image in 8-bit RGB, with what was known about the original file."""

    image: Image.Image
    format: str
    mode: str
    width: int
    height: int
    file_size: int
    frames: int
    #: JPEG quality estimated from the file's quantisation tables; ``None`` if not a JPEG.
    jpeg_quality: float | None = None


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im)
        if mode == "I" and int(arr.max(initial=0)) <= 255:
            scaled = np.clip(arr, 0, 255).astype(np.uint8)
        else:
            scaled = np.clip(np.rint(arr.astype(np.float32) / 257.0), 0, 255).astype(np.uint8)
        return Image.fromarray(scaled).convert("RGB")
    if mode == "F":
        arr = np.asarray(im)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


_JPEG_MAGIC: Final = b"\xff\xd8\xff"
#: EXIF orientation -> the transposition that displays the image upright (as exif_transpose).
_ORIENT: Final = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _jpeg_header(data: bytes) -> tuple[int, float | None]:
    """EXIF orientation (1 when absent) and quality (from the first quantisation table) of a
    JPEG, from one walk over its header segments."""
    orientation, quality = 1, None
    for marker, payload in header_segments(data):
        if marker == 0xE1 and orientation == 1 and payload[:6] == b"Exif\x00\x00":
            exif = Image.Exif()
            exif.load(payload[6:])
            orientation = int(exif.get(_EXIF_ORIENTATION, 1))
        elif marker == 0xDB and quality is None and len(payload) >= 65:
            quality = quality_from_dqt(payload)
    return orientation, quality


def _decode_jpeg_fast(
    handle: BinaryIO, name: str, file_size: int, limits: DecodeLimits
) -> DecodedImage | BadFile | None:
    """Decode a baseline or progressive JPEG with libjpeg-turbo through simplejpeg.

    Returns None when the file is not a JPEG, simplejpeg is not installed, or the file needs
    Pillow (CMYK or YCCK colour, or any decoding problem: Pillow then classifies the error).
    The pixels are identical to Pillow's (both use libjpeg-turbo); it is about 30% faster.
    """
    if _simplejpeg is None:
        return None
    try:
        if handle.read(3) != _JPEG_MAGIC:
            return None
        handle.seek(0)
        data = handle.read()
        height, width, colourspace, _ = _simplejpeg.decode_jpeg_header(data)
    except (OSError, ValueError):
        return None
    finally:
        handle.seek(0)
    if colourspace not in ("Gray", "YCbCr", "RGB"):
        return None
    if width * height > limits.max_pixels:
        return BadFile(
            name,
            "too_large",
            f"{width}x{height} = {width * height:,} pixels exceeds max_pixels="
            f"{limits.max_pixels:,}",
        )
    try:
        orientation, quality = _jpeg_header(data)
        rgb = Image.fromarray(_simplejpeg.decode_jpeg(data, colorspace="RGB"))
    except (ValueError, SyntaxError, OSError):
        return None  # truncated or corrupt: let Pillow say which
    if orientation in _ORIENT:
        rgb = rgb.transpose(_ORIENT[orientation])
    width, height = rgb.size
    if min(width, height) < limits.min_side:
        return BadFile(name, "too_small", f"{width}x{height} is below min_side={limits.min_side}")
    mode = "L" if colourspace == "Gray" else "RGB"
    return DecodedImage(rgb, "JPEG", mode, width, height, file_size, 1, quality)


def decode_image(
    path: str | os.PathLike[str] | bytes, name: str, limits: DecodeLimits = DecodeLimits()
) -> DecodedImage | BadFile:
    """Decode a file, or the bytes of one, into 8-bit RGB, or say why it cannot be used.

    Parameters
    ----------
    path
        File to read, or the file's content as ``bytes`` (from an upload, an object store...).
    name
        Name used in reports (relative to the source root).
    limits
        Size limits applied before decoding.
    """
    if isinstance(path, bytes | bytearray | memoryview):
        import io

        data = bytes(path)
        if not data:
            return BadFile(name, "empty", "0 bytes")
        with io.BytesIO(data) as buffer, _pillow_limit(limits.max_pixels):
            return _decode_open(buffer, name, len(data), limits)
    try:
        file_size = os.stat(path).st_size
    except OSError as err:
        return BadFile(name, "unreadable", f"{type(err).__name__}: {err.strerror or err}")
    if file_size == 0:
        return BadFile(name, "empty", "0 bytes")
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below, after Pillow is done with it
    except OSError as err:
        return BadFile(name, "unreadable", f"{type(err).__name__}: {err.strerror or err}")
    with handle, _pillow_limit(limits.max_pixels):
        return _decode_open(handle, name, file_size, limits)


@contextlib.contextmanager
def _pillow_limit(max_pixels: int) -> Iterator[None]:
    """Raise Pillow's own decompression-bomb limit to ``max_pixels`` while decoding.

    Pillow refuses images above twice ``Image.MAX_IMAGE_PIXELS``; visiondrift checks
    ``max_pixels`` itself, so a larger ``max_pixels`` must not be silently capped by Pillow's.
    """
    saved = Image.MAX_IMAGE_PIXELS
    if saved is None or max_pixels <= saved:
        yield
        return
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _decode_open(
    handle: BinaryIO, name: str, file_size: int, limits: DecodeLimits
) -> DecodedImage | BadFile:
    fast = _decode_jpeg_fast(handle, name, file_size, limits)
    if fast is not None:
        return fast
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check below replaces Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(handle) as im:
                fmt = im.format or "unknown"
                if fmt not in SUPPORTED_FORMATS:
                    return BadFile(
                        name,
                        "unsupported_format",
                        f"{fmt} files are not supported; convert them to PNG or JPEG",
                    )
                width, height = im.size
                if width * height > limits.max_pixels:
                    return BadFile(
                        name,
                        "too_large",
                        f"{width}x{height} = {width * height:,} pixels exceeds max_pixels="
                        f"{limits.max_pixels:,}",
                    )
                frames = int(getattr(im, "n_frames", 1))
                mode = im.mode
                im.load()
                oriented: Image.Image = im
                has_exif = fmt == "TIFF" or "exif" in im.info
                if has_exif and im.getexif().get(_EXIF_ORIENTATION, 1) in range(2, 9):
                    oriented = ImageOps.exif_transpose(im)
                rgb = _to_rgb(oriented)
                width, height = rgb.size
                if min(width, height) < limits.min_side:
                    return BadFile(
                        name,
                        "too_small",
                        f"{width}x{height} is below min_side={limits.min_side}",
                    )
                quality = quality_from_tables(getattr(im, "quantization", None))
                return DecodedImage(rgb, fmt, mode, width, height, file_size, frames, quality)
    except UnidentifiedImageError:
        return BadFile(name, "not_an_image", "no image format recognised the file's content")
    except Image.DecompressionBombError as err:
        return BadFile(name, "too_large", str(err))
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        text = str(err)
        if "truncated" in text or "broken data stream" in text or isinstance(err, EOFError):
            return BadFile(name, "truncated", text or type(err).__name__)
        return BadFile(name, "decode_error", f"{type(err).__name__}: {text}")
    except MemoryError as err:
        return BadFile(name, "too_large", f"out of memory while decoding: {err}")
