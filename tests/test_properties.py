"""Per-image measurements on real photos: exact where exact is possible, right in direction."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from visiondrift.decode import DecodedImage
from visiondrift.measure import measure
from visiondrift.properties import PROPERTY_NAMES, MeasureConfig


def _decoded(arr: np.ndarray) -> DecodedImage:
    im = Image.fromarray(arr)
    return DecodedImage(im, "PNG", "RGB", im.width, im.height, 1000, 1)


def _values(arr: np.ndarray) -> dict[str, float]:
    _, values = measure(_decoded(arr), MeasureConfig())
    return dict(zip(PROPERTY_NAMES, values.tolist(), strict=True))


@pytest.fixture
def astronaut(photos: list) -> np.ndarray:
    return dict(photos)["astronaut"]


def test_histograms_and_channel_statistics_are_exact(astronaut: np.ndarray) -> None:
    hists, values = measure(_decoded(astronaut), MeasureConfig())
    for c in range(3):
        np.testing.assert_array_equal(
            hists[c], np.bincount(astronaut[..., c].ravel(), minlength=256)
        )
    v = dict(zip(PROPERTY_NAMES, values.tolist(), strict=True))
    assert v["mean_r"] == pytest.approx(astronaut[..., 0].mean() / 255, abs=1e-12)
    assert v["std_g"] == pytest.approx(astronaut[..., 1].std() / 255, abs=1e-9)
    luma = np.asarray(Image.fromarray(astronaut).convert("L"))
    assert v["brightness"] == pytest.approx(luma.mean() / 255, abs=1e-12)
    assert v["contrast"] == pytest.approx(luma.std() / 255, abs=1e-9)
    assert hists[3].sum() == luma.size


def test_darker_image_has_lower_brightness(astronaut: np.ndarray) -> None:
    dark = (astronaut * 0.6).astype(np.uint8)
    assert _values(dark)["brightness"] < 0.65 * _values(astronaut)["brightness"]


def test_blur_lowers_sharpness(astronaut: np.ndarray) -> None:
    blurred = np.asarray(Image.fromarray(astronaut).filter(ImageFilter.GaussianBlur(3)))
    assert _values(blurred)["sharpness"] < 0.3 * _values(astronaut)["sharpness"]


def test_noise_estimate_recovers_known_sigma() -> None:
    rng = np.random.default_rng(0)
    for sigma in (2.0, 5.0, 10.0):
        flat = np.clip(128 + rng.normal(0, sigma, (256, 256, 3)), 0, 255).round().astype(np.uint8)
        # Luma mixes three independent channels: noise sd is sigma * |(0.299, 0.587, 0.114)|.
        expected = sigma * np.sqrt(0.299**2 + 0.587**2 + 0.114**2)
        assert _values(flat)["noise"] == pytest.approx(expected, rel=0.15)


def test_grey_image_has_zero_saturation_and_colourfulness(astronaut: np.ndarray) -> None:
    grey = np.repeat(np.asarray(Image.fromarray(astronaut).convert("L"))[..., None], 3, axis=2)
    v = _values(grey)
    assert v["saturation"] == 0.0
    assert v["colourfulness"] == 0.0
    assert _values(astronaut)["saturation"] > 0.1


def test_clipping_and_entropy() -> None:
    half = np.zeros((64, 64, 3), dtype=np.uint8)
    half[:, 32:] = 255
    v = _values(half)
    assert v["dark_clip"] == pytest.approx(0.5)
    assert v["bright_clip"] == pytest.approx(0.5)
    assert v["entropy"] == pytest.approx(1.0)


def test_properties_depend_little_on_resolution(astronaut: np.ndarray) -> None:
    big = Image.fromarray(astronaut)
    small = big.resize((256, 256), Image.Resampling.LANCZOS)
    vb, vs = _values(np.asarray(big)), _values(np.asarray(small))
    for name in ("sharpness", "saturation", "colourfulness", "brightness"):
        assert vs[name] == pytest.approx(vb[name], rel=0.25), name
    assert vb["width"] == 512
    assert vs["megapixels"] == pytest.approx(256 * 256 / 1e6)
