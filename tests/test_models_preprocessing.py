"""Preprocessing: resize modes, value scaling, channel order, grayscale, layout, quantisation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from visiondrift.errors import ConfigError
from visiondrift.models import Preprocessing
from visiondrift.models.preprocessing import IMAGENET_MEAN, IMAGENET_STD, InputTarget, preprocess

skdata = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def cat() -> NDArray[np.uint8]:
    return np.asarray(skdata.chelsea())  # 300 x 451 RGB


def _target(**kw: object) -> InputTarget:
    base: dict[str, object] = {
        "height": 32,
        "width": 32,
        "channels": 3,
        "layout": "NHWC",
        "dtype": "float32",
        "quantization": None,
    }
    base.update(kw)
    return InputTarget(**base)  # type: ignore[arg-type]


def test_stretch_matches_pillow(cat: NDArray[np.uint8]) -> None:
    pre = Preprocessing(scaling="raw", interpolation="bicubic")
    got = preprocess([cat], pre, _target(height=20, width=40))
    want = np.asarray(Image.fromarray(cat).resize((40, 20), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(got[0], want.astype(np.float32))


def test_shorter_side_crop_equals_resize_then_centre_crop(cat: NDArray[np.uint8]) -> None:
    """One resampling from the crop box is close to resizing then cropping (two steps)."""
    pre = Preprocessing(resize="shorter-side-crop", resize_shorter=64, scaling="raw")
    got = preprocess([cat], pre, _target(height=56, width=56))[0]
    small = Image.fromarray(cat).resize((round(451 * 64 / 300), 64), Image.Resampling.BILINEAR)
    left = (small.width - 56) // 2
    top = (small.height - 56) // 2
    want = np.asarray(small.crop((left, top, left + 56, top + 56)), dtype=np.float32)
    assert np.mean(np.abs(got - want)) < 6.0  # the two resamplings differ by under a pixel
    # The crop keeps the centre: the left and right borders of the photo are gone.
    stretch = preprocess([cat], Preprocessing(scaling="raw"), _target(height=56, width=56))[0]
    assert np.mean(np.abs(got - stretch)) > 10.0


def test_shorter_side_crop_without_resize_shorter_covers_the_target(
    cat: NDArray[np.uint8],
) -> None:
    pre = Preprocessing(resize="shorter-side-crop", scaling="raw", interpolation="nearest")
    tall = np.zeros((100, 10, 3), dtype=np.uint8)
    tall[48:52] = 255  # a white band across the middle
    got = preprocess([tall], pre, _target(height=10, width=10))[0]
    # The centre 10x10 of the strip, not the whole strip squashed: rows 45..54 of the image.
    assert got[:3].max() == 0
    assert got[3:7].min() == 255
    assert got[7:].max() == 0


@pytest.mark.parametrize(
    ("scaling", "low", "high"),
    [("raw", 0.0, 255.0), ("0-1", 0.0, 1.0), ("-1-1", -1.0, 1.0)],
)
def test_scaling_presets(scaling: str, low: float, high: float) -> None:
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    image[:, 2:] = 255
    out = preprocess([image], Preprocessing(scaling=scaling), _target(height=4, width=4))  # type: ignore[arg-type]
    assert out.min() == pytest.approx(low)
    assert out.max() == pytest.approx(high)


def test_imagenet_and_custom_mean_std() -> None:
    image = np.full((2, 2, 3), 128, dtype=np.uint8)
    target = _target(height=2, width=2)
    out = preprocess([image], Preprocessing(scaling="imagenet"), target)[0, 0, 0]
    want = (128 / 255 - np.asarray(IMAGENET_MEAN)) / np.asarray(IMAGENET_STD)
    np.testing.assert_allclose(out, want, rtol=1e-6)
    same = Preprocessing(scaling="0-1", mean=IMAGENET_MEAN, std=IMAGENET_STD)
    np.testing.assert_allclose(preprocess([image], same, target)[0, 0, 0], want, rtol=1e-6)
    half = Preprocessing(scaling="0-1", mean=(0.5,), std=(0.5,))
    minus = Preprocessing(scaling="-1-1")
    np.testing.assert_allclose(
        preprocess([image], half, target), preprocess([image], minus, target), atol=1e-6
    )


def test_bgr_and_nchw() -> None:
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    image[..., 0] = 10  # R
    image[..., 2] = 200  # B
    pre = Preprocessing(scaling="raw", channel_order="BGR")
    out = preprocess([image], pre, _target(height=2, width=3, layout="NCHW"))
    assert out.shape == (1, 3, 2, 3)
    assert out.flags.c_contiguous
    assert out[0, 0].max() == 200  # first channel is blue
    assert out[0, 2].max() == 10


def test_grayscale_for_one_channel_models(cat: NDArray[np.uint8]) -> None:
    pre = Preprocessing(scaling="raw")
    out = preprocess([cat], pre, _target(height=30, width=45, channels=1))
    assert out.shape == (1, 30, 45, 1)
    gray = Image.fromarray(cat).convert("L")
    want = np.asarray(gray.resize((45, 30), Image.Resampling.BILINEAR), dtype=np.float32)
    np.testing.assert_array_equal(out[0, :, :, 0], want)


def test_integer_inputs() -> None:
    image = np.array([[[0, 128, 255]]], dtype=np.uint8)
    raw_u8 = preprocess([image], Preprocessing(), _target(height=1, width=1, dtype="uint8"))
    assert raw_u8.dtype == np.uint8
    assert raw_u8.ravel().tolist() == [0, 128, 255]
    raw_i8 = preprocess([image], Preprocessing(), _target(height=1, width=1, dtype="int8"))
    assert raw_i8.ravel().tolist() == [-128, 0, 127]
    # An explicit scaling is quantised with the input's scale and zero point.
    quant = _target(height=1, width=1, dtype="int8", quantization=(2.0 / 255.0, 0))
    q = preprocess([image], Preprocessing(scaling="-1-1"), quant).ravel().tolist()
    assert q[0] == -127
    assert q[1] in (0, 1)  # 128 / 127.5 - 1 is half a quantisation step above 0
    assert q[2] == 127


def test_a_batch_of_different_sizes(cat: NDArray[np.uint8]) -> None:
    images = [cat, cat[:50, :200], np.asarray(skdata.camera())]  # grayscale 2-D accepted
    out = preprocess(images, Preprocessing(), _target())
    assert out.shape == (3, 32, 32, 3)
    assert out.dtype == np.float32


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"resize": "fit"}, "'resize' preprocessing option must be one of"),
        ({"interpolation": "lanczos"}, "'interpolation'"),
        ({"scaling": "0-255"}, "'scaling'"),
        ({"mean": (1.0, 2.0)}, "1 or 3 numbers"),
        ({"std": (0.0,)}, "'std' preprocessing option must be positive"),
        ({"scaling": "imagenet", "mean": (0.5,)}, "already sets mean and std"),
        ({"size": (0, 3)}, "'size'"),
        ({"resize_shorter": 256}, "needs resize='shorter-side-crop'"),
        ({"channel_order": "RBG"}, "'channel_order'"),
    ],
)
def test_invalid_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Preprocessing(**options)  # type: ignore[arg-type]


def test_round_trip_and_int_size() -> None:
    pre = Preprocessing(
        size=224, resize="shorter-side-crop", resize_shorter=256, mean=[0.5], std=(0.25,)
    )
    assert pre.size == (224, 224)
    assert pre.mean == (0.5,)
    assert Preprocessing.from_dict(pre.to_dict()) == pre
    with pytest.raises(ConfigError, match="Unknown preprocessing option"):
        Preprocessing.from_dict({"sise": 3})


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"interpolation": "bicubic"},
        {"resize": "shorter-side-crop"},
        {"resize": "shorter-side-crop", "resize_shorter": 40},
        {"resize": "shorter-side-crop", "interpolation": "nearest"},
    ],
)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [(451, 300), (32, 32), (32, 48), (20, 16)])
def test_resizing_the_pil_image_first_gives_the_same_batch(
    cat: NDArray[np.uint8], options: dict[str, object], channels: int, size: tuple[int, int]
) -> None:
    """The profiler resizes each decoded image before batching where that is exact
    (``presizer``); the batch the adapter then builds equals the one from the full image."""
    from visiondrift.models.preprocessing import presizer, resize_images

    image = Image.fromarray(cat).resize(size, Image.Resampling.BILINEAR)
    pre = Preprocessing(scaling="raw", **options)  # type: ignore[arg-type]
    target = _target(channels=channels)
    direct = resize_images([np.asarray(image)], pre, target)
    handed = presizer(pre, target)(image)
    if "resize_shorter" in options:  # a second crop would cut it again: the full image
        assert handed.shape == (size[1], size[0], 3)
    else:
        assert handed.shape[:2] == (32, 32)
    np.testing.assert_array_equal(resize_images([handed], pre, target), direct)


@pytest.mark.parametrize(
    "options",
    [
        {"scaling": "0-1"},
        {"scaling": "-1-1", "channel_order": "BGR"},
        {"scaling": "imagenet"},
        {"scaling": "0-1", "mean": (0.4, 0.5, 0.6), "std": (0.2, 0.25, 0.3)},
        {"scaling": "raw", "mean": (120.0,), "std": (60.0,)},
    ],
)
def test_nchw_is_the_transposed_nhwc_batch(
    cat: NDArray[np.uint8], options: dict[str, object]
) -> None:
    pre = Preprocessing(**options)  # type: ignore[arg-type]
    images = [cat, cat[::2, ::3]]
    nhwc = preprocess(images, pre, _target())
    nchw = preprocess(images, pre, _target(layout="NCHW"))
    assert nchw.flags.c_contiguous
    assert nchw.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(nchw, nhwc.transpose(0, 3, 1, 2))
    # per-channel constants land on the right channel in both layouts
    if "mean" in options and len(options["mean"]) == 3:  # type: ignore[arg-type]
        raw = preprocess(images, Preprocessing(scaling="0-1"), _target())
        want = (raw - np.float32(0.4)) / np.float32(0.2)
        np.testing.assert_allclose(nhwc[..., 0], want[..., 0], rtol=1e-6)
