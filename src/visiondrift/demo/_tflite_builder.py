"""Write small TFLite models without TensorFlow, using the schema module shipped in LiteRT.

Used by the tests and by the demo model to export the same weights as ONNX and as TFLite.
:class:`TFLiteGraph` is a minimal writer (tensors, buffers, builtin or custom operators, one
subgraph); :func:`dense_classifier_tflite` builds a multilayer perceptron classifier on an image
input with it. A labels file can be packed into the model the way TFLite metadata packs
associated files: as a zip archive appended to the flatbuffer.
"""

from __future__ import annotations

import importlib
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift.models.tflite import import_interpreter

__all__ = ["DenseLayer", "TFLiteGraph", "dense_classifier_tflite"]

_FILE_IDENTIFIER = b"TFL3"
_SCHEMA_VERSION = 3
_BUFFER_ALIGNMENT = 16
_DTYPES: dict[str, str] = {
    "float32": "FLOAT32",
    "float16": "FLOAT16",
    "int32": "INT32",
    "uint8": "UINT8",
    "int64": "INT64",
    "int8": "INT8",
}
_OPTIONS: dict[str, str] = {
    "FULLY_CONNECTED": "FullyConnectedOptions",
    "SOFTMAX": "SoftmaxOptions",
    "CAST": "CastOptions",
    "RESHAPE": "ReshapeOptions",
}


def _schema() -> Any:
    import_interpreter()  # a clear MissingExtraError when LiteRT is absent
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _aligned_buffer(schema: Any, payload: bytes) -> Any:
    """A ``BufferT`` whose bytes start on a 16-byte boundary (kernels read them in place)."""

    class AlignedBuffer(schema.BufferT):  # type: ignore[misc]
        def Pack(self, builder: Any) -> Any:
            builder.StartVector(1, len(payload), _BUFFER_ALIGNMENT)
            builder.head = builder.head - len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            builder.vectorNumElems = len(payload)
            data = builder.EndVector()
            schema.BufferStart(builder)
            schema.BufferAddData(builder, data)
            return schema.BufferEnd(builder)

    return AlignedBuffer()


@dataclass
class TFLiteGraph:
    """A one-subgraph TFLite model under construction.

    Examples
    --------
    >>> import numpy as np
    >>> g = TFLiteGraph()
    >>> x = g.tensor("x", [1, 4], "float32", signature=[-1, 4])
    >>> y = g.tensor("y", [1, 4], "float32", signature=[-1, 4])
    >>> g.operator("SOFTMAX", [x], [y], beta=1.0)
    >>> len(g.to_bytes(inputs=[x], outputs=[y])) > 0
    True
    """

    _tensors: list[Any] = field(default_factory=list)
    _buffers: list[Any] = field(default_factory=list)
    _operators: list[Any] = field(default_factory=list)
    _opcodes: list[tuple[int, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._schema = _schema()
        self._buffers.append(self._schema.BufferT())  # buffer 0: the empty sentinel

    def tensor(
        self,
        name: str,
        shape: Sequence[int],
        dtype: str,
        data: NDArray[Any] | None = None,
        quantization: tuple[float, int] | None = None,
        signature: Sequence[int] | None = None,
    ) -> int:
        """Add a tensor (a constant when ``data`` is given) and return its index."""
        schema = self._schema
        t = schema.TensorT()
        t.name = name
        t.shape = [int(d) for d in shape]
        t.type = getattr(schema.TensorType, _DTYPES[dtype])
        if signature is not None:
            t.shapeSignature = [int(d) for d in signature]
        if data is not None:
            array = np.ascontiguousarray(data, dtype=np.dtype(dtype))
            self._buffers.append(_aligned_buffer(schema, array.tobytes()))
            t.buffer = len(self._buffers) - 1
        else:
            t.buffer = 0
        if quantization is not None:
            q = schema.QuantizationParametersT()
            q.scale = [float(quantization[0])]
            q.zeroPoint = [int(quantization[1])]
            t.quantization = q
        self._tensors.append(t)
        return len(self._tensors) - 1

    def _opcode(self, op: str, custom: str | None) -> int:
        schema = self._schema
        code = getattr(schema.BuiltinOperator, op)
        key = (code, custom)
        if key not in self._opcodes:
            self._opcodes.append(key)
        return self._opcodes.index(key)

    def operator(
        self,
        op: str,
        inputs: Sequence[int],
        outputs: Sequence[int],
        custom_code: str | None = None,
        **options: Any,
    ) -> None:
        """Add a builtin operator (``"FULLY_CONNECTED"``, ``"SOFTMAX"``...) or a custom one.

        ``options`` set the attributes of the operator's options table, e.g.
        ``fusedActivationFunction=1`` (ReLU) for ``FULLY_CONNECTED``.
        """
        schema = self._schema
        o = schema.OperatorT()
        o.opcodeIndex = self._opcode(op, custom_code)
        o.inputs = list(inputs)
        o.outputs = list(outputs)
        if op in _OPTIONS:
            name = _OPTIONS[op]
            table = getattr(schema, f"{name}T")()
            for key, value in options.items():
                setattr(table, key, value)
            o.builtinOptionsType = getattr(schema.BuiltinOptions, name)
            o.builtinOptions = table
        self._operators.append(o)

    def to_bytes(
        self,
        inputs: Sequence[int],
        outputs: Sequence[int],
        associated_files: Mapping[str, str] | None = None,
        description: str = "visiondrift test model",
    ) -> bytes:
        """The serialised model; ``associated_files`` are packed as an appended zip archive."""
        flatbuffers = importlib.import_module("flatbuffers")  # ships with ai-edge-litert
        schema = self._schema
        subgraph = schema.SubGraphT()
        subgraph.tensors = self._tensors
        subgraph.inputs = list(inputs)
        subgraph.outputs = list(outputs)
        subgraph.operators = self._operators
        subgraph.name = "main"
        codes = []
        for code, custom in self._opcodes:
            oc = schema.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.customCode = custom
            oc.version = 1
            codes.append(oc)
        model = schema.ModelT()
        model.version = _SCHEMA_VERSION
        model.operatorCodes = codes
        model.subgraphs = [subgraph]
        model.buffers = self._buffers
        model.description = description
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=_FILE_IDENTIFIER)
        content = bytes(builder.Output())
        if associated_files:
            archive = io.BytesIO()
            with zipfile.ZipFile(archive, "w") as zf:
                for name, text in associated_files.items():
                    zf.writestr(name, text)
            content += archive.getvalue()
        return content


@dataclass(frozen=True)
class DenseLayer:
    """One fully connected layer: ``y = x @ weights + bias``, ``weights`` of shape (in, out)."""

    weights: NDArray[np.float32]
    bias: NDArray[np.float32]
    relu: bool = False


def dense_classifier_tflite(
    layers: Sequence[DenseLayer],
    input_shape: Sequence[int],
    *,
    input_dtype: Literal["float32", "uint8", "int8"] = "float32",
    input_quantization: tuple[float, int] | None = None,
    output: Literal["probabilities", "logits", "sigmoid"] = "probabilities",
    output_quantization: tuple[float, int] | None = None,
    dynamic_batch: bool = True,
    input_name: str = "image",
    output_name: str = "probabilities",
    hidden_names: Sequence[str] = (),
    extra_outputs: Sequence[str] = (),
    labels: Sequence[str] | None = None,
) -> bytes:
    """A TFLite multilayer perceptron on an image input.

    The image (``input_shape`` including the batch of 1) is flattened in memory order by the
    first ``FULLY_CONNECTED``; a ``uint8`` input without quantisation is cast to float, a
    quantised one is dequantised. ``hidden_names`` name the outputs of all layers but the last;
    ``extra_outputs`` lists which of them are also model outputs. ``output_quantization``
    quantises the final output to ``uint8``.
    """
    g = TFLiteGraph()

    def sig(shape: Sequence[int]) -> list[int] | None:
        return [-1, *shape[1:]] if dynamic_batch else None

    shape = [int(d) for d in input_shape]
    x = g.tensor(
        input_name, shape, input_dtype, quantization=input_quantization, signature=sig(shape)
    )
    first = x
    if input_dtype != "float32":
        xf = g.tensor(f"{input_name}_float", shape, "float32", signature=sig(shape))
        if input_quantization is None:
            g.operator("CAST", [x], [xf])
        else:
            g.operator("DEQUANTIZE", [x], [xf])
        x = xf
    named: dict[str, int] = {}
    for i, layer in enumerate(layers):
        w = np.asarray(layer.weights, dtype=np.float32)
        out_dim = w.shape[1]
        last = i == len(layers) - 1
        name = (
            ("logits" if output != "logits" else output_name)
            if last
            else (hidden_names[i] if i < len(hidden_names) else f"dense_{i}")
        )
        wt = g.tensor(f"{name}/weights", [out_dim, w.shape[0]], "float32", data=w.T)
        bt = g.tensor(f"{name}/bias", [out_dim], "float32", data=np.asarray(layer.bias))
        y = g.tensor(name, [1, out_dim], "float32", signature=sig([1, out_dim]))
        g.operator(
            "FULLY_CONNECTED",
            [x, wt, bt],
            [y],
            fusedActivationFunction=1 if layer.relu else 0,
            keepNumDims=False,
        )
        named[name] = y
        x = y
    if output == "probabilities":
        k = int(np.asarray(layers[-1].weights).shape[1])
        name = output_name if output_quantization is None else f"{output_name}_float"
        y = g.tensor(name, [1, k], "float32", signature=sig([1, k]))
        g.operator("SOFTMAX", [x], [y], beta=1.0)
        x = y
    elif output == "sigmoid":
        k = int(np.asarray(layers[-1].weights).shape[1])
        name = output_name if output_quantization is None else f"{output_name}_float"
        y = g.tensor(name, [1, k], "float32", signature=sig([1, k]))
        g.operator("LOGISTIC", [x], [y])
        x = y
    if output_quantization is not None:
        k = int(np.asarray(layers[-1].weights).shape[1])
        q = g.tensor(
            output_name, [1, k], "uint8", quantization=output_quantization, signature=sig([1, k])
        )
        g.operator("QUANTIZE", [x], [q])
        x = q
    outputs = [x, *(named[n] for n in extra_outputs)]
    files = {"labels.txt": "\n".join(labels) + "\n"} if labels is not None else None
    return g.to_bytes(inputs=[first], outputs=outputs, associated_files=files)
