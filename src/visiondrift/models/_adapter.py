"""What the ONNX and TFLite adapters share: reading the input, naming classes, batching."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from visiondrift.errors import ConfigError, ModelError
from visiondrift.models._base import ModelFormat, ModelInfo, ModelOutput, TensorInfo, iter_batches
from visiondrift.models.outputs import (
    check_labels,
    choose_output,
    class_scores,
    labels_from_metadata,
    to_probabilities,
)
from visiondrift.models.preprocessing import (
    InputTarget,
    Layout,
    Preprocessing,
    preprocess,
    resolved_scaling,
)

if TYPE_CHECKING:
    from visiondrift.models.spec import ModelSpec

__all__ = ["BaseAdapter", "Signature", "check_model_file", "resolve_target"]

_SUPPORTED_INPUT_DTYPES = ("float32", "float16", "float64", "uint8", "int8")
_CHANNEL_COUNTS = (1, 3)


@dataclass(frozen=True)
class Signature:
    """Inputs, outputs and metadata as read from a model file, before any decision."""

    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    metadata: Mapping[str, str] = field(default_factory=dict)
    metadata_labels: tuple[str, ...] | None = None


def check_model_file(path: Path) -> None:
    """Raise a :class:`ModelError` when the model file is missing or is a folder."""
    if not path.exists():
        raise ModelError(
            f"Model file {path} does not exist. Check the 'path' option (--model / model_path=)."
        )
    if not path.is_file():
        raise ModelError(f"Model path {path} is not a file. Give the .onnx or .tflite file itself.")


def _shape_text(shape: Sequence[int | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _guess_layout(shape: Sequence[int | None], default: Layout) -> Layout:
    c_first, c_last = shape[1], shape[3]
    first_ok = c_first in _CHANNEL_COUNTS
    last_ok = c_last in _CHANNEL_COUNTS
    if first_ok and not last_ok:
        return "NCHW"
    if last_ok and not first_ok:
        return "NHWC"
    if first_ok and last_ok:
        return default
    # Neither is 1 or 3: the channel dim is the small one (e.g. 4 channels), if any is known.
    if c_first is not None and (c_last is None or c_first < c_last):
        return "NCHW"
    if c_last is not None:
        return "NHWC"
    return default


def resolve_target(
    tensor: TensorInfo, preprocessing: Preprocessing, default_layout: Layout, path: Path
) -> tuple[InputTarget, int | None]:
    """The input to produce from the model's declared input and the user's options.

    Returns the target and the fixed batch size (``None`` when the batch is dynamic).
    """
    shape = tensor.shape
    where = f"Model {path} has input '{tensor.name}' {_shape_text(shape)} {tensor.dtype}"
    if len(shape) != 4:
        raise ModelError(
            f"{where}; visiondrift feeds images as a 4-D tensor, [batch, height, width, channels] "
            "(NHWC) or [batch, channels, height, width] (NCHW). Export the model with an image "
            "input of rank 4."
        )
    if tensor.dtype not in _SUPPORTED_INPUT_DTYPES:
        raise ModelError(
            f"{where}; image preprocessing produces {', '.join(_SUPPORTED_INPUT_DTYPES)} inputs "
            f"only, not {tensor.dtype}. Export the model with a float32 or uint8 input."
        )
    layout = default_layout if preprocessing.layout == "auto" else preprocessing.layout
    if preprocessing.layout == "auto":
        layout = _guess_layout(shape, default_layout)
    c_dim, h_dim, w_dim = (1, 2, 3) if layout == "NCHW" else (3, 1, 2)
    channels = shape[c_dim]
    if channels is None:
        channels = 3
    if channels not in _CHANNEL_COUNTS:
        raise ModelError(
            f"{where}: it expects {channels} channels ({layout}), but preprocessing produces 1 "
            "(grayscale) or 3 (RGB/BGR) channels. If the channel dimension is elsewhere, set the "
            "'layout' preprocessing option to 'NCHW' or 'NHWC'; otherwise re-export the model "
            "with a 1- or 3-channel image input."
        )
    model_hw = (shape[h_dim], shape[w_dim])
    if preprocessing.size is not None:
        height, width = preprocessing.size
        for got, want, what in ((height, model_hw[0], "height"), (width, model_hw[1], "width")):
            if want is not None and got != want:
                raise ModelError(
                    f"{where} ({layout}): its {what} is fixed at {want} but the 'size' "
                    f"preprocessing option asks for {got}. Remove the 'size' option or set it to "
                    f"{model_hw[0]}x{model_hw[1]}."
                )
    elif model_hw[0] is None or model_hw[1] is None:
        raise ModelError(
            f"{where} ({layout}) with a dynamic image size. Set the size the model was trained "
            "on with the 'size' preprocessing option, e.g. size=(224, 224) (--model-size 224x224)."
        )
    else:
        height, width = int(model_hw[0]), int(model_hw[1])
    if preprocessing.resize_shorter is not None and preprocessing.resize_shorter < max(
        height, width
    ):
        raise ConfigError(
            f"The 'resize_shorter' preprocessing option ({preprocessing.resize_shorter}) must be "
            f"at least the crop size {height}x{width} of model {path}."
        )
    quant = tensor.quantization
    target = InputTarget(
        height=height,
        width=width,
        channels=int(channels),
        layout=layout,
        dtype=tensor.dtype,
        quantization=None if quant is None else (quant.scale, quant.zero_point),
    )
    resolved_scaling(preprocessing, target)  # raises early when the scaling cannot be produced
    batch = shape[0]
    return target, (int(batch) if batch is not None else None)


def _flat_dim(shape: Sequence[int | None]) -> int | None:
    rest = shape[1:]
    if any(d is None for d in rest):
        return None
    return math.prod(int(d) for d in rest if d is not None)


def _class_dim(shape: Sequence[int | None]) -> int | None:
    rest = [d for d in shape[1:] if d != 1]
    if any(d is None for d in rest) or len(rest) > 1:
        return None
    return int(rest[0]) if rest and rest[0] is not None else 1


class BaseAdapter(ABC):
    """Shared logic of :class:`OnnxModel` and :class:`TFLiteModel`.

    Subclasses open the model, then call :meth:`_setup` with what they read, and implement
    :meth:`_run` on one preprocessed, correctly sized batch.
    """

    format: ModelFormat

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._info: ModelInfo | None = None
        self._target: InputTarget | None = None

    @property
    def info(self) -> ModelInfo:
        """What was read from the model file."""
        if self._info is None:  # pragma: no cover - set by every subclass __init__
            raise ModelError("The model adapter was not initialised.")
        return self._info

    @property
    def input_target(self) -> InputTarget:
        """The input tensor batches are made for: size, channels, layout, dtype, quantisation."""
        if self._target is None:  # pragma: no cover - set by every subclass __init__
            raise ModelError("The model adapter was not initialised.")
        return self._target

    @abstractmethod
    def _run(
        self, batch: NDArray[np.generic]
    ) -> tuple[NDArray[np.generic], NDArray[np.generic] | None]:
        """Raw class-score output and raw embedding (or ``None``) for one batch."""

    def _setup(self, signature: Signature, default_layout: Layout) -> None:
        spec = self.spec
        path = spec.path
        if len(signature.inputs) != 1:
            names = ", ".join(t.describe() for t in signature.inputs)
            raise ModelError(
                f"Model {path} has {len(signature.inputs)} inputs ({names}); visiondrift runs "
                "models with a single image input."
            )
        tensor = signature.inputs[0]
        target, fixed_batch = resolve_target(tensor, spec.preprocessing, default_layout, path)
        self._target = target
        output_names = [t.name for t in signature.outputs]
        exclude = [spec.embedding] if spec.embedding is not None else []
        output = choose_output(output_names, spec.output, exclude, str(path))
        by_name = {t.name: t for t in signature.outputs}
        self._output_tensor = by_name[output]
        self._embedding_tensor = by_name.get(spec.embedding) if spec.embedding else None
        self._fixed_batch = fixed_batch
        num_classes = _class_dim(self._output_tensor.shape)
        embedding_dim = (
            _flat_dim(self._embedding_tensor.shape) if self._embedding_tensor is not None else None
        )
        resolved_pre = Preprocessing(
            size=(target.height, target.width),
            resize=spec.preprocessing.resize,
            resize_shorter=spec.preprocessing.resize_shorter,
            interpolation=spec.preprocessing.interpolation,
            scaling=spec.preprocessing.scaling,
            mean=spec.preprocessing.mean,
            std=spec.preprocessing.std,
            channel_order=spec.preprocessing.channel_order,
            layout=target.layout,
        )
        if num_classes is None or (spec.embedding is not None and embedding_dim is None):
            # Shapes are not declared: run one blank image to learn them.
            blank = np.full((1, *self._input_shape_for(1)[1:]), 0, dtype=target.dtype)
            if fixed_batch is not None and fixed_batch > 1:
                blank = np.repeat(blank, fixed_batch, axis=0)
            raw, emb = self._run(blank)
            num_classes = class_scores(raw, output).shape[1]
            if emb is not None:
                embedding_dim = int(np.prod(emb.shape[1:]))
        if num_classes == 1:
            num_classes = 2  # a single sigmoid unit: (1 - p, p)
        names_source, class_names = self._class_names(signature, num_classes, target)
        self._info = ModelInfo(
            format=self.format,
            path=str(path),
            input=tensor,
            layout=target.layout,
            height=target.height,
            width=target.width,
            channels=target.channels,
            outputs=signature.outputs,
            output=output,
            num_classes=num_classes,
            class_names=class_names,
            class_names_source=names_source,
            fixed_batch_size=fixed_batch,
            embedding=spec.embedding,
            embedding_dim=embedding_dim,
            preprocessing=resolved_pre,
        )

    def _input_shape_for(self, n: int) -> tuple[int, ...]:
        target = self._target
        assert target is not None
        if target.layout == "NCHW":
            return (n, target.channels, target.height, target.width)
        return (n, target.height, target.width, target.channels)

    def _class_names(
        self, signature: Signature, num_classes: int, target: InputTarget
    ) -> tuple[str, tuple[str, ...]]:
        spec = self.spec
        expects = (
            f"output '{self._output_tensor.name}' {_shape_text(self._output_tensor.shape)}, "
            f"input {_shape_text(self._input_shape_for(1))} {target.dtype} {target.layout}"
        )
        if spec.labels is not None:
            source = (
                f"Labels file {spec.labels_file}" if spec.labels_file else "The 'labels' option"
            )
            check_labels(spec.labels, num_classes, source, expects, str(spec.path))
            where = f"labels file {spec.labels_file}" if spec.labels_file else "labels"
            return where, spec.labels
        from_meta = signature.metadata_labels or labels_from_metadata(signature.metadata)
        if from_meta is not None and len(from_meta) == num_classes:
            return "model metadata", from_meta
        return "indices", tuple(str(i) for i in range(num_classes))

    def predict(self, images: Sequence[NDArray[np.uint8]]) -> ModelOutput:
        """Class probabilities (and the embedding) of decoded RGB images.

        Parameters
        ----------
        images
            RGB ``uint8`` arrays of shape ``(H, W, 3)``; sizes may differ.

        Returns
        -------
        ModelOutput
            ``probabilities`` of shape ``(n, num_classes)`` and ``embedding`` of shape
            ``(n, embedding_dim)`` or ``None``.
        """
        info = self.info
        target = self._target
        assert target is not None
        step = self._fixed_batch if self._fixed_batch is not None else self.spec.batch_size
        probs: list[NDArray[np.float32]] = []
        embeddings: list[NDArray[np.float32]] = []
        for part in iter_batches(len(images), step):
            batch = preprocess(images[part], self.spec.preprocessing, target)
            n = batch.shape[0]
            if self._fixed_batch is not None and n < self._fixed_batch:
                pad = np.zeros((self._fixed_batch - n, *batch.shape[1:]), dtype=batch.dtype)
                batch = np.concatenate([batch, pad])
            raw, emb = self._run(batch)
            scores = class_scores(self._dequantize(raw, self._output_tensor)[:n], info.output)
            probs.append(to_probabilities(scores, self.spec.activation, self._tolerance(scores)))
            if emb is not None and self._embedding_tensor is not None:
                values = self._dequantize(emb, self._embedding_tensor)[:n]
                embeddings.append(values.reshape(n, -1))
        if not probs:
            empty_emb = (
                np.zeros((0, info.embedding_dim or 0), dtype=np.float32)
                if info.embedding is not None
                else None
            )
            return ModelOutput(np.zeros((0, info.num_classes), dtype=np.float32), empty_emb)
        probabilities = np.concatenate(probs)
        if probabilities.shape[1] != info.num_classes:
            raise ModelError(
                f"Model {info.path} returned {probabilities.shape[1]} class scores per image but "
                f"{info.num_classes} were expected from its declared output shape."
            )
        embedding = np.concatenate(embeddings) if embeddings else None
        return ModelOutput(probabilities=probabilities, embedding=embedding)

    def _tolerance(self, scores: NDArray[np.float32]) -> float:
        """Row-sum tolerance, widened by the rounding of a quantised output (half a step each)."""
        quant = self._output_tensor.quantization
        tolerance = self.spec.distribution_tolerance
        if quant is not None:
            tolerance += scores.shape[1] * quant.scale / 2.0
        return tolerance

    @staticmethod
    def _dequantize(values: NDArray[np.generic], tensor: TensorInfo) -> NDArray[np.float32]:
        if tensor.quantization is not None:
            return tensor.quantization.dequantize(values)
        return values.astype(np.float32, copy=False)
