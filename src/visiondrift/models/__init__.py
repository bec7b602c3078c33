"""Model adapters: run the user's ONNX or TFLite classifier on decoded images.

Build a :class:`ModelSpec` (picklable), send it to each worker process and call
:meth:`ModelSpec.load` there once; :meth:`Model.predict` then turns batches of RGB ``uint8``
images into class probabilities (and an optional embedding)::

    spec = ModelSpec(Path("classifier.onnx"), Preprocessing(scaling="imagenet"))
    model = spec.load()                      # once per process
    out = model.predict([image_a, image_b])  # out.probabilities: (2, num_classes)

onnxruntime and LiteRT are optional extras, imported only when a model of that format is loaded.

The settings (:class:`ModelSpec`, :class:`Preprocessing`) and the result types import eagerly and
without Pillow or a runtime, since a saved profile holds them; the adapters (:class:`OnnxModel`,
:class:`TFLiteModel`, :func:`describe_model`) are imported on first use. May import numpy,
:mod:`visiondrift.errors`, :mod:`visiondrift._native_logs` and (lazily) Pillow, onnxruntime and
LiteRT; nothing from the profile, drift or report layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from visiondrift._lazy import lazy_attributes
from visiondrift.models._base import (
    Model,
    ModelFormat,
    ModelInfo,
    ModelOutput,
    Quantization,
    TensorInfo,
)
from visiondrift.models.outputs import Activation, softmax, to_probabilities
from visiondrift.models.preprocessing import Preprocessing
from visiondrift.models.projection import EmbeddingProjection
from visiondrift.models.spec import ModelSpec, detect_format

if TYPE_CHECKING:
    from visiondrift.models.inspect import describe_model
    from visiondrift.models.onnx import OnnxModel
    from visiondrift.models.tflite import TFLiteModel

__all__ = [
    "Activation",
    "EmbeddingProjection",
    "Model",
    "ModelFormat",
    "ModelInfo",
    "ModelOutput",
    "ModelSpec",
    "OnnxModel",
    "Preprocessing",
    "Quantization",
    "TFLiteModel",
    "TensorInfo",
    "describe_model",
    "detect_format",
    "softmax",
    "to_probabilities",
]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "OnnxModel": "visiondrift.models.onnx",
        "TFLiteModel": "visiondrift.models.tflite",
        "describe_model": "visiondrift.models.inspect",
    },
    __all__,
)
