"""Run TFLite models with LiteRT (``ai-edge-litert``, the ``tflite`` extra).

The image input is read from the model: layout (NHWC, or NCHW when the channel dimension comes
first), size, channels, dtype and quantisation (scale and zero point of uint8 / int8 tensors).
Inputs whose batch dimension is dynamic (``shape_signature`` -1) are resized to each batch;
models with a fixed batch run one chunk of that size at a time. The embedding is a named output,
or any named intermediate tensor (the interpreter then keeps every tensor).

Class names come from the labels option, else from a labels file packed into the model as
TFLite metadata (an "associated file": the ``.tflite`` file is then also a zip archive).
"""

from __future__ import annotations

import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from visiondrift._native_logs import quiet_native_logs
from visiondrift.errors import MissingExtraError, ModelError
from visiondrift.models._adapter import BaseAdapter, Signature, check_model_file
from visiondrift.models._base import Quantization, TensorInfo
from visiondrift.models.outputs import parse_names

if TYPE_CHECKING:
    from visiondrift.models.spec import ModelSpec

__all__ = ["TFLiteModel", "read_tflite_signature"]

_MISSING = "Reading TFLite models needs the 'tflite' extra: pip install 'visiondrift[tflite]'"
_NOT_A_MODEL_HINTS = ("model identifier", "Could not open", "not a valid Flatbuffer", "Invalid")
_UNSUPPORTED_OP_HINTS = ("unresolved custom op", "Didn't find op", "Unsupported", "not supported")


def import_interpreter() -> Any:
    """LiteRT's ``Interpreter`` class, or a :class:`MissingExtraError` naming the extra."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as err:
        raise MissingExtraError(_MISSING) from err
    return Interpreter


def _open(path: Path, num_threads: int, keep_all_tensors: bool) -> Any:
    interpreter_class = import_interpreter()
    try:
        with warnings.catch_warnings(), quiet_native_logs():
            # Keeping intermediates is how a non-output embedding is read; LiteRT warns that the
            # option is meant for debugging, which is expected here.
            warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors")
            interpreter = interpreter_class(
                model_path=str(path),
                num_threads=num_threads,
                experimental_preserve_all_tensors=keep_all_tensors,
            )
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as err:
        message = str(err).strip().rstrip(".")
        if any(hint in message for hint in _UNSUPPORTED_OP_HINTS):
            raise ModelError(
                f"Model {path} uses an operator that LiteRT cannot run: {message}. Convert the "
                "model with TFLite builtin operators only (no custom or Select TF ops)."
            ) from err
        if any(hint in message for hint in _NOT_A_MODEL_HINTS):
            raise ModelError(
                f"File {path} is not a TFLite model: {message}. Give the .tflite file produced "
                "by the TFLite converter (or format='onnx' for an ONNX file)."
            ) from err
        raise ModelError(f"LiteRT cannot load model {path}: {message}") from err
    return interpreter


def _tensor_info(details: Mapping[str, Any]) -> TensorInfo:
    signature = details.get("shape_signature")
    dims = signature if signature is not None and len(signature) else details["shape"]
    shape = tuple(int(d) if int(d) > 0 else None for d in dims)
    scale, zero_point = details.get("quantization", (0.0, 0))
    quant = Quantization(float(scale), int(zero_point)) if scale else None
    return TensorInfo(str(details["name"]), shape, np.dtype(details["dtype"]).name, quant)


def associated_labels(path: Path) -> tuple[str, ...] | None:
    """Class names from a labels file packed into a TFLite model's metadata, when there is one."""
    if not zipfile.is_zipfile(path):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith((".txt", ".json"))]
            names.sort(key=lambda n: ("label" not in n.lower(), n))
            for name in names:
                text = archive.read(name).decode("utf-8", errors="replace")
                labels = parse_names(text)
                if labels:
                    return labels
    except (zipfile.BadZipFile, OSError, KeyError):
        return None
    return None


def _signature(interpreter: Any, path: Path) -> Signature:
    return Signature(
        inputs=tuple(_tensor_info(d) for d in interpreter.get_input_details()),
        outputs=tuple(_tensor_info(d) for d in interpreter.get_output_details()),
        metadata_labels=associated_labels(path),
    )


def read_tflite_signature(path: str | Path) -> Signature:
    """Inputs, outputs and packed labels of a TFLite model, as declared in the file."""
    file = Path(path)
    check_model_file(file)
    return _signature(_open(file, 1, keep_all_tensors=False), file)


class TFLiteModel(BaseAdapter):
    """A TFLite model run by the LiteRT interpreter.

    Parameters
    ----------
    spec
        What to load and how to preprocess; :meth:`ModelSpec.load` is the usual way in.
    """

    format = "tflite"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        path = spec.path
        check_model_file(path)
        interpreter = _open(path, spec.num_threads, keep_all_tensors=False)
        signature = _signature(interpreter, path)
        output_names = [t.name for t in signature.outputs]
        if spec.embedding is not None and spec.embedding not in output_names:
            # An intermediate tensor: reopen keeping every tensor so it can be read after invoke.
            tensors = {d["name"]: d for d in interpreter.get_tensor_details()}
            if spec.embedding not in tensors:
                raise ModelError(
                    f"Model {path} has no tensor named '{spec.embedding}' for the embedding. Its "
                    f"outputs are: {', '.join(output_names)}. Fix the 'embedding' option."
                )
            interpreter = _open(path, spec.num_threads, keep_all_tensors=True)
            extra = _tensor_info(tensors[spec.embedding])
            signature = Signature(
                signature.inputs, (*signature.outputs, extra), {}, signature.metadata_labels
            )
        self._interpreter = interpreter
        self._setup(signature, default_layout="NHWC")
        tensor_index = {d["name"]: d["index"] for d in interpreter.get_tensor_details()}
        self._input_index = int(interpreter.get_input_details()[0]["index"])
        self._output_index = int(tensor_index[self.info.output])
        self._embedding_index = (
            int(tensor_index[spec.embedding]) if spec.embedding is not None else None
        )
        self._current_shape: tuple[int, ...] = tuple(
            int(d) for d in interpreter.get_input_details()[0]["shape"]
        )
        self._ensure_shape(self._input_shape_for(self._fixed_batch or 1))

    def _ensure_shape(self, shape: tuple[int, ...]) -> None:
        if shape == self._current_shape:
            return
        try:
            self._interpreter.resize_tensor_input(self._input_index, list(shape), strict=True)
            self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ModelError(
                f"LiteRT cannot resize the input of model {self.spec.path} to {list(shape)}: "
                f"{err}. Set the 'size' preprocessing option to the model's own size."
            ) from err
        self._current_shape = shape

    def _run(
        self, batch: NDArray[np.generic]
    ) -> tuple[NDArray[np.generic], NDArray[np.generic] | None]:
        self._ensure_shape(tuple(int(d) for d in batch.shape))
        interpreter = self._interpreter
        try:
            interpreter.set_tensor(self._input_index, batch)
            interpreter.invoke()
            scores = np.asarray(interpreter.get_tensor(self._output_index))
            embedding = (
                np.asarray(interpreter.get_tensor(self._embedding_index))
                if self._embedding_index is not None
                else None
            )
        except (ValueError, RuntimeError) as err:
            raise ModelError(
                f"LiteRT failed to run model {self.spec.path} on a batch of shape "
                f"{list(batch.shape)} {batch.dtype}: {err}"
            ) from err
        return scores, embedding
