"""Sample datasets made from real photos that ship inside pip packages.

Used by the demo, the benchmarks and the tests; handy for trying visiondrift without data of your
own. Needs the ``demo`` extra (``pip install 'visiondrift[demo]'``): scikit-image, scikit-learn and
matplotlib ship the photos. Nothing is downloaded.

The photos: scikit-image's astronaut, chelsea, coffee, rocket, retina, immunohistochemistry and
hubble_deep_field; scikit-learn's china and flower; matplotlib's grace_hopper. Datasets are random
crops of them (crop size, position and photo drawn from a seeded generator), resized.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from visiondrift.errors import MissingExtraError

__all__ = ["CameraChange", "make_dataset", "real_photos"]

_SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "retina",
    "immunohistochemistry",
    "hubble_deep_field",
)


def real_photos() -> list[tuple[str, NDArray[np.uint8]]]:
    """The colour photos shipped by scikit-image, scikit-learn and matplotlib, as RGB arrays."""
    try:
        import matplotlib
        import skimage.data
        from sklearn.datasets import load_sample_images
    except ImportError as err:
        raise MissingExtraError(
            "Sample photos need the 'demo' extra: pip install 'visiondrift[demo]'"
        ) from err
    photos: list[tuple[str, NDArray[np.uint8]]] = []
    for name in _SKIMAGE_PHOTOS:
        photos.append((name, np.asarray(getattr(skimage.data, name)(), dtype=np.uint8)))
    bunch = load_sample_images()
    for path, image in zip(bunch.filenames, bunch.images, strict=True):
        photos.append((Path(path).stem, np.asarray(image, dtype=np.uint8)))
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(hopper) as im:
        photos.append(("grace_hopper", np.asarray(im.convert("RGB"))))
    return photos


@dataclass(frozen=True)
class CameraChange:
    """A simulated change of camera: darker, softer and noisier.

    Parameters
    ----------
    gain
        Multiplies pixel values (0.75 = 25% darker).
    blur
        Gaussian blur radius in pixels (the new lens or focus is softer).
    noise
        Standard deviation of added Gaussian sensor noise, in grey levels.
    """

    gain: float = 0.75
    blur: float = 1.2
    noise: float = 6.0

    def __call__(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        out = image.filter(ImageFilter.GaussianBlur(self.blur)) if self.blur > 0 else image
        arr = np.asarray(out, dtype=np.float32) * self.gain
        if self.noise > 0:
            arr = arr + rng.normal(0.0, self.noise, arr.shape).astype(np.float32)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))

    def describe(self) -> str:
        return (
            f"darker (gain {self.gain:g}), softer (Gaussian blur radius {self.blur:g} px) and "
            f"noisier (sensor noise sd {self.noise:g} grey levels)"
        )


Transform = Callable[[Image.Image, np.random.Generator], Image.Image]


def make_dataset(
    out_dir: str | os.PathLike[str],
    n: int,
    *,
    size: tuple[int, int] = (224, 224),
    seed: int = 0,
    transform: Transform | None = None,
    quality: int = 90,
    photos: list[tuple[str, NDArray[np.uint8]]] | None = None,
    min_crop: float = 0.3,
    fmt: str = "JPEG",
) -> list[Path]:
    """Write ``n`` images made of random crops of real photos into ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to create and fill.
    n
        Number of images.
    size
        Output (width, height).
    seed
        Seed of the crops and of the transform's randomness.
    transform
        Applied to each resized crop (for example a :class:`CameraChange`).
    quality
        JPEG quality.
    photos
        Source photos (default: :func:`real_photos`).
    min_crop
        Smallest crop side, as a fraction of the photo's shorter side.
    fmt
        Pillow format name of the written files (``JPEG``, ``PNG``...).
    """
    rng = np.random.default_rng(seed)
    sources = photos if photos is not None else real_photos()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ext = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "BMP": "bmp", "TIFF": "tif"}.get(
        fmt, fmt.lower()
    )
    aspect = size[0] / size[1]
    written = []
    for i in range(n):
        name, photo = sources[int(rng.integers(len(sources)))]
        h, w = photo.shape[:2]
        ch = int(rng.integers(max(8, int(min_crop * min(h, w / aspect))), int(min(h, w / aspect))))
        cw = max(1, round(ch * aspect))
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
        image = Image.fromarray(photo[y : y + ch, x : x + cw]).resize(
            size, Image.Resampling.BILINEAR
        )
        if transform is not None:
            image = transform(image, rng)
        path = out / f"{name}_{i:05d}.{ext}"
        if fmt == "JPEG":
            image.save(path, fmt, quality=quality)
        else:
            image.save(path, fmt)
        written.append(path)
    return written
