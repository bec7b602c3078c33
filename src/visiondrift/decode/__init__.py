"""Decoding: a file (or its bytes) to an 8-bit RGB image, or the reason it cannot be used.

Owns the decoder (:func:`decode_image`, :class:`DecodedImage`, in :mod:`._image`, which uses
Pillow and, when installed, simplejpeg) and the plain records of what decoding reports
(:class:`BadFile`, :data:`BAD_FILE_REASONS`, :class:`DecodeLimits`, in :mod:`._records`).

Importing this package does not import Pillow: the records are imported eagerly (a saved
profile holds them), the decoder on first use. May import :mod:`visiondrift.errors`,
:mod:`visiondrift.decode._jpeg` and the standard library; nothing from the profile, drift or report
layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondrift._lazy import lazy_attributes
from visiondrift.decode._records import BAD_FILE_REASONS, BadFile, BadFileReason, DecodeLimits

if TYPE_CHECKING:
    from visiondrift.decode._image import SUPPORTED_FORMATS, DecodedImage, decode_image

__all__ = [
    "BAD_FILE_REASONS",
    "SUPPORTED_FORMATS",
    "BadFile",
    "BadFileReason",
    "DecodeLimits",
    "DecodedImage",
    "decode_image",
]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    dict.fromkeys(
        ("SUPPORTED_FORMATS", "DecodedImage", "decode_image"), "visiondrift.decode._image"
    ),
    __all__,
)
