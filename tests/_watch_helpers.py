"""Batches for the watch tests: small folders of real photo crops, clean or through a camera
change, or only broken files; a baseline of the same photos; and the command line to run."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from visiondrift.demo.samples import CameraChange, make_dataset, real_photos

__all__ = [
    "BATCH_SIZE",
    "child_env",
    "make_baseline",
    "visiondrift_command",
    "write_batch",
    "write_broken",
]

#: Images per batch: enough for the camera change to be detected, few enough to be quick.
BATCH_SIZE = 24
SIZE = (48, 48)


def make_baseline(folder: Path, out: Path) -> Path:
    """A baseline profile of 60 clean crops, dataset 'skin'."""
    from visiondrift import profile

    make_dataset(folder, 60, size=SIZE, seed=100, photos=real_photos())
    profile(folder, workers=1).with_dataset("skin").save(out)
    return out


def write_batch(
    folder: Path, *, seed: int, drifted: bool = False, marker: str | None = "_SUCCESS"
) -> Path:
    """A batch of clean crops (or crops through a camera change), then its marker file."""
    make_dataset(
        folder,
        BATCH_SIZE,
        size=SIZE,
        seed=seed,
        photos=real_photos(),
        transform=CameraChange() if drifted else None,
    )
    if marker is not None:
        (folder / marker).write_text("")
    return folder


def write_broken(folder: Path, *, marker: str | None = "_SUCCESS") -> Path:
    """A batch whose every file is unusable (text and truncated bytes named as images)."""
    folder.mkdir(parents=True)
    for i in range(4):
        (folder / f"broken{i}.jpg").write_text("this is not an image\n")
    (folder / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    if marker is not None:
        (folder / marker).write_text("")
    return folder


def visiondrift_command() -> list[str]:
    """How a test starts the real command line in a new process."""
    return [sys.executable, "-m", "visiondrift.cli"]


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a watcher started by a test: no VISIONDRIFT_* variable but
    ``extra`` (run it in a folder without a settings file), unbuffered."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISIONDRIFT_")}
    env.update({"PYTHONUNBUFFERED": "1"}, **extra)
    return env
