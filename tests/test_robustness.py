"""No crash reaches the user, crashes never look like drift, labels only when they are labels."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from PIL import Image

from visiondrift.cli import run
from visiondrift.cli._edge import run_cli, set_flags
from visiondrift.cli._support import EXIT_INTERNAL
from visiondrift.decode import DecodedImage, DecodeLimits, decode_image
from visiondrift.demo.samples import make_dataset
from visiondrift.profiles import Profile


def cli(*args: str) -> tuple[int, str, str]:
    """Run the command line in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(args))
    return code, out.getvalue(), err.getvalue()


def subprocess_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visiondrift.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory, photos: list) -> Path:
    out = tmp_path_factory.mktemp("small")
    make_dataset(out, 40, size=(64, 64), seed=21, photos=photos)
    return out


@pytest.fixture(scope="module")
def small_baseline(small_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small_base") / "base.json"
    code, _, err = cli("baseline", str(small_dir), "-o", str(out), "--workers", "1", "-q")
    assert code == 0, err
    return out


def _class_tree(root: Path, small_dir: Path, folders: list[str]) -> Path:
    files = sorted(small_dir.glob("*.jpg"))
    for i, path in enumerate(files):
        target = root / folders[i % len(folders)]
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)
    return root


# ---------------------------------------------------------------------- labels


def test_baseline_says_when_labels_come_from_folder_names(small_dir: Path, tmp_path: Path) -> None:
    tree = _class_tree(tmp_path / "pets", small_dir, ["cat", "dog", "fox", "owl"])
    code, out, _ = cli("baseline", str(tree), "-o", str(tmp_path / "b.json"), "--workers", "1")
    assert code == 0
    assert (
        "Labels from 4 sub-folder names: cat, dog, fox, owl; use --labels none if these are "
        "not classes." in out
    )
    code, out, _ = cli(
        "baseline", str(tree), "-o", str(tmp_path / "n.json"), "--workers", "1", "--labels", "none"
    )
    assert code == 0
    assert "Labels from" not in out


@pytest.mark.parametrize("folders", [["2024-04-01", "2024-05-02"], ["1", "2", "3"]])
def test_identical_images_in_dated_or_numbered_folders_are_no_label_drift(
    small_dir: Path, tmp_path: Path, folders: list[str]
) -> None:
    tree = _class_tree(tmp_path / "batches", small_dir, folders)
    base = tmp_path / "base.json"
    code, out, err = cli("baseline", str(tree), "-o", str(base), "--workers", "1")
    assert code == 0
    assert "Labels from" not in out
    assert "look like dates, times or sequence numbers" in err
    assert Profile.load(base).labels.counts == {}
    report = tmp_path / "r.json"
    code, out, err = cli("monitor", str(tree), "--baseline", str(base), "-o", str(report))
    assert code == 0, out + err
    names = [m["name"] for m in json.loads(report.read_text())["metrics"]]
    assert "label_mix" not in names


def test_monitor_reads_no_labels_when_the_baseline_had_none(
    small_dir: Path, small_baseline: Path, tmp_path: Path
) -> None:
    tree = _class_tree(tmp_path / "pets", small_dir, ["cat", "dog"])
    saved = tmp_path / "cur.json"
    code, _out, err = cli(
        "monitor",
        str(tree),
        "--baseline",
        str(small_baseline),
        "-o",
        str(tmp_path / "r.json"),
        "--save-profile",
        str(saved),
    )
    assert code in (0, 1), err
    assert Profile.load(saved).labels.counts == {}
    forced = tmp_path / "forced.json"
    code, _, err = cli(
        "monitor",
        str(tree),
        "--baseline",
        str(small_baseline),
        "-o",
        str(tmp_path / "r2.json"),
        "--save-profile",
        str(forced),
        "--labels",
        "imagefolder",
    )
    assert code in (0, 1), err
    assert set(Profile.load(forced).labels.counts) == {"cat", "dog"}


# ------------------------------------------------------------ unusable inputs


def test_a_batch_of_unusable_files_writes_its_report_and_exits_1(
    small_baseline: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    result = subprocess_cli(
        "monitor", str(corpus_dir / "bad"), "--baseline", str(small_baseline), "-o", str(out),
        "--html",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(out.read_text())
    assert report["current"]["n_images"] == 0
    assert report["severity"] == "high"
    bad = next(m for m in report["metrics"] if m["name"] == "bad_files")
    assert bad["status"] == "drift"
    assert bad["severity"] == "high"
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


def _damage(doc: dict, how: str) -> str:
    """Edit a saved profile; returns the field the refusal must name."""
    reservoir = doc["reservoir"]
    if how == "short_column":
        reservoir["values"]["brightness"] = reservoir["values"]["brightness"][:-1]
        return "reservoir.values.brightness"
    if how == "negative_count":
        doc["formats"]["JPEG"] = -3
        return "formats.JPEG"
    if how == "nan_count":
        doc["moments"]["contrast"]["mean"] = float("nan")
        return "moments.contrast.mean"
    if how == "missing_key":
        del doc["integrity"]["bad_counts"]
        return "integrity.bad_counts"
    if how == "extra_names":
        reservoir["names"].append("x.jpg")
        return "reservoir.names"
    if how == "location_not_text":
        doc["sources"][0]["location"] = []
        return "sources.0.location"
    if how == "huge_count":
        doc["n_files"] = 1e400  # read back as infinity
        return "n_files"
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how",
    [
        "short_column",
        "negative_count",
        "nan_count",
        "missing_key",
        "extra_names",
        "location_not_text",
        "huge_count",
    ],
)
def test_a_damaged_profile_is_refused_naming_the_field(
    small_baseline: Path, small_dir: Path, tmp_path: Path, how: str
) -> None:
    doc = json.loads(small_baseline.read_text())
    field = _damage(doc, how)
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(doc))
    code, out, err = cli(
        "monitor", str(small_dir), "--baseline", str(damaged), "-o", str(tmp_path / "r.json")
    )
    assert code == 2, out + err
    assert f"'{field}'" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r.json").exists()


def test_max_pixels_above_pillows_limit_is_not_capped(
    tmp_path: Path, photos: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "photo.png"
    Image.fromarray(photos[0][1]).resize((64, 48)).save(path)  # 3,072 pixels, read by Pillow
    # Pillow refuses images above twice its limit; a max_pixels above that limit must win.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    decoded = decode_image(str(path), "photo.png", DecodeLimits(max_pixels=5_000))
    assert isinstance(decoded, DecodedImage), decoded
    assert Image.MAX_IMAGE_PIXELS == 1_000  # raised for the decode only
    refused = decode_image(str(path), "photo.png", DecodeLimits(max_pixels=3_000))
    assert not isinstance(refused, DecodedImage)
    assert refused.reason == "too_large"
    assert "max_pixels=3,000" in refused.detail


# ------------------------------------------------------------ unreadable entries


@contextlib.contextmanager
def _unprivileged() -> Iterator[None]:
    """Run the block without the right to read files whose mode forbids it.

    As root, permission bits do not stop reads: the effective user becomes 'nobody' for the
    block (and back to root after). As another user, the bits already apply.
    """
    if os.geteuid() != 0:
        yield
        return
    try:
        nobody = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        pytest.skip("running as root without a 'nobody' user: no way to make a file unreadable")
    os.seteuid(nobody)
    try:
        yield
    finally:
        os.seteuid(0)


def test_unreadable_files_and_folders_are_listed_and_the_run_goes_on(small_dir: Path) -> None:
    # A folder every user can reach (the test's own temporary folder may be private to root).
    top = Path(tempfile.mkdtemp(prefix="visiondrift-perm-"))
    try:
        top.chmod(0o755)
        data, out = top / "data", top / "out"
        for sub in ("ok", "locked"):
            (data / sub).mkdir(parents=True)
        out.mkdir(mode=0o777)
        out.chmod(0o777)
        files = sorted(small_dir.glob("*.jpg"))
        for _i, path in enumerate(files[:12]):
            shutil.copy(path, data / "ok" / path.name)
        shutil.copy(files[12], data / "locked" / "hidden.jpg")
        shutil.copy(files[13], data / "secret.jpg")
        for path in (data, data / "ok", *(data / "ok").iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)
        # Read once with every right, so that every module the run imports is loaded.
        code, _, err = cli("baseline", str(data), "-o", str(out / "warm.json"), "--workers", "1")
        assert code == 0, err
        (data / "locked").chmod(0o000)
        (data / "secret.jpg").chmod(0o000)
        with _unprivileged():
            assert decode_image(str(data / "secret.jpg"), "secret.jpg").reason == "unreadable"
            code, out_text, err = cli(
                "baseline", str(data), "-o", str(out / "b.json"), "--workers", "1", "-q"
            )
        assert code == 0, err
        assert "12 images profiled, 2 unusable of 14 files" in out_text
        profile = Profile.load(out / "b.json")
        assert {(b.name, b.reason) for b in profile.bad_files} == {
            ("locked/", "unreadable"),
            ("secret.jpg", "unreadable"),
        }
    finally:
        for path in (top / "data" / "locked", top / "data" / "secret.jpg"):
            if path.exists():
                path.chmod(0o755)
        shutil.rmtree(top)


# ------------------------------------------------------------ outputs and the edge


def test_report_never_overwrites_unless_forced(
    small_baseline: Path, small_dir: Path, tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    code, _, err = cli(
        "monitor", str(small_dir), "--baseline", str(small_baseline), "-o", str(report)
    )
    assert code == 0, err
    page = tmp_path / "r.html"
    page.write_text("an existing page")
    code, _, err = cli("report", str(report))
    assert code == 2
    assert "already exists" in err
    assert "--force" in err
    assert page.read_text() == "an existing page"
    code, _out, err = cli("report", str(report), "--force")
    assert code == 0, err
    assert page.read_text().startswith("<!DOCTYPE html>")
    code, _, err = cli("report", str(report), "-o", str(report), "--force")
    assert code == 2
    assert "is the input report itself" in err
    assert json.loads(report.read_text())["format"] == "visiondrift.report"


def _exploding_group() -> click.Group:
    @click.group()
    @click.option("--debug", is_flag=True)
    def group(debug: bool) -> None:
        set_flags(debug, verbose=False)

    @group.command()
    def explode() -> None:
        {}["no such key"]

    return group


def test_an_internal_error_is_one_line_and_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(_exploding_group(), ["explode"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert "Internal error" in err
    assert "KeyError" in err
    assert "--debug" in err
    assert run_cli(_exploding_group(), ["--debug", "explode"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "Internal error" in err


def test_ctrl_c_stops_workers_quietly_with_exit_130(photos: list, tmp_path: Path) -> None:
    source = tmp_path / "source"
    make_dataset(source, 40, size=(256, 256), seed=22, photos=photos)
    data = tmp_path / "many"
    data.mkdir()
    files = sorted(source.glob("*.jpg"))
    # Far more than the 2 s between two piped progress lines, even on a quiet machine (10,000
    # 64 px images took 1.6 s), so the run is busy when interrupted.
    for i in range(10_000):
        os.link(files[i % len(files)], data / f"{i:05d}.jpg")
    proc = subprocess.Popen(
        [sys.executable, "-m", "visiondrift.cli", "baseline", str(data), "-o",
         str(tmp_path / "b.json"), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches
    )  # fmt: skip
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first progress line: the workers are busy
    assert "profiling baseline:" in first, first
    assert "10000/10000" not in first, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    assert "Traceback" not in stderr
    assert "KeyboardInterrupt" not in stderr
    assert "Interrupted." in stderr
    assert not (tmp_path / "b.json").exists()
    time.sleep(0.2)
    leftover = subprocess.run(
        ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout.strip() == "", "worker processes outlived the run"


def test_litert_log_lines_stay_off_stderr_unless_verbose(small_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert")
    from _model_builders import write_dense

    model = write_dense(tmp_path, "tflite", "NHWC")
    args = ["baseline", str(small_dir), "--model", str(model), "--workers", "1", "-q"]
    quiet = subprocess_cli(*args, "-o", str(tmp_path / "q.json"))
    assert quiet.returncode == 0, quiet.stderr
    assert "XNNPACK" not in quiet.stderr
    verbose = subprocess_cli("--verbose", *args, "-o", str(tmp_path / "v.json"))
    assert verbose.returncode == 0, verbose.stderr
    assert "INFO: Created TensorFlow Lite XNNPACK delegate" in verbose.stderr


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["current"].__setitem__("n_files", -4), "current.n_files"),
        (lambda d: d["metrics"][0].__setitem__("p_value", float("nan")), "metrics.0.p_value"),
        (lambda d: d["baseline"]["formats"].__setitem__("JPEG", -1), "baseline.formats.JPEG"),
        (lambda d: d.pop("metrics"), "metrics"),
    ],
)
def test_a_damaged_report_is_refused_naming_the_field(
    small_baseline: Path, small_dir: Path, tmp_path: Path, edit: Any, field: str
) -> None:
    report = tmp_path / "r.json"
    code, _, err = cli(
        "monitor", str(small_dir), "--baseline", str(small_baseline), "-o", str(report)
    )
    assert code == 0, err
    doc = json.loads(report.read_text())
    edit(doc)
    report.write_text(json.dumps(doc))
    code, _, err = cli("report", str(report), "-o", str(tmp_path / "p.html"))
    assert code == 2
    assert field in err
    assert "Traceback" not in err
    assert not (tmp_path / "p.html").exists()


def test_an_output_that_cannot_be_written_is_exit_2(small_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _, err = cli("baseline", str(small_dir), "-o", str(blocker / "b.json"), "--workers", "1")
    assert code == 2
    assert f"Cannot write '{blocker / 'b.json'}'" in err
    assert "Traceback" not in err
