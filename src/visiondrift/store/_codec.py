"""How documents are kept in the store: compact JSON, zlib-compressed; content hashes."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from typing import Any

__all__ = ["bad_counts_of_report", "content_hash", "pack", "unpack"]

#: zlib level. A profile is mostly numbers: level 1 shrinks a 1,000-image profile's 400 KB of
#: JSON to 174 KB in 3 ms, zlib's default (6) to 162 KB in 17 ms, which was a third of the time
#: the store added to a monitor run (benchmarks/store_speed.py).
COMPRESSION_LEVEL = 1


def canonical(document: Mapping[str, Any]) -> bytes:
    """The document as compact JSON with sorted keys (the same content gives the same bytes)."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def content_hash(document: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of the document's canonical JSON."""
    return hashlib.sha256(canonical(document)).hexdigest()


def pack(document: Mapping[str, Any]) -> bytes:
    """The document as stored: compact JSON, zlib-compressed.

    Its keys are not sorted (a third of the time of encoding a profile): the stored bytes are
    never hashed, :func:`content_hash` encodes canonically on its own.
    """
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return zlib.compress(text.encode("utf-8"), COMPRESSION_LEVEL)


def unpack(blob: bytes) -> Any:
    """A stored document, decompressed and parsed."""
    return json.loads(zlib.decompress(bytes(blob)).decode("utf-8"))


def bad_counts_of_report(blob: bytes) -> dict[str, int]:
    """The batch's bad-file counts by reason, read from a stored report."""
    data = unpack(blob)
    counts = data.get("current", {}).get("bad_counts", {})
    return {str(k): int(v) for k, v in counts.items() if int(v) > 0}
