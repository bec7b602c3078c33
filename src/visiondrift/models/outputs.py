"""From raw model outputs to class probabilities and class names.

A model may end in logits, in a softmax, in a single sigmoid unit, or in a quantised version of
any of these. :func:`to_probabilities` turns each into rows that sum to 1; :func:`choose_output`
picks the output by name when a model has several; :func:`read_labels_file` and
:func:`labels_from_metadata` find the class names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from visiondrift.errors import ConfigError, ModelError

__all__ = [
    "Activation",
    "choose_output",
    "class_scores",
    "is_distribution",
    "labels_from_metadata",
    "parse_names",
    "read_labels_file",
    "renormalize",
    "softmax",
    "to_probabilities",
]

Activation = Literal["auto", "softmax", "none"]

#: Metadata keys searched for class names, in order.
LABEL_METADATA_KEYS: tuple[str, ...] = ("labels", "classes", "class_names", "names")


def softmax(logits: NDArray[np.floating]) -> NDArray[np.float32]:
    """Row-wise softmax, stable for large logits."""
    x: NDArray[np.float64] = logits.astype(np.float64)
    x = np.exp(x - x.max(axis=1, keepdims=True))
    out: NDArray[np.float32] = (x / x.sum(axis=1, keepdims=True)).astype(np.float32)
    return out


def is_distribution(scores: NDArray[np.floating], tolerance: float = 1e-3) -> bool:
    """Whether every row is non-negative and sums to 1 within ``tolerance``."""
    if scores.size == 0:
        return True
    if not np.all(np.isfinite(scores)) or np.any(scores < -tolerance):
        return False
    return bool(np.all(np.abs(scores.sum(axis=1) - 1.0) <= tolerance))


def class_scores(raw: NDArray[np.generic], name: str) -> NDArray[np.float32]:
    """A ``(n, k)`` view of an output, squeezing singleton dimensions after the batch."""
    n = raw.shape[0]
    rest = [d for d in raw.shape[1:] if d != 1]
    if len(rest) > 1:
        raise ModelError(
            f"Output '{name}' has shape {list(raw.shape)}; class scores must have shape "
            "[batch, classes]. Choose the class-score output with the 'output' option."
        )
    k = rest[0] if rest else 1
    return raw.reshape(n, k).astype(np.float32, copy=False)


def to_probabilities(
    scores: NDArray[np.floating], activation: Activation = "auto", tolerance: float = 1e-3
) -> NDArray[np.float32]:
    """Class probabilities from logits, probabilities or a single sigmoid column.

    Parameters
    ----------
    scores
        Shape ``(n, k)``, already dequantised.
    activation
        ``"auto"`` applies a softmax unless every row is already a distribution (non-negative and
        summing to 1 within ``tolerance``); ``"softmax"`` always applies it; ``"none"`` takes the
        rows as probabilities. With a single column (a sigmoid unit) ``"auto"`` applies a sigmoid
        unless all values are in [0, 1], ``"softmax"`` always applies the sigmoid, and the column
        ``p`` becomes two classes ``(1 - p, p)``. Rows taken as probabilities are clipped at 0 and
        renormalised so they sum to 1 exactly.
    tolerance
        How far from 1 a row sum may be for ``"auto"`` to take it as probabilities.

    Returns
    -------
    NDArray
        Shape ``(n, max(k, 2))``, ``float32``.
    """
    if activation not in ("auto", "softmax", "none"):
        raise ConfigError(
            "The 'activation' option must be one of 'auto', 'softmax', 'none'. "
            f"Got {activation!r} instead."
        )
    x = scores.astype(np.float32, copy=False)
    if x.shape[1] == 1:
        p = x[:, 0]
        in_range = bool(np.all((p >= 0.0) & (p <= 1.0)))
        if activation == "softmax" or (activation == "auto" and not in_range):
            p = (1.0 / (1.0 + np.exp(-p.astype(np.float64)))).astype(np.float32)
        return np.stack([1.0 - p, p], axis=1).astype(np.float32)
    if activation == "softmax" or (activation == "auto" and not is_distribution(x, tolerance)):
        return softmax(x)
    return renormalize(x)


def renormalize(probabilities: NDArray[np.floating]) -> NDArray[np.float32]:
    """Rows clipped at 0 and divided by their sum, so they sum to 1 in float32.

    Rows that sum to 0 (no information) become uniform.
    """
    x = np.clip(probabilities.astype(np.float64), 0.0, None)
    sums = x.sum(axis=1, keepdims=True)
    k = x.shape[1]
    out = np.where(sums > 0, x / np.where(sums > 0, sums, 1.0), 1.0 / k)
    result: NDArray[np.float32] = out.astype(np.float32)
    return result


def choose_output(
    names: Sequence[str], requested: str | None, exclude: Sequence[str], path: str
) -> str:
    """The output read as class scores.

    Parameters
    ----------
    names
        Every output of the model.
    requested
        The ``output`` option, or ``None``.
    exclude
        Outputs that are not candidates (the embedding).
    path
        The model file, for messages.
    """
    if requested is not None:
        if requested not in names:
            raise ModelError(
                f"Model {path} has no output named '{requested}'. Its outputs are: "
                f"{', '.join(names)}. Fix the 'output' option."
            )
        return requested
    candidates = [n for n in names if n not in exclude]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ModelError(f"Model {path} has no output left for class scores.")
    raise ModelError(
        f"Model {path} has {len(candidates)} outputs: {', '.join(candidates)}. Say which one holds "
        "the class scores with the 'output' option (--model-output on the command line)."
    )


def parse_names(text: str) -> tuple[str, ...] | None:
    """Class names from a JSON list, a JSON {index: name} object, lines, or comma-separated."""
    text = text.strip()
    if not text:
        return None
    if text[0] in "[{":
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None
        if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
            return tuple(str(v) for v in value)
        if isinstance(value, dict):
            try:
                keys = sorted(value, key=int)
            except (TypeError, ValueError):
                return None
            if [int(k) for k in keys] == list(range(len(keys))):
                return tuple(str(value[k]) for k in keys)
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        return tuple(lines)
    return tuple(part.strip() for part in text.split(",") if part.strip())


def read_labels_file(path: str | Path) -> tuple[str, ...]:
    """Class names from a file: one per line, or a JSON list (or ``{"0": name, ...}``)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ModelError(
            f"Labels file {file} does not exist. Fix the 'labels_file' option (--labels-file)."
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ModelError(f"Labels file {file} cannot be read as UTF-8 text: {err}") from err
    if text.lstrip()[:1] in ("[", "{"):
        try:
            json.loads(text)
        except json.JSONDecodeError as err:
            raise ModelError(
                f"Labels file {file} starts like JSON but is not valid JSON: {err}. Write a JSON "
                "list of names, or one name per line."
            ) from err
        names = parse_names(text)
    else:
        names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if not names:
        raise ModelError(
            f"Labels file {file} holds no class names. Write one name per line, or a JSON list."
        )
    return names


def labels_from_metadata(metadata: Mapping[str, str]) -> tuple[str, ...] | None:
    """Class names stored in model metadata under ``labels``, ``classes``... (JSON or CSV)."""
    lowered = {k.lower(): v for k, v in metadata.items()}
    for key in LABEL_METADATA_KEYS:
        if key in lowered:
            names = parse_names(lowered[key])
            if names:
                return names
    return None


def check_labels(
    labels: tuple[str, ...], num_classes: int, source: str, info_text: str, path: str
) -> None:
    """Raise when the number of class names does not match the model's outputs."""
    if len(labels) != num_classes:
        raise ModelError(
            f"{source} has {len(labels)} class names but model {path} outputs {num_classes} "
            f"classes ({info_text}). Give a labels file with {num_classes} names (one per line) "
            "with the 'labels_file' option (--labels-file), or choose another output with 'output'."
        )
