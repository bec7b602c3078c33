"""Describe what a model expects, for ``visiondrift inspect-model MODEL``.

How to pick the right preprocessing
-----------------------------------
The model file says the input size, channels, layout and dtype, and the adapter reads those
itself. What it cannot say is how the training pipeline scaled the pixels and resized the images;
a wrong choice does not crash, it silently makes every prediction worse. Find it in the training
or export code, then:

1. **Size.** Fixed in most models. If the input shows ``?`` for height or width, set ``size``
   (``--model-size 224x224``) to the size used in training.
2. **Resize mode.** ``stretch`` (the default) when training resized straight to the size (Keras
   ``image_dataset_from_directory``, most TFLite Model Maker models). ``shorter-side-crop`` when
   it resized the shorter side and centre-cropped (torchvision ``Resize(256)`` +
   ``CenterCrop(224)``: ``resize="shorter-side-crop", resize_shorter=256``).
3. **Interpolation.** Match the training resize: ``bilinear`` is the torchvision and Keras
   default; ``area`` is what ``cv2.INTER_AREA`` and antialiased downscaling approximate.
4. **Value scaling** (float inputs).
   ``0-1``: ``x / 255`` (Keras ``Rescaling(1/255)``). ``-1-1``: ``x / 127.5 - 1`` (MobileNet,
   EfficientNet-Lite, Inception ``preprocess_input``). ``imagenet``: ``ToTensor()`` +
   ``Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])``, the torchvision
   default. ``raw`` with ``mean``/``std``: Caffe-style models (``mean=(103.94, 116.78, 123.68)``
   with ``channel_order="BGR"``). Models that contain their own normalisation layer want ``raw``.
5. **Integer inputs.** A ``uint8`` input without quantisation takes the raw pixels: nothing to
   set. A quantised ``uint8``/``int8`` input takes the raw pixels too (``p`` or ``p - 128``),
   which matches the usual export where the input quantisation covers the training range; the
   report below shows which real range that is. Set ``scaling`` only if it does not match.
6. **Channel order.** ``BGR`` for models trained on OpenCV-loaded images without conversion.
7. **Outputs.** When the model has several outputs, name the class scores with ``output``.
   Logits are turned into probabilities automatically (``activation="auto"``); a single sigmoid
   unit becomes two classes.

A quick check: run the model on a few images whose class you know (for example from the
validation set) with ``ModelSpec(...).load().predict(images)``; wrong preprocessing shows as low
confidence or a constant class.
"""

from __future__ import annotations

from dataclasses import fields
from os import PathLike
from pathlib import Path
from typing import Any

from visiondrift.errors import ConfigError, MissingExtraError, ModelError
from visiondrift.models._adapter import Signature
from visiondrift.models._base import ModelInfo
from visiondrift.models.preprocessing import InputTarget, Preprocessing
from visiondrift.models.spec import ModelSpec, detect_format

__all__ = ["PREPROCESSING_GUIDE", "describe_model"]

PREPROCESSING_GUIDE: str = (__doc__ or "").split("How to pick the right preprocessing", 1)[-1]


def _spec_from_options(path: Path, options: dict[str, Any]) -> ModelSpec:
    pre_keys = {f.name for f in fields(Preprocessing)}
    spec_keys = {f.name for f in fields(ModelSpec)} - {"path"}
    pre_options = {k: options.pop(k) for k in list(options) if k in pre_keys}
    unknown = sorted(set(options) - spec_keys)
    if unknown:
        raise ConfigError(
            f"Unknown option(s) {', '.join(map(repr, unknown))} for describe_model. Allowed: "
            f"{', '.join(sorted(spec_keys | pre_keys))}."
        )
    if pre_options:
        if "preprocessing" in options:
            raise ConfigError("Give either 'preprocessing' or its options one by one, not both.")
        options["preprocessing"] = Preprocessing(**pre_options)
    return ModelSpec(path=path, **options)


def _read_signature(spec: ModelSpec) -> Signature:
    if spec.resolved_format == "tflite":
        from visiondrift.models.tflite import read_tflite_signature

        return read_tflite_signature(spec.path)
    from visiondrift.models.onnx import read_onnx_signature

    return read_onnx_signature(spec.path)


def _describe_info(info: ModelInfo, spec: ModelSpec) -> list[str]:
    lines = [f"Model: {info.path} ({info.format.upper()})", "", "Input:"]
    where = "channels first" if info.layout == "NCHW" else "channels last"
    lines.append(f"  {info.input.describe()}")
    lines.append(
        f"    layout {info.layout} ({where}), {info.channels} channel(s), "
        f"{info.height}x{info.width} (height x width)"
    )
    lines += ["", "Outputs:"]
    for tensor in info.outputs:
        role = ""
        if tensor.name == info.output:
            role = "  <- class scores"
        elif tensor.name == info.embedding:
            role = f"  <- embedding ({info.embedding_dim} values per image)"
        lines.append(f"  {tensor.describe()}{role}")
    names = ", ".join(info.class_names[:20]) + (" ..." if len(info.class_names) > 20 else "")
    lines += [
        "",
        f"Classes: {info.num_classes}, names from {info.class_names_source}: {names}",
        "Batch: "
        + (
            f"fixed at {info.fixed_batch_size} (images run {info.fixed_batch_size} at a time)"
            if info.fixed_batch_size is not None
            else f"dynamic (images run {spec.batch_size} at a time)"
        ),
        f"Activation: {spec.activation} (softmax applied unless rows already sum to 1)"
        if spec.activation == "auto"
        else f"Activation: {spec.activation}",
        "",
        "Preprocessing the adapter will use:",
    ]
    q = info.input.quantization
    target = InputTarget(
        info.height,
        info.width,
        info.channels,
        info.layout,
        info.input.dtype,
        None if q is None else (q.scale, q.zero_point),
    )
    lines += [f"  {line}" for line in spec.preprocessing.describe(target).splitlines()]
    return lines


def describe_model(path: str | PathLike[str], **options: Any) -> str:
    """A text report of what the model expects and what the adapter will feed it.

    Parameters
    ----------
    path
        The ``.onnx`` or ``.tflite`` file.
    **options
        Any :class:`ModelSpec` option (``output``, ``labels_file``, ``embedding``...) or
        :class:`Preprocessing` option (``size``, ``scaling``, ``resize``...), to see their effect.

    Returns
    -------
    str
        Inputs (name, shape, dtype, layout, quantisation), outputs, class names, the batch mode,
        the preprocessing in use, and a guide to choosing the preprocessing.

    Raises
    ------
    ModelError
        The file is missing or is not a model (other problems are described in the text).
    MissingExtraError
        The runtime for the model's format is not installed.
    """
    spec = _spec_from_options(Path(path), dict(options))
    try:
        model = spec.load()
        lines = _describe_info(model.info, spec)
    except MissingExtraError:
        raise
    except (ModelError, ConfigError) as err:
        signature = _read_signature(spec)  # re-raises when the file is not a model at all
        lines = [f"Model: {spec.path} ({detect_format(spec.path).upper()})", "", "Inputs:"]
        lines += [f"  {t.describe()}" for t in signature.inputs]
        lines += ["", "Outputs:"]
        lines += [f"  {t.describe()}" for t in signature.outputs]
        if signature.metadata_labels:
            lines += ["", f"Class names in the model metadata: {len(signature.metadata_labels)}"]
        lines += ["", "The adapter cannot run this model with these options yet:", f"  {err}"]
    lines += ["", "How to pick the right preprocessing", PREPROCESSING_GUIDE.strip("\n")]
    return "\n".join(lines) + "\n"
