"""The interface every model adapter follows, and the small value types it returns.

A :class:`Model` turns decoded images (RGB ``uint8`` arrays of shape ``(H, W, 3)``, sizes may vary)
into a :class:`ModelOutput`: one probability vector per image and, optionally, one embedding.
:class:`ModelInfo` says what the adapter read from the model file (input layout, size, dtype,
quantisation, outputs, class names) so that reports and ``inspect-model`` can show it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from visiondrift.models.preprocessing import InputTarget, Layout, Preprocessing

__all__ = [
    "Model",
    "ModelFormat",
    "ModelInfo",
    "ModelOutput",
    "Quantization",
    "TensorInfo",
    "iter_batches",
]

ModelFormat = Literal["onnx", "tflite"]


@dataclass(frozen=True)
class Quantization:
    """Affine quantisation of a tensor: ``real = (quantised - zero_point) * scale``."""

    scale: float
    zero_point: int

    def dequantize(self, values: NDArray[np.generic]) -> NDArray[np.float32]:
        """Real values of quantised integers."""
        return ((values.astype(np.float32) - np.float32(self.zero_point)) * self.scale).astype(
            np.float32
        )


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (``None`` for a dynamic dimension), dtype and quantisation of one tensor."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    quantization: Quantization | None = None

    def describe(self) -> str:
        """One line such as ``input  [None, 3, 224, 224]  float32``."""
        dims = ", ".join("?" if d is None else str(d) for d in self.shape)
        text = f"{self.name}  [{dims}]  {self.dtype}"
        if self.quantization is not None:
            q = self.quantization
            text += f"  quantised: scale={q.scale:.6g} zero_point={q.zero_point}"
        return text


@dataclass(frozen=True)
class ModelInfo:
    """What an adapter read from the model file and decided to use.

    Attributes
    ----------
    format
        ``"onnx"`` or ``"tflite"``.
    path
        The model file.
    input
        The image input tensor as the model declares it.
    layout
        ``"NCHW"`` or ``"NHWC"``: where the channel dimension is.
    height, width, channels
        The size the images are resized to and the number of channels (1 or 3).
    outputs
        Every output tensor of the model (for ONNX, plus the exposed embedding when there is one).
    output
        Name of the output read as class scores.
    num_classes
        Number of classes after a single sigmoid column becomes two classes.
    class_names
        One name per class: from the labels option, the model metadata, or ``"0"``, ``"1"``...
    class_names_source
        ``"labels"``, ``"labels file <path>"``, ``"model metadata"`` or ``"indices"``.
    fixed_batch_size
        The batch size the model requires (often 1), or ``None`` when the batch is dynamic.
    embedding
        Name of the embedding tensor, or ``None``.
    embedding_dim
        Number of values per image in the (flattened) embedding, when known.
    preprocessing
        The preprocessing in use, with the size and layout read from the model filled in.
    """

    format: ModelFormat
    path: str
    input: TensorInfo
    layout: Layout
    height: int
    width: int
    channels: int
    outputs: tuple[TensorInfo, ...]
    output: str
    num_classes: int
    class_names: tuple[str, ...]
    class_names_source: str
    fixed_batch_size: int | None
    embedding: str | None
    embedding_dim: int | None
    preprocessing: Preprocessing

    @property
    def input_name(self) -> str:
        """Name of the image input."""
        return self.input.name

    @property
    def input_dtype(self) -> str:
        """Dtype of the image input (``"float32"``, ``"uint8"``, ``"int8"``...)."""
        return self.input.dtype

    @property
    def input_quantization(self) -> Quantization | None:
        """Quantisation of the image input, when it is quantised."""
        return self.input.quantization

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of every output."""
        return tuple(t.name for t in self.outputs)

    @property
    def output_shapes(self) -> tuple[tuple[int | None, ...], ...]:
        """Shapes of every output, in the order of :attr:`output_names`."""
        return tuple(t.shape for t in self.outputs)

    @property
    def output_quantization(self) -> tuple[Quantization | None, ...]:
        """Quantisation of every output, in the order of :attr:`output_names`."""
        return tuple(t.quantization for t in self.outputs)

    def expects(self) -> str:
        """What the model expects, for error messages: shape, dtype and layout."""
        if self.layout == "NCHW":
            shape = f"[batch, {self.channels}, {self.height}, {self.width}]"
        else:
            shape = f"[batch, {self.height}, {self.width}, {self.channels}]"
        return f"input '{self.input.name}' {shape} {self.input.dtype} ({self.layout})"


@dataclass(frozen=True)
class ModelOutput:
    """What a model said about a batch of images.

    Attributes
    ----------
    probabilities
        Shape ``(n, num_classes)``, ``float32``, each row a probability distribution.
    embedding
        Shape ``(n, d)``, ``float32``, the flattened embedding tensor, or ``None``.
    """

    probabilities: NDArray[np.float32]
    embedding: NDArray[np.float32] | None = None

    def __len__(self) -> int:
        return int(self.probabilities.shape[0])


@runtime_checkable
class Model(Protocol):
    """A loaded model that predicts class probabilities for decoded RGB images."""

    @property
    def info(self) -> ModelInfo:
        """What was read from the model file."""
        ...

    @property
    def input_target(self) -> InputTarget:
        """The input tensor batches are made for: size, channels, layout, dtype, quantisation."""
        ...

    def predict(self, images: Sequence[NDArray[np.uint8]]) -> ModelOutput:
        """Class probabilities (and embedding) of RGB ``uint8`` images of shape ``(H, W, 3)``."""
        ...


def iter_batches(n: int, batch_size: int) -> Iterator[slice]:
    """Slices ``[0, batch_size), [batch_size, 2 * batch_size)...`` covering ``range(n)``."""
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))
