"""Shared fixtures: real photos (shipped in pip packages) written as real image files."""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from PIL import Image

from visiondrift.demo.samples import CameraChange, make_dataset, real_photos

if TYPE_CHECKING:
    from visiondrift.store import HistoryStore


@pytest.fixture(scope="session")
def photos() -> list[tuple[str, np.ndarray]]:
    return real_photos()


@pytest.fixture(scope="session")
def photo_dir(
    tmp_path_factory: pytest.TempPathFactory, photos: list[tuple[str, np.ndarray]]
) -> Path:
    """160 JPEG crops of real photos, 96x96."""
    out = tmp_path_factory.mktemp("photos")
    make_dataset(out, 160, size=(96, 96), seed=11, photos=photos)
    return out


@pytest.fixture(scope="session")
def changed_dir(
    tmp_path_factory: pytest.TempPathFactory, photos: list[tuple[str, np.ndarray]]
) -> Path:
    """80 crops of the same photos through a camera change (darker, softer, noisier)."""
    out = tmp_path_factory.mktemp("changed")
    make_dataset(out, 80, size=(96, 96), seed=12, photos=photos, transform=CameraChange())
    return out


@pytest.fixture(scope="session")
def same_dir(
    tmp_path_factory: pytest.TempPathFactory, photos: list[tuple[str, np.ndarray]]
) -> Path:
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
def corpus_dir(
    tmp_path_factory: pytest.TempPathFactory, photos: list[tuple[str, np.ndarray]]
) -> Path:
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


# --- the history store ------------------------------------------------------------------------

#: The PostgreSQL server the store tests use (CI runs one; locally: see the failure message).
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session", autouse=True)
def _private_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test writes into the user's data folder: the default store is a file of the session."""
    folder = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VISIONDRIFT_STORE", str(folder / "history.sqlite"))
        patch.setenv("XDG_DATA_HOME", str(folder / "data"))
        yield folder / "history.sqlite"


def pg_connect() -> Any:
    """A psycopg connection to the test server, or a test failure that says how to start it."""
    import psycopg

    try:
        return psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=5, autocommit=True
        )
    except psycopg.OperationalError as err:
        pytest.fail(
            "PostgreSQL is not reachable on 127.0.0.1:5432: start it with "
            "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' (trust "
            "authentication for user postgres, database 'test'); the history store's tests need "
            f"it. Got: {err}",
            pytrace=False,
        )


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema name, dropped with everything in it afterwards."""
    name = f"vdtest_{secrets.token_hex(6)}"
    conn = pg_connect()
    try:
        yield name
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """Where a fresh store lives: a SQLite file in tmp_path, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite"), None
    return PG_URL, str(request.getfixturevalue("pg_schema"))


@pytest.fixture
def store(store_location: tuple[str, str | None]) -> Iterator[HistoryStore]:
    """A fresh history store, on SQLite and on PostgreSQL."""
    from visiondrift.store import HistoryStore

    location, schema = store_location
    with HistoryStore(location, pg_schema=schema) as opened:
        yield opened
