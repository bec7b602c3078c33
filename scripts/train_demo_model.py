"""Train the demo classifier and export it to ONNX and TFLite.

Trains a small perceptron (784 -> 64 -> 10, numpy, seeded) on the 10,000 animal silhouettes of
the ``animal-mnist`` package (or scikit-learn's digits), prints the held-out accuracy, and writes
into ``--out``:

- ``demo.onnx``          uint8 input [batch, 28, 28, 1], raw grayscale pixels, softmax output
- ``demo.tflite``        the same weights as TFLite
- ``demo_uint8.tflite``  the same with uint8-quantised input and output
- ``labels.txt``         the class names, one per line (also stored in the model metadata)

The preprocessing is built into the models, so ``ModelSpec(path).load()`` needs no options; the
64-unit hidden layer is the tensor ``embedding``. Runs offline in a few seconds.

Usage::

    python scripts/train_demo_model.py --out demo-output/model
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from visiondrift.demo.model import build_demo_models, load_demo_dataset
from visiondrift.errors import MissingExtraError


def _check_exports(out_dir: Path, test_indices: np.ndarray, dataset: str) -> None:
    """Run the exported files through the adapters and compare them on held-out images."""
    from visiondrift.models import ModelSpec

    data = load_demo_dataset(dataset)  # type: ignore[arg-type]
    idx = test_indices[:500]
    images = [np.repeat(data.images[i][:, :, None], 3, axis=2) for i in idx]
    results = {}
    for name in ("demo.onnx", "demo.tflite", "demo_uint8.tflite"):
        try:
            model = ModelSpec(out_dir / name).load()
        except MissingExtraError as err:
            print(f"  {name}: not checked ({err})")
            continue
        probs = model.predict(images).probabilities
        results[name] = probs
        accuracy = float(np.mean(probs.argmax(axis=1) == data.labels[idx]))
        print(f"  {name}: accuracy {accuracy:.3f} on {len(idx)} held-out images")
    if "demo.onnx" in results:
        for name, probs in results.items():
            if name != "demo.onnx":
                diff = float(np.abs(probs - results["demo.onnx"]).max())
                print(f"  {name} vs demo.onnx: max probability difference {diff:.2e}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--dataset", choices=["animal-mnist", "digits"], default="animal-mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=64, help="units in the embedding layer")
    parser.add_argument(
        "--no-check", action="store_true", help="skip running the exports through the adapters"
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    demo = build_demo_models(
        args.out, dataset=args.dataset, seed=args.seed, hidden=args.hidden, epochs=args.epochs
    )
    print(f"Trained on {args.dataset} in {time.perf_counter() - start:.1f} s")
    print(f"  train accuracy    {demo.train_accuracy:.3f}")
    print(f"  held-out accuracy {demo.test_accuracy:.3f} ({len(demo.test_indices)} images)")
    print(f"  classes: {', '.join(demo.class_names)}")
    for path in (demo.onnx, demo.tflite, demo.tflite_uint8, demo.labels):
        print(f"  wrote {path}")
    if not args.no_check:
        _check_exports(args.out, demo.test_indices, args.dataset)
    return 0


if __name__ == "__main__":
    sys.exit(main())
