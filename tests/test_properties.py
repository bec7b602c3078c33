"""Per-image measurements on real photos: exact where exact is possible, right in direction."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from visiondrift.decode import DecodedImage, decode_image
from visiondrift.decode._jpeg import LOSSLESS_QUALITY, quality_from_tables
from visiondrift.measure._measurer import measure
from visiondrift.measure.properties import PROPERTY_NAMES, MeasureConfig


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


@pytest.mark.parametrize("quality", [10, 20, 50, 75, 90, 95])
def test_jpeg_quality_is_read_from_the_quantisation_tables(
    astronaut: np.ndarray, tmp_path: Path, quality: int
) -> None:
    path = tmp_path / f"q{quality}.jpg"
    Image.fromarray(astronaut).save(path, quality=quality)
    decoded = decode_image(str(path), path.name)
    assert isinstance(decoded, DecodedImage)
    assert decoded.jpeg_quality == quality
    with Image.open(path) as im:  # Pillow's view of the same tables
        assert quality_from_tables(im.quantization) == quality
    _, values = measure(decoded, MeasureConfig())
    assert values[PROPERTY_NAMES.index("jpeg_quality")] == quality


def test_files_that_are_not_jpeg_count_as_lossless(astronaut: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.fromarray(astronaut).save(path)
    decoded = decode_image(str(path), path.name)
    assert isinstance(decoded, DecodedImage)
    assert decoded.jpeg_quality is None
    assert _values(astronaut)["jpeg_quality"] == LOSSLESS_QUALITY


def _round_trip(arr: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(arr).save(buffer, "JPEG", quality=quality)
    with Image.open(buffer) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize("name", ["astronaut", "chelsea", "coffee"])
def test_blockiness_sees_compression_not_upscaling(photos: list, name: str) -> None:
    crop = dict(photos)[name][:128, :128]
    plain = _values(crop)["blockiness"]
    light = _values(_round_trip(crop, 95))["blockiness"]
    heavy = _values(_round_trip(crop, 20))["blockiness"]
    assert heavy > 1.3 * max(plain, light)
    # Bilinear upscaling leaves a pattern of period 2, not an 8-pixel grid.
    small = Image.fromarray(crop).resize((64, 64), Image.Resampling.BILINEAR)
    upscaled = np.asarray(small.resize((128, 128), Image.Resampling.BILINEAR))
    assert _values(upscaled)["blockiness"] == pytest.approx(plain, rel=0.1)


def test_a_quarter_turn_mirrors_the_orientation_share(astronaut: np.ndarray) -> None:
    share = _values(astronaut)["vertical_edges"]
    turned = _values(np.ascontiguousarray(np.rot90(astronaut)))["vertical_edges"]
    assert share != pytest.approx(0.5, abs=0.02)
    assert turned == pytest.approx(1.0 - share, abs=1e-9)
