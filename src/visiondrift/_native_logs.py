"""Keep the log lines that native libraries write straight to the process's stderr off it.

LiteRT's C++ core prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on file
descriptor 2 when an interpreter is created; no environment variable silences it (checked:
``TF_CPP_MIN_LOG_LEVEL`` does not). :func:`quiet_native_logs` points descriptor 2 at the null
device around such calls. The command line turns this on unless ``--verbose``; the library leaves
stderr alone by default.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["native_logs_shown", "quiet_native_logs", "set_native_logs"]

_state = {"show": True}


def set_native_logs(show: bool) -> None:
    """Show (``True``, the library's default) or hide native libraries' stderr lines."""
    _state["show"] = bool(show)


def native_logs_shown() -> bool:
    """Whether native libraries' stderr lines are currently let through."""
    return _state["show"]


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[None]:
    """Within the block, what native code writes to descriptor 2 goes nowhere (if hidden)."""
    if _state["show"]:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no descriptor 2 (a detached process): nothing to hide
        yield
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
