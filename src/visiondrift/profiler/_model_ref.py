"""The model of a profiling run, as it travels to the chunks (no cache in the caller).

A run's model is a spec, or a model already loaded (a long-running process loads it once and
passes it to every run). :class:`ModelRef` carries it to the chunks: in the calling process it
holds the loaded model (shared by threads behind a lock); pickled to a worker process it holds
only the spec, and the worker loads the model once and keeps it for the later chunks of the same
model file (:data:`_WORKER_MODEL`, filled only in worker processes).

Imports: the standard library, numpy, :mod:`visiondrift.errors`; :mod:`visiondrift.models` only
when a model is used.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import NDArray

from visiondrift.errors import ConfigError

if TYPE_CHECKING:
    from visiondrift.models import Model, ModelInfo, ModelOutput, ModelSpec
    from visiondrift.models.preprocessing import InputTarget

__all__ = ["ModelLike", "ModelRef", "preload_runtime", "resolve_model"]

#: What the ``model`` option takes: a spec, a model file's path, or a loaded model.
ModelLike: TypeAlias = "ModelSpec | str | os.PathLike[str] | Model"

#: The model a worker process loaded for the run whose token it holds (one entry at most). It
#: is filled only where a :class:`_ModelRef` was unpickled, i.e. in worker processes: the
#: calling process never keeps a model between runs.
_WORKER_MODEL: dict[str, Model] = {}


class LockedModel:
    """A loaded model shared by threads: one ``predict`` at a time (LiteRT's interpreter is not
    thread-safe); decoding and measuring still run in parallel."""

    def __init__(self, model: Model) -> None:
        self._model = model
        self._lock = threading.Lock()

    @property
    def info(self) -> ModelInfo:
        return self._model.info

    @property
    def input_target(self) -> InputTarget:
        return self._model.input_target

    def predict(self, images: Sequence[NDArray[np.uint8]]) -> ModelOutput:
        with self._lock:
            return self._model.predict(images)


class ModelRef:
    """The model of a run as it travels to the chunks.

    In the calling process (serially, to threads, or to an executor that does not pickle) it
    carries the loaded model, or loads it on the first chunk and keeps it for the run. Pickled
    to another process it carries only the spec and a token naming the model file's state; that
    process loads the model on its first chunk and keeps it for the later chunks of the same
    token (a worker of a long-lived pool reloads only when the file changes).
    """

    def __init__(self, spec: ModelSpec, model: Model | None = None) -> None:
        self.spec = spec
        self.model: Model | None = None if model is None else LockedModel(model)
        self._lock: threading.Lock | None = threading.Lock()
        try:
            st = os.stat(spec.path)
            stamp = f"{st.st_size}:{st.st_mtime_ns}"
        except OSError:
            stamp = ""
        self.token = f"{json.dumps(spec.to_dict(), sort_keys=True, default=str)}@{stamp}"

    def __getstate__(self) -> dict[str, object]:
        return {"spec": self.spec, "token": self.token}  # a loaded model never crosses

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.spec = state["spec"]
        self.token = state["token"]
        self.model = None
        self._lock = None  # a copy in another process: the worker keeps the model

    def get(self) -> Model:
        if self.model is not None:
            return self.model
        if self._lock is not None:  # the run's own object, in the calling process
            with self._lock:
                if self.model is None:
                    self.model = LockedModel(self.spec.load())
                return self.model
        model = _WORKER_MODEL.get(self.token)
        if model is None:
            _WORKER_MODEL.clear()
            model = self.spec.load()
            _WORKER_MODEL[self.token] = model
        return model


def resolve_model(
    model: ModelLike | None, base: ModelSpec | None
) -> tuple[ModelSpec | None, Model | None]:
    """The spec to use and the loaded model if one was given.

    ``model`` is a spec, a path replacing ``base``'s path, or a loaded model carrying its spec
    (visiondrift's adapters do, as ``.spec``); else ``base``.
    """
    if model is None:
        return base, None
    from visiondrift.models import ModelSpec

    if isinstance(model, ModelSpec):
        return model, None
    if isinstance(model, str | os.PathLike):
        spec = ModelSpec(Path(model)) if base is None else replace(base, path=Path(model))
        return spec, None
    carried = getattr(model, "spec", None)
    if isinstance(carried, ModelSpec) and callable(getattr(model, "predict", None)):
        return carried, model
    raise ConfigError(
        "The 'model' option must be a ModelSpec, the path of an ONNX or TFLite model, or a "
        "model loaded with ModelSpec.load() (it carries its spec as .spec). "
        f"Got {type(model).__name__} instead."
    )


def preload_runtime(spec: ModelSpec) -> None:
    """Import the model's runtime in this process before the workers are forked.

    Importing onnxruntime and onnx (or LiteRT) takes a few tenths of a second; done once here,
    forked workers inherit the modules instead of each importing them again. Only modules are
    imported: each worker still opens its own session (a session must not cross a fork). A
    missing runtime is reported later, by the worker's load, with the usual message.
    """
    from visiondrift.errors import VisionDriftError

    try:
        if spec.resolved_format == "onnx":
            from visiondrift.models.onnx import import_onnx, import_onnxruntime

            import_onnxruntime()
            import_onnx()
        else:
            from visiondrift.models.tflite import import_interpreter

            import_interpreter()
    except (VisionDriftError, ImportError):
        return
