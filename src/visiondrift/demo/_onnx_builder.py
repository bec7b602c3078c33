"""Write small ONNX classifiers with ``onnx.helper``, the ONNX twin of ``_tflite_builder``.

:func:`dense_classifier_onnx` takes the same :class:`DenseLayer` list and options as
:func:`~visiondrift.demo._tflite_builder.dense_classifier_tflite`, so the same weights can be
exported to both formats and their predictions compared.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from visiondrift.demo._tflite_builder import DenseLayer
from visiondrift.models.onnx import import_onnx

__all__ = ["dense_classifier_onnx"]

#: Opset and IR version understood by every onnxruntime release the ``onnx`` extra allows.
DEFAULT_OPSET = 17
DEFAULT_IR_VERSION = 8


def dense_classifier_onnx(
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
    opset: int = DEFAULT_OPSET,
) -> bytes:
    """An ONNX multilayer perceptron on an image input.

    The image (``input_shape`` including the batch of 1) is flattened in memory order; a
    ``uint8`` input without quantisation is cast to float, a quantised one goes through
    ``DequantizeLinear``. ``labels`` are stored in the ``labels`` metadata entry as a JSON list.
    """
    onnx = import_onnx()
    helper = onnx.helper
    tp = onnx.TensorProto
    elem = {"float32": tp.FLOAT, "uint8": tp.UINT8, "int8": tp.INT8}
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: Any, dtype: Any = np.float32) -> str:
        inits.append(onnx.numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    batch: int | str = "batch" if dynamic_batch else 1
    shape = [batch, *[int(d) for d in input_shape[1:]]]
    x = input_name
    if input_dtype != "float32":
        if input_quantization is None:
            nodes.append(helper.make_node("Cast", [x], ["image_float"], to=tp.FLOAT))
        else:
            scale = const("image_scale", input_quantization[0])
            zero = const("image_zero_point", input_quantization[1], np.dtype(input_dtype))
            nodes.append(helper.make_node("DequantizeLinear", [x, scale, zero], ["image_float"]))
        x = "image_float"
    nodes.append(helper.make_node("Flatten", [x], ["flat"], axis=1))
    x = "flat"
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        name = (
            ("logits" if output != "logits" else output_name)
            if last
            else (hidden_names[i] if i < len(hidden_names) else f"dense_{i}")
        )
        w = const(f"{name}/weights", layer.weights)
        b = const(f"{name}/bias", layer.bias)
        gemm_out = f"{name}/linear" if layer.relu else name
        nodes.append(helper.make_node("Gemm", [x, w, b], [gemm_out]))
        if layer.relu:
            nodes.append(helper.make_node("Relu", [gemm_out], [name]))
        x = name
    k = int(np.asarray(layers[-1].weights).shape[1])
    final = output_name if output_quantization is None else f"{output_name}_float"
    if output == "probabilities":
        nodes.append(helper.make_node("Softmax", [x], [final], axis=1))
        x = final
    elif output == "sigmoid":
        nodes.append(helper.make_node("Sigmoid", [x], [final]))
        x = final
    out_type = tp.FLOAT
    if output_quantization is not None:
        scale = const("output_scale", output_quantization[0])
        zero = const("output_zero_point", output_quantization[1], np.uint8)
        nodes.append(helper.make_node("QuantizeLinear", [x, scale, zero], [output_name]))
        x = output_name
        out_type = tp.UINT8
    outputs = [helper.make_tensor_value_info(x, out_type, [batch, k])]
    for extra in extra_outputs:
        dim = next(
            int(np.asarray(layer.weights).shape[1])
            for layer, n in zip(layers, hidden_names, strict=False)
            if n == extra
        )
        outputs.append(helper.make_tensor_value_info(extra, tp.FLOAT, [batch, dim]))
    graph = helper.make_graph(
        nodes,
        "visiondrift_dense_classifier",
        [helper.make_tensor_value_info(input_name, elem[input_dtype], shape)],
        outputs,
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="visiondrift",
    )
    model.ir_version = DEFAULT_IR_VERSION
    if labels is not None:
        import json

        helper.set_model_props(model, {"labels": json.dumps(list(labels))})
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())
