"""Fuzzing the command line: random bytes, truncated real images, edited profiles and reports.

Whatever the input, the exit code is 0, 1 or 2 (never 3, an internal error) and no traceback is
printed. Seeded, and bounded to run in well under a minute: most cases run the command line in
this process; a few go through a real subprocess.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from visiondrift.cli import run
from visiondrift.demo.samples import CameraChange, make_dataset

#: Seed of every random choice below.
SEED = 20_240_401
#: Edited profiles and reports tried per kind (each case runs a whole command).
PROFILE_CASES = 20
REPORT_CASES = 12
#: Baselines with an edited configuration or provenance, used to profile a folder.
CONFIG_CASES = 6
#: Folders of random files and truncated images profiled.
IMAGE_CASES = 4

_ODD_VALUES: list[Any] = [
    None, -1, 0, 1e308, -1e308, float("nan"), float("inf"), "x", "", [], {}, True, 2**70, -5.5,
    [1, 2], {"a": 1}, "2024-04-01",
]  # fmt: skip


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(args))
    return code, out.getvalue() + err.getvalue()


def _assert_clean(code: int, output: str, case: str) -> None:
    assert code in (0, 1, 2), f"{case}: exit {code}\n{output[-2000:]}"
    assert "Traceback" not in output, f"{case}:\n{output[-2000:]}"


def _paths(node: Any, path: tuple[Any, ...], rng: random.Random) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key), rng)
    elif isinstance(node, list) and node:
        picks = {0, len(node) - 1, rng.randrange(len(node))}
        for i in sorted(picks):
            found += _paths(node[i], (*path, i), rng)
    return found


def mutate(doc: Any, rng: random.Random) -> Any:
    """A copy of a JSON document with one field deleted, replaced, cut, grown or negated."""
    doc = copy.deepcopy(doc)
    path = rng.choice(_paths(doc, (), rng)[1:])
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    value = parent[key]
    op = rng.randrange(5)
    if op == 0:
        del parent[key]
    elif op == 1 and isinstance(value, list) and value:
        parent[key] = value[: rng.randrange(len(value))]
    elif op == 2 and isinstance(value, list) and value:
        parent[key] = [*value, value[0]]
    elif op == 3 and isinstance(value, int | float) and not isinstance(value, bool):
        parent[key] = -value if value else -1
    else:
        parent[key] = rng.choice(_ODD_VALUES)
    return doc


def _write_document(path: Path, doc: Any, rng: random.Random) -> None:
    text = json.dumps(doc)
    if rng.random() < 0.15:  # sometimes damage the text itself
        text = text[: rng.randrange(len(text))]
    path.write_text(text)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory, photos: list) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    make_dataset(root / "a", 40, size=(64, 64), seed=31, photos=photos)
    make_dataset(root / "b", 30, size=(64, 64), seed=32, photos=photos, transform=CameraChange())
    paths = {"root": root, "a_dir": root / "a", "b_dir": root / "b"}
    for name in ("a", "b"):
        paths[name] = root / f"{name}.json"
        code, output = cli("baseline", str(root / name), "-o", str(paths[name]), "--workers", "1")
        assert code == 0, output
    paths["report"] = root / "r.json"
    code, output = cli("compare", str(paths["a"]), str(paths["b"]), "-o", str(paths["report"]))
    assert code == 1, output
    return paths


def test_edited_profiles(saved: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    doc = json.loads(saved["a"].read_text())
    edited = tmp_path / "edited.json"
    for i in range(PROFILE_CASES):
        _write_document(edited, mutate(doc, rng), rng)
        pair = (str(edited), str(saved["b"])) if i % 2 else (str(saved["b"]), str(edited))
        out = tmp_path / "r.json"
        code, output = cli(
            "compare", *pair, "-o", str(out), "-q", "--summary-md", str(tmp_path / "s.md")
        )
        _assert_clean(code, output, f"profile case {i}")


def test_edited_baseline_settings(saved: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(SEED + 4)
    doc = json.loads(saved["a"].read_text())
    edited = tmp_path / "edited.json"
    for i in range(CONFIG_CASES):
        changed = copy.deepcopy(doc)
        part = rng.choice(["config", "sources"])
        changed[part] = mutate({part: changed[part]}, rng).get(part)
        _write_document(edited, changed, rng)
        code, output = cli(
            "monitor", str(saved["b_dir"]), "--baseline", str(edited), "-o",
            str(tmp_path / "r.json"), "-q", "--workers", "1",
        )  # fmt: skip
        _assert_clean(code, output, f"settings case {i}")


def test_edited_reports(saved: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(SEED + 1)
    doc = json.loads(saved["report"].read_text())
    edited = tmp_path / "edited.json"
    for i in range(REPORT_CASES):
        _write_document(edited, mutate(doc, rng), rng)
        code, output = cli(
            "report", str(edited), "-o", str(tmp_path / "p.html"), "--force",
            "--summary-md", str(tmp_path / "s.md"),
        )  # fmt: skip
        _assert_clean(code, output, f"report case {i}")


def _random_files(folder: Path, real: list[Path], rng: random.Random) -> None:
    folder.mkdir(parents=True)
    for j in range(rng.randrange(3, 9)):
        kind = rng.randrange(3)
        suffix = rng.choice([".jpg", ".png", ".webp", ".gif", ".tif", ".bmp"])
        if kind == 0:
            data = rng.randbytes(rng.randrange(0, 3_000))
        else:
            source = rng.choice(real).read_bytes()
            data = source[: rng.randrange(len(source))]
            if kind == 2 and data:  # and flip a few bytes
                raw = bytearray(data)
                for _ in range(rng.randrange(1, 8)):
                    raw[rng.randrange(len(raw))] = rng.randrange(256)
                data = bytes(raw)
        (folder / f"f{j}{suffix}").write_bytes(data)
    if rng.random() < 0.5:  # and some good images
        for path in rng.sample(real, 3):
            (folder / path.name).write_bytes(path.read_bytes())


def test_random_bytes_and_truncated_images(saved: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(SEED + 2)
    real = sorted(saved["a_dir"].glob("*.jpg"))
    for ext in ("png", "webp"):  # real images Pillow decodes (not the JPEG fast path)
        for i, path in enumerate(real[:2]):
            from PIL import Image

            with Image.open(path) as im:
                im.save(tmp_path / f"real{i}.{ext}")
    real += sorted(tmp_path.glob("real*"))
    for i in range(IMAGE_CASES):
        folder = tmp_path / f"case{i}"
        _random_files(folder, real, rng)
        code, output = cli("baseline", str(folder), "-o", str(tmp_path / f"b{i}.json"), "-q")
        _assert_clean(code, output, f"baseline of case {i}")
        code, output = cli(
            "monitor", str(folder), "--baseline", str(saved["a"]), "-o",
            str(tmp_path / f"m{i}.json"), "-q", "--html",
        )  # fmt: skip
        _assert_clean(code, output, f"monitor of case {i}")
        assert code != 2, output  # a batch is always reported, however bad its files


def test_a_few_real_processes(saved: dict[str, Path], tmp_path: Path) -> None:
    rng = random.Random(SEED + 3)
    profile_doc = json.loads(saved["a"].read_text())
    folder = tmp_path / "junk"
    _random_files(folder, sorted(saved["a_dir"].glob("*.jpg")), rng)
    edited = tmp_path / "edited.json"
    _write_document(edited, mutate(profile_doc, rng), rng)
    for args in (
        ["monitor", str(folder), "--baseline", str(saved["a"]), "-o", str(tmp_path / "m.json")],
        ["compare", str(edited), str(saved["b"]), "-o", str(tmp_path / "c.json")],
        ["report", str(edited)],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "visiondrift.cli", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        _assert_clean(result.returncode, result.stdout + result.stderr, " ".join(args[:1]))
