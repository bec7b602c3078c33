"""JPEG quality estimated from a file's quantisation tables (no pixels needed).

Encoders built on the IJG library (libjpeg, libjpeg-turbo, Pillow, OpenCV, most cameras' firmware
follows the same scheme) scale the standard luminance table of the JPEG specification (Annex K) by
``s = 5000 / Q`` for quality ``Q < 50`` and ``s = 200 - 2 Q`` above, in percent, each value
clamped to 1-255. The quality is the one whose scaled table has the total closest to the total of
the file's first (luminance) table; a total does not depend on the order in which the 64 values
are listed. Tables of other encoders give the IJG quality whose table is closest in total, which
still ranks compression strength correctly.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Final

__all__ = [
    "LOSSLESS_QUALITY",
    "header_segments",
    "quality_from_dqt",
    "quality_from_table",
    "quality_from_tables",
]

#: Quality given to files that carry no JPEG quantisation (PNG, BMP, TIFF, ...).
LOSSLESS_QUALITY: Final = 100.0

#: The standard luminance quantisation table (ITU T.81, Annex K.1), in natural order.
_STANDARD_LUMA: Final = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip


def _ijg_total(quality: int) -> int:
    """Sum of the standard luminance table as an IJG encoder scales it for ``quality``."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return sum(min(255, max(1, (v * scale + 50) // 100)) for v in _STANDARD_LUMA)


#: Table totals of the IJG qualities 1..100 (decreasing as quality rises).
_TOTALS: Final = tuple(_ijg_total(q) for q in range(1, 101))


def quality_from_table(table: Sequence[int]) -> float | None:
    """IJG quality (1-100) whose scaled standard table is closest in total to ``table``."""
    if len(table) != 64:
        return None
    total = sum(int(v) for v in table)
    if total <= 0:
        return None
    best = min(range(100), key=lambda k: (abs(_TOTALS[k] - total), k))
    return float(best + 1)


def quality_from_tables(tables: Mapping[int, Sequence[int]] | None) -> float | None:
    """Quality from Pillow's ``image.quantization`` (table 0 is the luminance table)."""
    if not tables:
        return None
    first = tables.get(0, next(iter(tables.values())))
    return quality_from_table(list(first))


#: Markers that stand alone (no length field): TEM and the restart markers RST0-RST7.
_STANDALONE_MARKERS: Final = frozenset({0x01, *range(0xD0, 0xD8)})
#: Start of scan and end of image: no header segment follows.
_END_OF_HEADER: Final = frozenset({0xDA, 0xD9})


def header_segments(data: bytes) -> Iterator[tuple[int, bytes]]:
    """The ``(marker, payload)`` segments of a JPEG file's header, up to the first scan.

    One walk serves every reader of the header (quantisation tables, EXIF orientation); it stops
    quietly at the first byte that is not a marker, or at a truncated segment.
    """
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in _STANDALONE_MARKERS:
            i += 2
            continue
        if marker in _END_OF_HEADER:
            return
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        yield marker, data[i + 4 : i + 2 + length]
        i += 2 + length


def quality_from_dqt(payload: bytes) -> float | None:
    """Quality from the first table of a DQT segment's payload."""
    if len(payload) < 65:
        return None
    precision = payload[0] >> 4
    size = 128 if precision else 64
    body = payload[1 : 1 + size]
    if len(body) < size:
        return None
    values = (
        [int.from_bytes(body[k : k + 2], "big") for k in range(0, 128, 2)]
        if precision
        else list(body)
    )
    return quality_from_table(values)
