"""Run ONNX models with onnxruntime (the ``onnx`` extra).

The image input is read from the model: layout (NCHW or NHWC, from where the 1- or 3-channel
dimension is), size, channels and dtype. Integer inputs and outputs take their quantisation from a
``DequantizeLinear`` consuming the input or a ``QuantizeLinear`` producing the output, when there
is one. An embedding is any named intermediate tensor: it is appended to the graph outputs with
the ``onnx`` package and the session is created from the modified model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from visiondrift.errors import MissingExtraError, ModelError
from visiondrift.models._adapter import BaseAdapter, Signature, check_model_file
from visiondrift.models._base import Quantization, TensorInfo
from visiondrift.models.outputs import labels_from_metadata

if TYPE_CHECKING:
    from visiondrift.models.spec import ModelSpec

__all__ = ["OnnxModel", "read_onnx_signature"]

_MISSING = "Reading ONNX models needs the 'onnx' extra: pip install 'visiondrift[onnx]'"
_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(bool)": "bool",
}
_UNSUPPORTED_OP_HINTS = (
    "Could not find an implementation",
    "is not a registered function/op",
    "No opset import for domain",
    "No Op registered",
    "Unsupported",
)
_LOG_ERRORS_ONLY = 3


def import_onnxruntime() -> Any:
    """The ``onnxruntime`` module, or a :class:`MissingExtraError` naming the extra."""
    try:
        import onnxruntime
    except ImportError as err:
        raise MissingExtraError(_MISSING) from err
    return onnxruntime


def import_onnx() -> Any:
    """The ``onnx`` module, or a :class:`MissingExtraError` naming the extra."""
    try:
        import onnx
    except ImportError as err:
        raise MissingExtraError(_MISSING) from err
    return onnx


def _load_proto(path: Path) -> Any:
    onnx = import_onnx()
    try:
        return onnx.load(str(path))
    except Exception as err:  # protobuf raises its own DecodeError, onnx raises others
        raise ModelError(
            f"File {path} is not an ONNX model: it cannot be parsed as an ONNX protobuf ({err}). "
            "Give the .onnx file exported from your framework."
        ) from err


def _session(path: Path, content: bytes | None, num_threads: int) -> Any:
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = num_threads
    options.inter_op_num_threads = 1
    options.log_severity_level = _LOG_ERRORS_ONLY
    source: str | bytes = content if content is not None else str(path)
    try:
        return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime's pybind errors share no useful base class
        message = str(err).strip().rstrip(".")
        if "INVALID_PROTOBUF" in message or "protobuf parsing failed" in message:
            raise ModelError(
                f"File {path} is not an ONNX model: onnxruntime cannot parse it. Give the .onnx "
                "file exported from your framework (or format='tflite' for a TFLite file)."
            ) from err
        if any(hint in message for hint in _UNSUPPORTED_OP_HINTS):
            raise ModelError(
                f"Model {path} uses an operator that onnxruntime {ort.__version__} cannot run: "
                f"{message.strip()}. Re-export the model with standard ONNX operators (a lower "
                "opset), or install an onnxruntime build that has the operator."
            ) from err
        raise ModelError(f"onnxruntime cannot load model {path}: {message.strip()}") from err


def _dims(shape: Sequence[object] | None) -> tuple[int | None, ...]:
    if shape is None:
        return ()
    return tuple(d if isinstance(d, int) and d > 0 else None for d in shape)


def _dtype(ort_type: str) -> str:
    return _ORT_DTYPES.get(ort_type, ort_type.removeprefix("tensor(").removesuffix(")"))


def _initializer_value(proto: Any, name: str) -> NDArray[Any] | None:
    from onnx import numpy_helper

    for init in proto.graph.initializer:
        if init.name == name:
            return np.asarray(numpy_helper.to_array(init))
    for node in proto.graph.node:
        if node.op_type == "Constant" and node.output and node.output[0] == name:
            for attr in node.attribute:
                if attr.name == "value":
                    return np.asarray(numpy_helper.to_array(attr.t))
    return None


def _quantization(proto: Any, name: str, is_input: bool) -> Quantization | None:
    """Per-tensor quantisation from the Q/DQ node next to an integer input or output."""
    for node in proto.graph.node:
        if is_input:
            match = node.op_type == "DequantizeLinear" and node.input and node.input[0] == name
        else:
            match = node.op_type == "QuantizeLinear" and node.output and node.output[0] == name
        if not match or len(node.input) < 2:
            continue
        scale = _initializer_value(proto, node.input[1])
        zero = _initializer_value(proto, node.input[2]) if len(node.input) > 2 else None
        if scale is None or scale.size != 1 or (zero is not None and zero.size != 1):
            return None
        return Quantization(
            float(scale.reshape(())), int(zero.reshape(())) if zero is not None else 0
        )
    return None


def _add_output(proto: Any, name: str, path: Path) -> bytes:
    """The model with the intermediate tensor ``name`` appended to its outputs."""
    onnx = import_onnx()
    graph = proto.graph
    if any(o.name == name for o in graph.output):
        return bytes(proto.SerializeToString())
    produced = [out for node in graph.node for out in node.output if out]
    if name not in produced:
        sample = ", ".join(produced[-20:])
        raise ModelError(
            f"Model {path} has no tensor named '{name}' for the embedding. Some of its tensors "
            f"(the last ones computed): {sample}. Fix the 'embedding' option; "
            "`visiondrift inspect-model` lists the outputs."
        )
    value_info = None
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
        value_info = next((v for v in inferred.graph.value_info if v.name == name), None)
    except Exception:  # shape inference is best effort; fall back to an untyped float output
        value_info = None
    if value_info is None:
        value_info = onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
    graph.output.append(value_info)
    return bytes(proto.SerializeToString())


def _signature(session: Any, proto: Any | None, hidden: Sequence[str] = ()) -> Signature:
    def info(arg: Any, is_input: bool) -> TensorInfo:
        dtype = _dtype(arg.type)
        quant = None
        if proto is not None and dtype in ("uint8", "int8"):
            quant = _quantization(proto, arg.name, is_input)
        return TensorInfo(arg.name, _dims(arg.shape), dtype, quant)

    metadata = dict(session.get_modelmeta().custom_metadata_map)
    return Signature(
        inputs=tuple(info(a, True) for a in session.get_inputs()),
        outputs=tuple(info(a, False) for a in session.get_outputs() if a.name not in hidden),
        metadata=metadata,
        metadata_labels=labels_from_metadata(metadata),
    )


def _has_integer_io(session: Any) -> bool:
    args = [*session.get_inputs(), *session.get_outputs()]
    return any(_dtype(a.type) in ("uint8", "int8") for a in args)


def read_onnx_signature(path: str | Path) -> Signature:
    """Inputs, outputs and metadata of an ONNX model, as declared in the file."""
    file = Path(path)
    check_model_file(file)
    session = _session(file, None, 1)
    proto = _load_proto(file) if _has_integer_io(session) else None
    return _signature(session, proto)


class OnnxModel(BaseAdapter):
    """An ONNX model run by onnxruntime on the CPU.

    Parameters
    ----------
    spec
        What to load and how to preprocess; :meth:`ModelSpec.load` is the usual way in.
    """

    format = "onnx"

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__(spec)
        path = spec.path
        check_model_file(path)
        import_onnxruntime()
        proto = None
        content = None
        if spec.embedding is not None:
            proto = _load_proto(path)
            content = _add_output(proto, spec.embedding, path)
        self._session = _session(path, content, spec.num_threads)
        if proto is None and _has_integer_io(self._session):
            proto = _load_proto(path)
        signature = _signature(self._session, proto)
        self._input_name = signature.inputs[0].name if signature.inputs else ""
        self._setup(signature, default_layout="NCHW")
        self._fetch = [self.info.output]
        if spec.embedding is not None:
            self._fetch.append(spec.embedding)

    def _run(
        self, batch: NDArray[np.generic]
    ) -> tuple[NDArray[np.generic], NDArray[np.generic] | None]:
        try:
            results = self._session.run(self._fetch, {self._input_name: batch})
        except Exception as err:  # onnxruntime's pybind errors share no useful base class
            raise ModelError(
                f"onnxruntime failed to run model {self.spec.path} on a batch of shape "
                f"{list(batch.shape)} {batch.dtype}: {err}"
            ) from err
        embedding = np.asarray(results[1]) if len(results) > 1 else None
        return np.asarray(results[0]), embedding
