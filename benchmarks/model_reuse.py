"""What a loaded model saves per run: profile 100 images with the demo ONNX model, loading the
model in every run (``model=path``) against passing the model loaded once (``model=loaded``).

Usage::

    python benchmarks/model_reuse.py [--work benchmarks/_work] [--images 100] [--runs 7]
                                     [--model OTHER.onnx]

Builds (once, under --work, git-ignored) the demo classifier and writes ``--images`` of its
held-out images as PNG files. Each run profiles them in this process (``workers=1``: the case of
a long-running service that profiles small batches); the two ways alternate so that both see the
same machine load. Prints the median seconds per run of each, their ratio, and the median time
of ``ModelSpec.load()`` alone.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "_work" / "model_reuse")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--model", type=Path, default=None, help="another ONNX/TFLite file")
    args = parser.parse_args()
    model, images = ensure_data(args.work, args.images)
    model = args.model or model
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
