"""Profiling: a source of images in, one merged :class:`~visiondrift.profiles.Profile` out.

Owns the run (:mod:`._run`): it consumes a source as a stream, cuts it into chunks, maps the one
public chunk function :func:`profile_chunk` (:mod:`._chunk`: items in, partial profile out) over
them with an injected executor (:mod:`._executors`: the default process pool, any
``concurrent.futures.Executor``, a Dask client), and merges the partial profiles; and the run's
model (:mod:`._model_ref`: a path, a :class:`~visiondrift.models.ModelSpec` or an already loaded
model, loaded once per run).

May import :mod:`visiondrift.sources`, :mod:`visiondrift.decode`, :mod:`visiondrift.measure`,
:mod:`visiondrift.models`, :mod:`visiondrift.profiles` and :mod:`visiondrift.names`; nothing of
drift, reports, the application core or the CLI.
"""

from __future__ import annotations

from visiondrift.profiler._run import (
    SERIAL_THRESHOLD,
    ChunkExecutor,
    ChunkFuture,
    ModelLike,
    ProgressCallback,
    default_workers,
    model_description,
    profile,
    profile_chunk,
    profile_items,
)

__all__ = [
    "SERIAL_THRESHOLD",
    "ChunkExecutor",
    "ChunkFuture",
    "ModelLike",
    "ProgressCallback",
    "default_workers",
    "model_description",
    "profile",
    "profile_chunk",
    "profile_items",
]
