"""Shared fixtures: real photos (shipped in pip packages) written as real image files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from visiondrift.demo.samples import CameraChange, make_dataset, real_photos


@pytest.fixture(scope="session")
def photos() -> list[tuple[str, np.ndarray]]:
    return real_photos()


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Path:
    """160 JPEG crops of real photos, 96x96."""
    out = tmp_path_factory.mktemp("photos")
    make_dataset(out, 160, size=(96, 96), seed=11, photos=photos)
    return out


@pytest.fixture(scope="session")
def changed_dir(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Path:
    """80 crops of the same photos through a camera change (darker, softer, noisier)."""
    out = tmp_path_factory.mktemp("changed")
    make_dataset(out, 80, size=(96, 96), seed=12, photos=photos, transform=CameraChange())
    return out


@pytest.fixture(scope="session")
def same_dir(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Path:
    """80 fresh crops of the same photos, same camera."""
    out = tmp_path_factory.mktemp("same")
    make_dataset(out, 80, size=(96, 96), seed=13, photos=photos)
    return out


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png_bomb(path: Path, width: int, height: int) -> None:
    """A tiny PNG whose header claims width x height greyscale pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    # One compressed row of zeros stands for the whole image: the file stays tiny.
    data = zlib.compress(b"\x00" * (width + 1), 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", data)
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture(scope="session")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Path:
    """Real files in every supported format and mode, plus a corpus of broken ones."""
    out = tmp_path_factory.mktemp("corpus")
    good = out / "good"
    bad = out / "bad"
    good.mkdir()
    bad.mkdir()
    rgb = Image.fromarray(photos[0][1]).resize((64, 48))
    rgb.save(good / "rgb.jpg", quality=92)
    rgb.save(good / "rgb.png")
    rgb.save(good / "rgb.bmp")
    rgb.save(good / "rgb.webp", quality=90)
    rgb.save(good / "rgb.tiff")
    rgb.convert("L").save(good / "grey.png")
    rgb.convert("P", palette=Image.Palette.ADAPTIVE).save(good / "palette.png")
    rgb.convert("RGBA").save(good / "rgba.png")
    rgb.convert("LA").save(good / "grey_alpha.png")
    rgb.convert("CMYK").save(good / "cmyk.jpg")
    rgb.convert("1").save(good / "bilevel.tiff")
    sixteen = (np.asarray(rgb.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    sixteen_image = Image.fromarray(sixteen)
    assert sixteen_image.mode == "I;16"
    sixteen_image.save(good / "sixteen_bit.png")
    frames = [rgb, rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT), rgb.rotate(180)]
    frames[0].save(good / "animated.gif", save_all=True, append_images=frames[1:], duration=50)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    rgb.save(good / "exif_rotated.jpg", exif=exif, quality=92)
    (good / "nested").mkdir()
    rgb.save(good / "nested" / "deep.JPG", quality=90)

    (bad / "empty.jpg").write_bytes(b"")
    full = (good / "rgb.jpg").read_bytes()
    (bad / "truncated.jpg").write_bytes(full[: len(full) // 2])
    (bad / "text.jpg").write_text("this is not an image\n")
    write_png_bomb(bad / "bomb.png", 40_000, 40_000)
    Image.new("RGB", (1, 1), (200, 10, 10)).save(bad / "one_pixel.png")
    Image.fromarray(photos[1][1]).resize((32, 32)).save(bad / "icon_really_ico.png", format="ICO")
    (bad / "unreadable.png").symlink_to(bad / "missing-target.png")
    return out
