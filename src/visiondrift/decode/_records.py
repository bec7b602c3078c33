"""What decoding reports, as plain data: unusable files, their reasons, and the decoding limits.

Owns :class:`BadFile`, :data:`BAD_FILE_REASONS` and :class:`DecodeLimits`. A saved profile holds
these, so this module imports only the standard library: reading a profile must not import
Pillow or the decoders (they live in :mod:`visiondrift.decode._image`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from visiondrift._defaults import DEFAULTS

__all__ = ["BAD_FILE_REASONS", "BadFile", "BadFileReason", "DecodeLimits"]

BadFileReason = Literal[
    "empty",
    "unreadable",
    "not_an_image",
    "unsupported_format",
    "truncated",
    "too_large",
    "too_small",
    "decode_error",
    "measure_error",
    "bad_row",
]

#: Every reason a file can be rejected, with the sentence used in reports.
BAD_FILE_REASONS: Final[dict[str, str]] = {
    "empty": "the file is empty (0 bytes)",
    "unreadable": "the file cannot be opened (missing, permissions or I/O error)",
    "not_an_image": "the file is not an image in any format Pillow knows",
    "unsupported_format": "the image format is not one visiondrift reads",
    "truncated": "the image data is truncated or corrupt",
    "too_large": "the image has more pixels than the configured limit (decompression bomb guard)",
    "too_small": "the image is smaller than the configured minimum side",
    "decode_error": "the image could not be decoded",
    "measure_error": "a registered per-image metric failed on the image",
    "bad_row": "a row of a predictions file could not be used",
}


@dataclass(frozen=True)
class DecodeLimits:
    """Limits applied before decoding.

    Parameters
    ----------
    max_pixels
        Files with more pixels are rejected as ``too_large`` before their data is decoded (the
        guard against decompression bombs). The default is Pillow's own limit.
    min_side
        Images whose shorter side is below this are rejected as ``too_small``.
    """

    max_pixels: int = DEFAULTS.profile.decode.max_pixels
    min_side: int = DEFAULTS.profile.decode.min_side

    def to_dict(self) -> dict[str, int]:
        return {"max_pixels": self.max_pixels, "min_side": self.min_side}


@dataclass(frozen=True, slots=True)
class BadFile:
    """A file that could not be used, with the reason and the detail."""

    name: str
    reason: BadFileReason
    detail: str
