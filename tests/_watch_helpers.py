"""Batches for the watch tests: small folders of real photo crops, clean or through a camera
change, or only broken files; a baseline of the same photos; and the command line to run."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from visiondrift.demo.samples import CameraChange, make_dataset, real_photos

__all__ = [
    "BATCH_SIZE",
    "Watch",
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


class Watch:
    """``visiondrift watch`` in a process of its own, its stderr read line by line (JSON)."""

    def __init__(self, args: list[str], cwd: Path, **env: str) -> None:
        self.proc = subprocess.Popen(
            [*visiondrift_command(), "watch", *args],
            cwd=cwd,
            env=child_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, predicate: Any, timeout: float = 120) -> dict[str, Any]:
        """The first log line (from now) for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.raw.append(line)
            record = json.loads(line)  # every line is one JSON object
            self.lines.append(record)
            if predicate(record):
                return record
        raise AssertionError(f"no such log line; the watcher wrote:\n{''.join(self.raw)}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 120) -> int:
        self.proc.send_signal(sig)
        return self.finish(timeout)

    def finish(self, timeout: float = 120) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self._reader.join(timeout=30)
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            assert self.proc.stderr is not None
            self.proc.stderr.close()
        while True:
            line = self._queue.get_nowait() if not self._queue.empty() else None
            if line is None:
                break
            self.raw.append(line)
            self.lines.append(json.loads(line))
        return code
