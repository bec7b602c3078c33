"""Atomic file writes: write to a temporary file in the same folder, then rename."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from visiondrift.errors import OutputFileError

__all__ = ["first_non_finite", "write_bytes_atomic", "write_json_atomic", "write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    return _write_atomic(path, text, "w")


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half."""
    return _write_atomic(path, data, "wb")


def _write_atomic(path: str | os.PathLike[str], content: str | bytes, mode: str) -> Path:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise OutputFileError(
            f"Cannot write '{target}': {err.strerror or err}. Choose a folder you can write to."
        ) from err
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise OutputFileError(
                f"Cannot write '{target}': {err.strerror or err}. Check the folder's permissions "
                "and free space."
            ) from err
        raise
    return target


def write_json_atomic(
    path: str | os.PathLike[str], data: Any, *, indent: int | None = None
) -> Path:
    """Serialise ``data`` as JSON (NaN and infinities are refused) and write it atomically."""
    return write_text_atomic(path, json.dumps(data, indent=indent, allow_nan=False) + "\n")


def first_non_finite(data: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinite number in a JSON document, or ``None``.

    visiondrift never writes such numbers (see :func:`write_json_atomic`), so a document that
    holds one was edited or damaged.
    """
    if isinstance(data, float):
        return None if math.isfinite(data) else (path or "<document>")
    if isinstance(data, dict):
        items: Any = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    for key, value in items:
        found = first_non_finite(value, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None
