"""A small real classifier for demos and tests: animal silhouettes, exported to ONNX and TFLite.

:func:`build_demo_models` trains a one-hidden-layer perceptron with numpy (seeded, a few seconds
on one core) on a labelled image set that ships in a pip package, and writes the same weights
as ``demo.onnx``, ``demo.tflite`` and a uint8-quantised ``demo_uint8.tflite``, plus
``labels.txt``. The preprocessing is built in: every model takes the raw grayscale pixels, a
``uint8`` tensor of shape ``[batch, 28, 28, 1]``, so ``ModelSpec(path)`` needs no options (RGB
images are converted to grayscale by the adapter, and resized to 28x28). The 64-unit hidden
layer is the tensor ``"embedding"``, usable with ``ModelSpec(path, embedding="embedding")``.

Data sets (no network needed):

``"animal-mnist"``
    10,000 28x28 silhouettes of 10 animals (``animal-mnist`` package, MIT licence), white on
    black. The files are read directly from the installed package: importing the package itself
    needs TensorFlow, which its data files do not, so install it with
    ``pip install --no-deps animal-mnist`` (the Makefile does).
``"digits"``
    scikit-learn's 1,797 8x8 handwritten digits, upscaled to 28x28 with Pillow.
"""

from __future__ import annotations

import gzip
import importlib.util
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from visiondrift.errors import ConfigError, MissingExtraError

__all__ = [
    "ANIMAL_CLASSES",
    "DemoDataset",
    "DemoModels",
    "build_demo_models",
    "default_demo_dataset",
    "load_demo_dataset",
    "train_mlp",
]

DatasetName = Literal["animal-mnist", "digits"]

#: Class order of the animal-mnist labels 0..9.
ANIMAL_CLASSES: tuple[str, ...] = (
    "bear",
    "bird",
    "cat",
    "cow",
    "dog",
    "elephant",
    "giraffe",
    "horse",
    "sheep",
    "zebra",
)
IMAGE_SIZE = 28


@dataclass(frozen=True)
class DemoDataset:
    """Grayscale ``uint8`` images ``(n, 28, 28)``, integer labels ``(n,)`` and class names."""

    name: str
    images: NDArray[np.uint8]
    labels: NDArray[np.int64]
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class DemoModels:
    """What :func:`build_demo_models` wrote and how well the classifier does on held-out data."""

    onnx: Path
    tflite: Path
    tflite_uint8: Path
    labels: Path
    class_names: tuple[str, ...]
    train_accuracy: float
    test_accuracy: float
    test_indices: NDArray[np.int64]


def _animal_mnist() -> DemoDataset:
    spec = importlib.util.find_spec("animal_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            "The animal-mnist data set is not installed: pip install --no-deps 'animal-mnist>=0.4' "
            "(--no-deps: its data files need nothing, the package declares TensorFlow)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "Animal_MNIST"
    # The package ships its arrays as gzipped pickles; they come from the installed package.
    with gzip.open(folder / "animal_data_version_3.gz", "rb") as handle:
        images = np.asarray(pickle.load(handle), dtype=np.uint8)
    with gzip.open(folder / "animal_label_version_3.gz", "rb") as handle:
        labels = np.asarray(pickle.load(handle), dtype=np.int64)
    return DemoDataset("animal-mnist", images, labels, ANIMAL_CLASSES)


def _digits() -> DemoDataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError as err:
        raise MissingExtraError(
            "The demo data set needs the 'demo' extra: pip install 'visiondrift[demo]'"
        ) from err
    bunch = load_digits()
    small = np.asarray(bunch.images * (255.0 / 16.0), dtype=np.float64).round().astype(np.uint8)
    images = np.stack(
        [
            np.asarray(
                Image.fromarray(img).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
            )
            for img in small
        ]
    )
    names = tuple(str(i) for i in range(10))
    return DemoDataset("digits", images, np.asarray(bunch.target, dtype=np.int64), names)


def default_demo_dataset() -> DatasetName:
    """``"animal-mnist"`` when that package is installed, else scikit-learn's ``"digits"``."""
    return "animal-mnist" if importlib.util.find_spec("animal_mnist") is not None else "digits"


def load_demo_dataset(name: DatasetName = "animal-mnist") -> DemoDataset:
    """The labelled images the demo model is trained on (see the module docstring)."""
    if name == "animal-mnist":
        return _animal_mnist()
    if name == "digits":
        return _digits()
    raise ConfigError(
        f"The 'dataset' option must be 'animal-mnist' or 'digits'. Got {name!r} instead."
    )


def train_mlp(
    x: NDArray[np.float32],
    y: NDArray[np.int64],
    n_classes: int,
    hidden: int = 64,
    epochs: int = 30,
    batch_size: int = 128,
    learning_rate: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """Train ``softmax(relu(x @ w1 + b1) @ w2 + b2)`` with Adam and cross-entropy.

    Returns ``(w1, b1, w2, b2)`` with ``w1`` of shape ``(features, hidden)``.
    """
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    params = [
        (rng.standard_normal((d, hidden)) * np.sqrt(2.0 / d)).astype(np.float32),
        np.zeros(hidden, dtype=np.float32),
        (rng.standard_normal((hidden, n_classes)) * np.sqrt(1.0 / hidden)).astype(np.float32),
        np.zeros(n_classes, dtype=np.float32),
    ]
    moments = [np.zeros_like(p) for p in params]
    squares = [np.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    onehot = np.eye(n_classes, dtype=np.float32)[y]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            idx = order[start : start + batch_size]
            xb, tb = x[idx], onehot[idx]
            w1, b1, w2, b2 = params
            pre = xb @ w1 + b1
            h = np.maximum(pre, 0.0)
            z = h @ w2 + b2
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            dz = (p - tb) / len(idx)
            dh = (dz @ w2.T) * (pre > 0)
            grads = [
                xb.T @ dh + weight_decay * w1,
                dh.sum(0),
                h.T @ dz + weight_decay * w2,
                dz.sum(0),
            ]
            step += 1
            for i, g in enumerate(grads):
                moments[i] = beta1 * moments[i] + (1 - beta1) * g
                squares[i] = beta2 * squares[i] + (1 - beta2) * g * g
                m_hat = moments[i] / (1 - beta1**step)
                v_hat = squares[i] / (1 - beta2**step)
                params[i] = (params[i] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)).astype(
                    np.float32
                )
    return params[0], params[1], params[2], params[3]


def _accuracy(
    x: NDArray[np.float32],
    y: NDArray[np.int64],
    weights: tuple[
        NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]
    ],
) -> float:
    w1, b1, w2, b2 = weights
    z = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
    return float(np.mean(z.argmax(axis=1) == y))


def build_demo_models(
    out_dir: str | Path,
    dataset: DatasetName = "animal-mnist",
    seed: int = 0,
    test_fraction: float = 0.2,
    hidden: int = 64,
    epochs: int = 30,
) -> DemoModels:
    """Train the demo classifier and write it as ONNX, TFLite and uint8 TFLite, plus labels.

    Parameters
    ----------
    out_dir
        Folder to write ``demo.onnx``, ``demo.tflite``, ``demo_uint8.tflite`` and
        ``labels.txt`` into (created if needed).
    dataset
        ``"animal-mnist"`` or ``"digits"``.
    seed
        Seeds the train/test split and the training; the same seed gives the same files.
    test_fraction
        Share of the images held out to measure accuracy.
    hidden
        Units in the hidden (embedding) layer.
    epochs
        Passes over the training images.

    Returns
    -------
    DemoModels
        The paths, the class names, train and held-out accuracy, and the held-out indices.
    """
    from visiondrift.demo._onnx_builder import dense_classifier_onnx
    from visiondrift.demo._tflite_builder import DenseLayer, dense_classifier_tflite

    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(
            f"The 'test_fraction' option must be in (0, 1). Got {test_fraction!r} instead."
        )
    data = load_demo_dataset(dataset)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(data.labels))
    n_test = round(len(order) * test_fraction)
    test_idx, train_idx = np.sort(order[:n_test]), order[n_test:]
    x = data.images.reshape(len(data.images), -1).astype(np.float32) / np.float32(255.0)
    weights = train_mlp(
        x[train_idx],
        data.labels[train_idx],
        len(data.class_names),
        hidden=hidden,
        epochs=epochs,
        seed=seed,
    )
    w1, b1, w2, b2 = weights
    # Fold the 1/255 scaling into the first layer: the exported models take raw pixels.
    layers = [
        DenseLayer((w1 / np.float32(255.0)).astype(np.float32), b1, relu=True),
        DenseLayer(w2, b2),
    ]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = DemoModels(
        onnx=out / "demo.onnx",
        tflite=out / "demo.tflite",
        tflite_uint8=out / "demo_uint8.tflite",
        labels=out / "labels.txt",
        class_names=data.class_names,
        train_accuracy=_accuracy(x[train_idx], data.labels[train_idx], weights),
        test_accuracy=_accuracy(x[test_idx], data.labels[test_idx], weights),
        test_indices=test_idx,
    )
    shape = [1, IMAGE_SIZE, IMAGE_SIZE, 1]
    names = data.class_names
    paths.onnx.write_bytes(
        dense_classifier_onnx(
            layers, shape, input_dtype="uint8", hidden_names=["embedding"], labels=names
        )
    )
    paths.tflite.write_bytes(
        dense_classifier_tflite(
            layers, shape, input_dtype="uint8", hidden_names=["embedding"], labels=names
        )
    )
    paths.tflite_uint8.write_bytes(
        dense_classifier_tflite(
            layers,
            shape,
            input_dtype="uint8",
            input_quantization=(1.0, 0),
            output_quantization=(1.0 / 256.0, 0),
            hidden_names=["embedding"],
            labels=names,
        )
    )
    paths.labels.write_text("\n".join(data.class_names) + "\n", encoding="utf-8")
    return paths
