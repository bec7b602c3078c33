"""Decoding real files of every supported format and mode, and every reason a file is rejected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondrift.decode import BAD_FILE_REASONS, BadFile, DecodedImage, DecodeLimits, decode_image

GOOD = [
    ("rgb.jpg", "JPEG", "RGB"),
    ("rgb.png", "PNG", "RGB"),
    ("rgb.bmp", "BMP", "RGB"),
    ("rgb.webp", "WEBP", "RGB"),
    ("rgb.tiff", "TIFF", "RGB"),
    ("grey.png", "PNG", "L"),
    ("palette.png", "PNG", "P"),
    ("rgba.png", "PNG", "RGBA"),
    ("grey_alpha.png", "PNG", "LA"),
    ("cmyk.jpg", "JPEG", "CMYK"),
    ("bilevel.tiff", "TIFF", "1"),
    ("sixteen_bit.png", "PNG", "I;16"),
    ("animated.gif", "GIF", "P"),
    ("exif_rotated.jpg", "JPEG", "RGB"),
]

BAD = [
    ("empty.jpg", "empty"),
    ("truncated.jpg", "truncated"),
    ("text.jpg", "not_an_image"),
    ("bomb.png", "too_large"),
    ("one_pixel.png", "too_small"),
    ("icon_really_ico.png", "unsupported_format"),
    ("unreadable.png", "unreadable"),
]


@pytest.mark.parametrize(("name", "fmt", "mode"), GOOD)
def test_every_format_and_mode_decodes_to_8bit_rgb(
    corpus_dir: Path, name: str, fmt: str, mode: str
) -> None:
    result = decode_image(str(corpus_dir / "good" / name), name)
    assert isinstance(result, DecodedImage), result
    assert result.image.mode == "RGB"
    assert result.format == fmt
    assert result.mode == mode
    assert result.file_size == (corpus_dir / "good" / name).stat().st_size
    arr = np.asarray(result.image)
    assert arr.dtype == np.uint8
    assert arr.shape[2] == 3


def test_exif_orientation_is_applied(corpus_dir: Path) -> None:
    plain = decode_image(str(corpus_dir / "good" / "rgb.jpg"), "rgb.jpg")
    rotated = decode_image(str(corpus_dir / "good" / "exif_rotated.jpg"), "exif_rotated.jpg")
    assert isinstance(plain, DecodedImage)
    assert isinstance(rotated, DecodedImage)
    assert (plain.width, plain.height) == (64, 48)
    assert (rotated.width, rotated.height) == (48, 64)
    # Orientation 6 means "rotate 90 degrees clockwise to display".
    expected = np.asarray(plain.image.transpose(Image.Transpose.ROTATE_270), dtype=np.int16)
    diff = np.abs(np.asarray(rotated.image, dtype=np.int16) - expected)
    assert diff.mean() < 3.0


def test_sixteen_bit_is_scaled_not_clipped(corpus_dir: Path) -> None:
    grey = decode_image(str(corpus_dir / "good" / "grey.png"), "grey.png")
    sixteen = decode_image(str(corpus_dir / "good" / "sixteen_bit.png"), "sixteen_bit.png")
    assert isinstance(grey, DecodedImage)
    assert isinstance(sixteen, DecodedImage)
    np.testing.assert_array_equal(np.asarray(grey.image), np.asarray(sixteen.image))


def test_animated_gif_gives_the_first_frame(corpus_dir: Path) -> None:
    result = decode_image(str(corpus_dir / "good" / "animated.gif"), "animated.gif")
    assert isinstance(result, DecodedImage)
    assert result.frames == 3
    with Image.open(corpus_dir / "good" / "animated.gif") as im:
        first = np.asarray(im.convert("RGB"))
    np.testing.assert_array_equal(np.asarray(result.image), first)


def test_cmyk_converts_to_plausible_colours(corpus_dir: Path) -> None:
    rgb = decode_image(str(corpus_dir / "good" / "rgb.png"), "rgb.png")
    cmyk = decode_image(str(corpus_dir / "good" / "cmyk.jpg"), "cmyk.jpg")
    assert isinstance(rgb, DecodedImage)
    assert isinstance(cmyk, DecodedImage)
    diff = np.abs(np.asarray(rgb.image, np.int16) - np.asarray(cmyk.image, np.int16))
    assert diff.mean() < 12.0


@pytest.mark.parametrize(("name", "reason"), BAD)
def test_every_integrity_reason(corpus_dir: Path, name: str, reason: str) -> None:
    result = decode_image(str(corpus_dir / "bad" / name), name)
    assert isinstance(result, BadFile), result
    assert result.reason == reason
    assert result.name == name
    assert result.detail


def test_the_corpus_exercises_every_reason_but_decode_error() -> None:
    # decode_error is the catch-all; bad_row belongs to predictions files; measure_error to a
    # registered per-image metric (tests/test_metric_catalogue.py exercises it).
    others = {"decode_error", "bad_row", "measure_error"}
    assert {r for _, r in BAD} == set(BAD_FILE_REASONS) - others


def test_pixel_limit_is_configurable(corpus_dir: Path) -> None:
    path = str(corpus_dir / "good" / "rgb.png")
    assert isinstance(decode_image(path, "rgb.png", DecodeLimits(max_pixels=64 * 48)), DecodedImage)
    bad = decode_image(path, "rgb.png", DecodeLimits(max_pixels=64 * 48 - 1))
    assert isinstance(bad, BadFile)
    assert bad.reason == "too_large"
    assert "max_pixels=3,071" in bad.detail


@pytest.mark.parametrize("orientation", range(1, 9))
def test_fast_jpeg_path_matches_pillow(
    tmp_path: Path, photos: list, orientation: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The libjpeg-turbo fast path gives Pillow's pixels, orientation and metadata."""
    from visiondrift.decode import _image as decode

    rgb = Image.fromarray(photos[2][1]).resize((40, 30))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    rgb.save(path, exif=exif, quality=90)
    assert decode._simplejpeg is not None
    fast = decode_image(str(path), path.name)
    monkeypatch.setattr(decode, "_simplejpeg", None)
    slow = decode_image(str(path), path.name)
    assert isinstance(fast, DecodedImage)
    assert isinstance(slow, DecodedImage)
    np.testing.assert_array_equal(np.asarray(fast.image), np.asarray(slow.image))
    assert (fast.width, fast.height, fast.format, fast.mode, fast.file_size) == (
        slow.width,
        slow.height,
        slow.format,
        slow.mode,
        slow.file_size,
    )


def test_fast_path_leaves_problem_files_to_pillow(corpus_dir: Path) -> None:
    from visiondrift.decode._image import _decode_jpeg_fast

    limits = DecodeLimits()
    for name in ("truncated.jpg", "text.jpg"):
        path = corpus_dir / "bad" / name
        with path.open("rb") as handle:
            assert _decode_jpeg_fast(handle, name, path.stat().st_size, limits) is None
            assert handle.tell() == 0  # Pillow reads the same handle from the start
    cmyk = corpus_dir / "good" / "cmyk.jpg"
    with cmyk.open("rb") as handle:
        assert _decode_jpeg_fast(handle, "cmyk.jpg", cmyk.stat().st_size, limits) is None
    grey = corpus_dir / "good" / "rgb.jpg"
    with grey.open("rb") as handle:
        tiny = _decode_jpeg_fast(handle, "rgb.jpg", 1, DecodeLimits(max_pixels=10))
    assert isinstance(tiny, BadFile)
    assert tiny.reason == "too_large"
