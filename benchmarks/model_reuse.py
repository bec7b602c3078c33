"""What a loaded model saves per run: profile 100 images with the demo ONNX model, loading the
model in every run (``model=path``) against passing the model loaded once (``model=loaded``).

Usage::

    python benchmarks/model_reuse.py [--work benchmarks/_work] [--images 100] [--runs 7]
                                     [--model OTHER.onnx | --wide]

Builds (once, under --work, git-ignored) the demo classifier and writes ``--images`` of its
held-out images as PNG files. Each run profiles them in this process (``workers=1``: the case of
a long-running service that profiles small batches); the two ways alternate so that both see the
same machine load. Prints the median seconds per run of each, their ratio, and the median time
of ``ModelSpec.load()`` alone.

The demo classifier is tiny (a 64-unit hidden layer: its file loads in milliseconds). ``--wide``
builds, once, a classifier on the same 28x28 input with two hidden layers of 2,048 units
(random weights, seed 0; about 23 MB of float32 weights, the size of a small production CNN) so
that the cost of loading a real-sized file shows.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

import visiondrift
from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.models import ModelSpec

REPO = Path(__file__).resolve().parent.parent


def ensure_data(work: Path, n: int) -> tuple[Path, Path]:
    model = work / "model" / "demo.onnx"
    images = work / f"images_{n}"
    if not model.exists():
        print("building the demo model (once) ...", flush=True)
        build_demo_models(work / "model")
    if not images.is_dir() or len(list(images.glob("*.png"))) != n:
        images.mkdir(parents=True, exist_ok=True)
        data = load_demo_dataset()
        for i in np.random.default_rng(0).choice(len(data.labels), size=n, replace=False):
            Image.fromarray(data.images[i]).save(images / f"{i}.png")
    return model, images


def wide_model(work: Path, width: int = 2048) -> Path:
    """A dense classifier of the demo's input with two hidden layers of ``width`` units."""
    from visiondrift.demo._onnx_builder import dense_classifier_onnx
    from visiondrift.demo._tflite_builder import DenseLayer

    path = work / f"wide_{width}.onnx"
    if not path.exists():
        rng = np.random.default_rng(0)
        sizes = (28 * 28, width, width, 10)
        layers = [
            DenseLayer(
                (rng.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32),
                np.zeros(b, dtype=np.float32),
                relu=i < len(sizes) - 2,
            )
            for i, (a, b) in enumerate(itertools.pairwise(sizes))
        ]
        path.write_bytes(dense_classifier_onnx(layers, (1, 28, 28, 1)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "_work" / "model_reuse")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--model", type=Path, default=None, help="another ONNX/TFLite file")
    parser.add_argument("--wide", action="store_true", help="a classifier of 2x2,048 units")
    args = parser.parse_args()
    model, images = ensure_data(args.work, args.images)
    model = args.model or (wide_model(args.work) if args.wide else model)
    spec = ModelSpec(model)
    loaded = spec.load()
    visiondrift.profile(images, model=loaded, workers=1)  # warm the caches of both ways
    per_run: list[float] = []
    once: list[float] = []
    load: list[float] = []
    for _ in range(args.runs):
        start = time.perf_counter()
        a = visiondrift.profile(images, model=model, workers=1)
        per_run.append(time.perf_counter() - start)
        start = time.perf_counter()
        b = visiondrift.profile(images, model=loaded, workers=1)
        once.append(time.perf_counter() - start)
        start = time.perf_counter()
        spec.load()
        load.append(time.perf_counter() - start)
        assert a.n_images == b.n_images == args.images
    slow, fast = statistics.median(per_run), statistics.median(once)
    print(
        f"{args.images} images, {model.name}, workers=1, median of {args.runs} runs: "
        f"load per run {slow * 1000:.0f} ms, loaded once {fast * 1000:.0f} ms "
        f"(saves {(slow - fast) * 1000:.0f} ms per run, ratio {slow / fast:.2f}); "
        f"ModelSpec.load() alone {statistics.median(load) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
