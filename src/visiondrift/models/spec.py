"""How to load and run a model: a small, frozen, picklable description.

The core pipeline builds one :class:`ModelSpec` in the parent process and sends it to every
worker; each worker calls :meth:`ModelSpec.load` once and keeps the returned model for all its
images (sessions are not shared between processes).

A spec can be written as a small config file, JSON or TOML, with the preprocessing in its own
table; relative paths are resolved against the config file's folder::

    # model.toml
    path = "classifier.onnx"
    labels_file = "labels.txt"
    output = "probabilities"
    embedding = "features"

    [preprocessing]
    resize = "shorter-side-crop"
    resize_shorter = 256
    interpolation = "bilinear"
    scaling = "imagenet"

The same keys may also sit under a ``[model]`` table of a larger file.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from os import PathLike
from pathlib import Path
from typing import Any, Literal, get_args

from visiondrift.errors import ConfigError, ModelError
from visiondrift.models._adapter import check_model_file
from visiondrift.models._base import Model, ModelFormat
from visiondrift.models.outputs import Activation, read_labels_file
from visiondrift.models.preprocessing import Preprocessing

__all__ = ["FormatOption", "ModelSpec", "detect_format"]

FormatOption = Literal["auto", "onnx", "tflite"]

_TFLITE_SUFFIXES = (".tflite", ".lite")
_ONNX_SUFFIXES = (".onnx", ".ort")
_TFLITE_IDENTIFIER = b"TFL3"


def detect_format(path: str | PathLike[str]) -> ModelFormat:
    """``"tflite"`` or ``"onnx"`` from the file suffix, else from the TFLite file identifier."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix in _TFLITE_SUFFIXES:
        return "tflite"
    if suffix in _ONNX_SUFFIXES:
        return "onnx"
    try:
        with file.open("rb") as handle:
            head = handle.read(8)
    except OSError as err:
        raise ModelError(f"Model file {file} cannot be read: {err}") from err
    return "tflite" if head[4:8] == _TFLITE_IDENTIFIER else "onnx"


def _positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"The '{name}' option of ModelSpec must be a positive int. Got {value!r} instead."
        )


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to load a model and turn images into class probabilities.

    Parameters
    ----------
    path
        The ``.onnx`` or ``.tflite`` file.
    preprocessing
        How images are resized and scaled (see :class:`Preprocessing`).
    output
        Name of the output holding class scores, needed when the model has several outputs.
    labels
        Class names in output order. Overrides names found in the model metadata.
    labels_file
        A file with the class names, one per line or a JSON list; read once when the spec is
        built and stored in ``labels`` (workers never read it). When ``labels`` is given too, it
        is taken as the file's content already read.
    embedding
        Name of a tensor to return as the embedding: an intermediate ONNX tensor (exposed as an
        extra output at load time) or a TFLite output or intermediate tensor.
    activation
        ``"auto"`` (softmax unless the rows already sum to 1), ``"softmax"`` or ``"none"``.
    batch_size
        Images per inference call (models with a fixed batch size use theirs).
    num_threads
        Intra-op threads of the runtime. Keep 1 when one worker process runs per core.
    format
        ``"auto"`` (from the suffix, else the file's identifier), ``"onnx"`` or ``"tflite"``.
    distribution_tolerance
        With ``activation="auto"``, how far from 1 a row sum may be to count as probabilities.
    """

    path: Path
    preprocessing: Preprocessing = field(default_factory=Preprocessing)
    output: str | None = None
    labels: tuple[str, ...] | None = None
    labels_file: Path | None = None
    embedding: str | None = None
    activation: Activation = "auto"
    batch_size: int = 32
    num_threads: int = 1
    format: FormatOption = "auto"
    distribution_tolerance: float = 1e-3

    def __post_init__(self) -> None:
        path: object = self.path
        if not isinstance(path, str | PathLike):
            raise ConfigError(
                f"The 'path' option of ModelSpec must be a file path. Got {path!r} instead."
            )
        object.__setattr__(self, "path", Path(path))
        if isinstance(self.preprocessing, Mapping):
            object.__setattr__(self, "preprocessing", Preprocessing.from_dict(self.preprocessing))
        if not isinstance(self.preprocessing, Preprocessing):
            raise ConfigError(
                "The 'preprocessing' option of ModelSpec must be a Preprocessing. "
                f"Got {type(self.preprocessing).__name__} instead."
            )
        if self.activation not in get_args(Activation):
            raise ConfigError(
                "The 'activation' option must be one of 'auto', 'softmax', 'none'. "
                f"Got {self.activation!r} instead."
            )
        if self.format not in get_args(FormatOption):
            raise ConfigError(
                "The 'format' option must be one of 'auto', 'onnx', 'tflite'. "
                f"Got {self.format!r} instead."
            )
        _positive_int("batch_size", self.batch_size)
        _positive_int("num_threads", self.num_threads)
        if not 0.0 < float(self.distribution_tolerance) < 1.0:
            raise ConfigError(
                "The 'distribution_tolerance' option must be in (0, 1). "
                f"Got {self.distribution_tolerance!r} instead."
            )
        self._resolve_labels()

    def _resolve_labels(self) -> None:
        labels: object = self.labels
        if self.labels_file is not None:
            file = Path(self.labels_file)
            object.__setattr__(self, "labels_file", file)
            if labels is None:
                object.__setattr__(self, "labels", read_labels_file(file))
                return
            # Both given: the file was already read (``dataclasses.replace`` passes both).
        if isinstance(labels, str | PathLike):
            # A path given as ``labels``: read it like ``labels_file``.
            file = Path(labels)
            object.__setattr__(self, "labels_file", file)
            object.__setattr__(self, "labels", read_labels_file(file))
            return
        if labels is not None:
            if not isinstance(labels, tuple | list) or not all(isinstance(v, str) for v in labels):
                raise ConfigError(
                    "The 'labels' option must be a sequence of class names (strings) or a "
                    f"labels file path. Got {labels!r} instead."
                )
            object.__setattr__(self, "labels", tuple(labels))

    @property
    def resolved_format(self) -> ModelFormat:
        """The format actually used to open the file."""
        if self.format != "auto":
            return self.format
        return detect_format(self.path)

    def load(self) -> Model:
        """Open the model in this process.

        Returns
        -------
        Model
            An :class:`~visiondrift.models.onnx.OnnxModel` or
            :class:`~visiondrift.models.tflite.TFLiteModel`.

        Raises
        ------
        ModelError
            The file is missing, is not a model, uses an operator the runtime lacks, or needs an
            input the preprocessing cannot produce.
        MissingExtraError
            The runtime for the format is not installed.
        """
        check_model_file(self.path)
        if self.resolved_format == "tflite":
            from visiondrift.models.tflite import TFLiteModel

            return TFLiteModel(self)
        from visiondrift.models.onnx import OnnxModel

        return OnnxModel(self)

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON- and TOML-friendly dict (defaults and ``None`` values left out)."""
        out: dict[str, Any] = {"path": str(self.path)}
        for f in fields(self):
            if f.name in ("path", "preprocessing", "labels", "labels_file"):
                continue
            value = getattr(self, f.name)
            if value is not None and value != f.default:
                out[f.name] = value
        if self.labels_file is not None:
            out["labels_file"] = str(self.labels_file)
        elif self.labels is not None:
            out["labels"] = list(self.labels)
        pre = self.preprocessing.to_dict()
        if pre != Preprocessing().to_dict():
            out["preprocessing"] = pre
        return out

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], base_dir: str | PathLike[str] | None = None
    ) -> ModelSpec:
        """A spec from a dict such as :meth:`to_dict` returns.

        Parameters
        ----------
        data
            The keys of :class:`ModelSpec`, with ``preprocessing`` as a nested dict.
        base_dir
            Folder that relative ``path`` and ``labels_file`` are resolved against.
        """
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ConfigError(
                f"Unknown model option(s) {', '.join(map(repr, unknown))}. "
                f"Allowed: {', '.join(sorted(allowed))}."
            )
        if "path" not in data:
            raise ConfigError("The model configuration needs a 'path' to the model file.")
        kwargs = dict(data)
        for key in ("path", "labels_file"):
            value = kwargs.get(key)
            if value is not None and base_dir is not None:
                kwargs[key] = Path(base_dir) / Path(value)
        if isinstance(kwargs.get("labels"), list):
            kwargs["labels"] = tuple(kwargs["labels"])
        pre = kwargs.get("preprocessing")
        if pre is not None:
            if not isinstance(pre, Mapping):
                raise ConfigError(
                    f"The 'preprocessing' option must be a table of options. Got {pre!r} instead."
                )
            kwargs["preprocessing"] = Preprocessing.from_dict(pre)
        return cls(**kwargs)

    @classmethod
    def from_config(cls, path: str | PathLike[str]) -> ModelSpec:
        """A spec from a ``.json`` or ``.toml`` file (keys at top level or under ``[model]``)."""
        file = Path(path)
        try:
            raw = file.read_bytes()
        except OSError as err:
            raise ConfigError(f"Model config file {file} cannot be read: {err}") from err
        suffix = file.suffix.lower()
        try:
            if suffix == ".json":
                data = json.loads(raw.decode("utf-8"))
            elif suffix == ".toml":
                data = tomllib.loads(raw.decode("utf-8"))
            else:
                raise ConfigError(
                    f"Model config file {file} must end in .json or .toml. Got '{suffix}'."
                )
        except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise ConfigError(f"Model config file {file} is not valid {suffix[1:]}: {err}") from err
        if not isinstance(data, dict):
            raise ConfigError(f"Model config file {file} must hold a table of options.")
        if isinstance(data.get("model"), dict) and "path" not in data:
            data = data["model"]
        return cls.from_dict(data, base_dir=file.parent)
