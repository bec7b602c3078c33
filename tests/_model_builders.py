"""Build real small ONNX and TFLite models for the model-adapter tests (no mocks).

The dense classifiers come from the package's own writers (``visiondrift.demo._onnx_builder``
and ``_tflite_builder``); this module adds the weights, layout permutations and the deliberately
broken models the error tests need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from visiondrift.demo._onnx_builder import dense_classifier_onnx
from visiondrift.demo._tflite_builder import DenseLayer, TFLiteGraph, dense_classifier_tflite

HEIGHT, WIDTH, CHANNELS = 8, 8, 3
HIDDEN = 16
CLASSES = 5
CLASS_NAMES = ("apple", "banana", "cherry", "date", "elderberry")


def make_layers(
    features: int = HEIGHT * WIDTH * CHANNELS,
    hidden: int = HIDDEN,
    classes: int = CLASSES,
    seed: int = 0,
    scale: float = 0.3,
) -> list[DenseLayer]:
    """Random (seeded) weights for ``features -> hidden (ReLU) -> classes``, NHWC flatten order."""
    rng = np.random.default_rng(seed)
    return [
        DenseLayer(
            (rng.standard_normal((features, hidden)) * scale).astype(np.float32),
            (rng.standard_normal(hidden) * scale).astype(np.float32),
            relu=True,
        ),
        DenseLayer(
            (rng.standard_normal((hidden, classes)) * scale).astype(np.float32),
            (rng.standard_normal(classes) * scale).astype(np.float32),
        ),
    ]


def to_nchw(
    layers: list[DenseLayer], height: int = HEIGHT, width: int = WIDTH, channels: int = CHANNELS
) -> list[DenseLayer]:
    """The same network for an NCHW input: first-layer rows reordered (h, w, c) -> (c, h, w)."""
    first = layers[0]
    w = first.weights.reshape(height, width, channels, -1).transpose(2, 0, 1, 3)
    reordered = DenseLayer(np.ascontiguousarray(w.reshape(-1, w.shape[-1])), first.bias, first.relu)
    return [reordered, *layers[1:]]


def reference_forward(
    pixels_nhwc: NDArray[np.float32], layers: list[DenseLayer]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Numpy forward pass: (softmax probabilities, hidden activations) of an NHWC float batch."""
    x = pixels_nhwc.reshape(len(pixels_nhwc), -1)
    hidden = np.maximum(x @ layers[0].weights + layers[0].bias, 0.0)
    z = hidden @ layers[1].weights + layers[1].bias
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32), hidden.astype(np.float32)


def input_shape(layout: str) -> list[int]:
    """``[1, H, W, C]`` or ``[1, C, H, W]``."""
    if layout == "NCHW":
        return [1, CHANNELS, HEIGHT, WIDTH]
    return [1, HEIGHT, WIDTH, CHANNELS]


def write_dense(
    folder: Path,
    fmt: str,
    layout: str = "NHWC",
    name: str | None = None,
    layers: list[DenseLayer] | None = None,
    **options: Any,
) -> Path:
    """Write a dense classifier (see ``dense_classifier_*``) and return its path."""
    base = layers if layers is not None else make_layers()
    weights = to_nchw(base) if layout == "NCHW" else base
    shape = input_shape(layout)
    if fmt == "onnx":
        content = dense_classifier_onnx(weights, shape, **options)
    else:
        content = dense_classifier_tflite(weights, shape, **options)
    path = folder / (name or f"model_{layout.lower()}.{fmt}")
    path.write_bytes(content)
    return path


def write_custom_op_onnx(path: Path) -> Path:
    """An ONNX model with an operator from a domain no runtime implements."""
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node("FancyBlur", ["image"], ["probabilities"], domain="com.example")
    graph = helper.make_graph(
        [node],
        "custom",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 5])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
    )
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    onnx.checker.check_model(str(path))  # a valid model, just not runnable
    return path


def write_custom_op_tflite(path: Path) -> Path:
    """A TFLite model whose only operator is a custom one LiteRT does not know."""
    g = TFLiteGraph()
    x = g.tensor("image", [1, 8, 8, 3], "float32")
    y = g.tensor("probabilities", [1, 5], "float32")
    g.operator("CUSTOM", [x], [y], custom_code="FancyBlur")
    path.write_bytes(g.to_bytes([x], [y]))
    return path


def write_four_channel_onnx(path: Path) -> Path:
    """An ONNX classifier on an RGBA input ``[batch, 4, 8, 8]``."""
    layers = make_layers(features=4 * 8 * 8)
    path.write_bytes(dense_classifier_onnx(layers, [1, 4, 8, 8]))
    return path


def write_dynamic_size_onnx(path: Path, classes: int = CLASSES) -> Path:
    """NCHW input with dynamic height and width: global average pool, then a dense layer."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(3)
    w = numpy_helper.from_array(rng.standard_normal((3, classes)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(classes, dtype=np.float32), "b")
    nodes = [
        helper.make_node("GlobalAveragePool", ["image"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w", "b"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "pooled",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", classes])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path
