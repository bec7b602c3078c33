"""Baselines and records for the service's record tests: prediction records from a seeded
softmax model (a shift of its logits is drift), and photos as base64 image records."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from visiondrift.profiles import Profile, ProfileBuilder, ProfileConfig

CLASSES = ("cat", "dog", "bird")


def probabilities(n: int, *, seed: int, shift: float = 0.0) -> list[list[float]]:
    """``n`` probability vectors of a 3-class model; ``shift`` moves the first class's logit."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, size=(n, len(CLASSES)))
    logits[:, 0] += shift
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return [[float(x) for x in row] for row in p]


def predictions_baseline(n: int = 400, *, seed: int = 1) -> Profile:
    """A baseline of ``n`` prediction records (kind ``predictions``)."""
    builder = ProfileBuilder(ProfileConfig(reservoir_size=2000))
    builder.set_model(CLASSES, {"format": "predictions (jsonl)"})
    for i, p in enumerate(probabilities(n, seed=seed)):
        builder.add_prediction(f"base/{i}", np.asarray(p), label=CLASSES[i % 3])
    return builder.build()


def records(n: int, *, seed: int, shift: float = 0.0, prefix: str = "r") -> list[dict[str, Any]]:
    """``n`` records as posted: an id, the probabilities, a little metadata."""
    return [
        {"id": f"{prefix}{i}", "probabilities": p, "metadata": {"site": "a", "camera": i % 2}}
        for i, p in enumerate(probabilities(n, seed=seed, shift=shift))
    ]


def png_base64(array: np.ndarray) -> str:
    """An RGB array as a base64 PNG."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
