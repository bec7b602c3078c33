"""A toy classifier: a fixed softmax over an image's mean colour (apple, leaf or sky).

It stands for any model: what matters to the monitor is the probability vector it returns.
"""

from __future__ import annotations

import io

import numpy as np
from numpy.typing import NDArray
from PIL import Image

CLASSES = ("apple", "leaf", "sky")
# Class colours (RGB) the reference images are drawn around, and the logits' weights.
COLOURS = np.array([[200.0, 40.0, 40.0], [50.0, 170.0, 60.0], [70.0, 130.0, 220.0]])
WEIGHTS = np.array([[8.0, -4.0, -4.0], [-4.0, 8.0, -4.0], [-4.0, -4.0, 8.0]])
#: Pixels decoded at most (a bigger upload is refused: the decompression-bomb guard).
MAX_PIXELS = 4096 * 4096


class BadImage(ValueError):
    """The upload is not an image this classifier can read."""


def mean_colour(data: bytes) -> NDArray[np.float64]:
    """The mean RGB colour (0-255) of an encoded image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise BadImage(f"the image has more than {MAX_PIXELS} pixels")
            image.draft("RGB", (64, 64))  # JPEG: decode at a reduced size
            small = image.convert("RGB").resize((32, 32))
    except (OSError, Image.DecompressionBombError) as err:
        raise BadImage(f"not a readable image ({err})") from err
    return np.asarray(small, dtype=np.float64).reshape(-1, 3).mean(axis=0)


def predict(colour: NDArray[np.float64]) -> NDArray[np.float64]:
    """The class probabilities of an image of mean colour ``colour``."""
    x = np.asarray(colour, dtype=np.float64) / 255.0
    logits = WEIGHTS @ (x - x.mean())
    e = np.exp(logits - logits.max())
    return e / e.sum()


def sample_colours(n: int, *, seed: int, darken: float = 1.0) -> NDArray[np.float64]:
    """``n`` mean colours of the kind of images the shop sees (``darken`` < 1: a darker
    camera, the drift the example shows)."""
    rng = np.random.default_rng(seed)
    classes = rng.integers(0, len(CLASSES), size=n)
    colours = COLOURS[classes] + rng.normal(0.0, 35.0, size=(n, 3))
    return np.clip(colours * darken, 0.0, 255.0)
