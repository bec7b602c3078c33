"""What a profile and a report record of file names: keep, hash (keyed) or drop.

Files are named like patients' files in a clinic; with ``hash`` or ``drop`` no byte of any file
or folder name, nor of the data's location, may appear in the saved profiles, the JSON report,
the Markdown summary or the HTML page. With ``keep`` they do appear, so the check can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import visiondrift
from visiondrift.demo.samples import CameraChange, make_dataset
from visiondrift.names import REDACTED, NamesKey, hash_name
from visiondrift.profiles import Profile

KEY = "3f1c9a7be2d84f60a1b5c3e7d9f20486"
OTHER_KEY = "a0b1c2d3e4f5061728394a5b6c7d8e9f"
KEY_ENV = "VISIONDRIFT_TEST_NAMES_KEY"
#: Folder names that must not leak (a ward, a second ward, a date).
FOLDERS = ("hospital_st_anna", "clinic_zurich_ward3", "clinic_bern_ward1", "2024-03-05")
CORRUPT = "patient_9999_jones"


def _patients(folder: Path, n: int, first: int, *, seed: int, changed: bool = False) -> None:
    """``n`` real photo crops named like patients' files (patient_<id>_smith.jpg)."""
    paths = make_dataset(
        folder, n, size=(64, 64), seed=seed, transform=CameraChange() if changed else None
    )
    for i, path in enumerate(sorted(paths)):
        path.rename(folder / f"patient_{first + i}_smith.jpg")


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("privacy") / "hospital_st_anna"
    _patients(root / "export_val_radiology" / "clinic_zurich_ward3", 24, 4711, seed=21)
    _patients(root / "export_val_radiology" / "clinic_bern_ward1", 24, 5711, seed=22)
    current = root / "export_prod_radiology" / "clinic_zurich_ward3" / "2024-03-05"
    _patients(current, 30, 6711, seed=23, changed=True)
    good = (current / "patient_6711_smith.jpg").read_bytes()
    (current / f"{CORRUPT}.jpg").write_bytes(good[: len(good) // 3])
    return root


def _secrets(root: Path) -> list[str]:
    """Every file stem and folder name under ``root``, and ``root``'s own location."""
    found = {str(root)}
    for _dirpath, dirnames, filenames in os.walk(root):
        found.update(dirnames)
        found.update(Path(f).stem for f in filenames)
    found.update(FOLDERS)
    return sorted(found)


def _cli(
    *args: str, env: dict[str, str] | None = None, unset: str | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != unset}
    return subprocess.run(
        [sys.executable, "-m", "visiondrift.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**environment, **(env or {})},
    )


def _run(clinic: Path, out: Path, policy: str) -> dict[str, str]:
    """baseline + monitor with ``--names policy``; the text of every artefact, by kind."""
    out.mkdir()
    env = {KEY_ENV: KEY}
    names = [] if policy == "keep" else ["--names", policy, "--names-key-env", KEY_ENV]
    base = _cli(
        "baseline",
        str(clinic / "export_val_radiology"),
        "-o",
        str(out / "baseline.json"),
        *names,
        env=env,
    )
    assert base.returncode == 0, base.stderr
    # monitor takes the baseline's names setting by default, and needs only the key.
    key = [] if policy == "keep" else ["--names-key-env", KEY_ENV]
    mon = _cli(
        "monitor",
        str(clinic / "export_prod_radiology"),
        "--baseline",
        str(out / "baseline.json"),
        "-o",
        str(out / "report.json"),
        "--save-profile",
        str(out / "current.json"),
        "--html",
        "--summary-md",
        str(out / "summary.md"),
        *key,
        env=env,
    )
    assert mon.returncode == 1, mon.stdout + mon.stderr
    texts = {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(out.iterdir())
        if p.suffix in (".json", ".md", ".html")
    }
    assert set(texts) == {
        "baseline.json",
        "current.json",
        "report.json",
        "summary.md",
        "report.html",
    }
    return texts


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def artefacts(clinic: Path, runs: Path) -> dict[str, dict[str, str]]:
    return {policy: _run(clinic, runs / policy, policy) for policy in ("keep", "hash", "drop")}


def test_keep_records_names_and_locations(
    artefacts: dict[str, dict[str, str]], clinic: Path
) -> None:
    texts = artefacts["keep"]
    for name, text in texts.items():
        assert str(clinic) in text, f"{name} does not name the data's location"
    for name in ("baseline.json", "current.json", "report.json", "report.html"):
        assert "patient_4711_smith" in texts[name] or "patient_67" in texts[name], name
    assert "clinic_zurich_ward3/2024-03-05/patient_" in texts["report.html"]
    assert CORRUPT in texts["report.json"]
    assert CORRUPT in texts["report.html"]
    # The ImageFolder guess takes the two wards as classes.
    assert "clinic_bern_ward1" in json.loads(texts["baseline.json"])["labels"]


@pytest.mark.parametrize("policy", ["hash", "drop"])
def test_hash_and_drop_leak_no_name(
    artefacts: dict[str, dict[str, str]], clinic: Path, policy: str
) -> None:
    texts = artefacts[policy]
    secrets = _secrets(clinic)
    assert "patient_4711_smith" in secrets
    assert CORRUPT in secrets
    for name, text in texts.items():
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{name} ({policy}) holds {leaked}"
        assert KEY not in text
    report = json.loads(texts["report.json"])
    assert report["current"]["location"] == REDACTED
    assert report["current"]["names"] == policy
    assert report["current"]["labels"] == {}  # folder names are no labels unless asked for
    assert report["atypical_images"], "the gallery is empty; the check would prove nothing"
    (bad,) = report["current"]["bad_files"]
    assert bad["reason"] == "truncated"
    gallery = [a["name"] for a in report["atypical_images"]]
    if policy == "hash":
        rel = f"clinic_zurich_ward3/2024-03-05/{CORRUPT}.jpg"
        assert bad["name"] == hash_name(rel, KEY.encode())
        expected = {
            hash_name(f"clinic_zurich_ward3/2024-03-05/patient_{6711 + i}_smith.jpg", KEY.encode())
            for i in range(30)
        }
        assert set(gallery) <= expected
        # Thumbnails are found through the key; the page shows hashes as their alt text.
        assert texts["report.html"].count('src="data:image/jpeg;base64,') == len(gallery)
        assert f'alt="{gallery[0]}"' in texts["report.html"]
    else:
        assert all(n.startswith("#") and n[1:].isdigit() for n in [*gallery, bad["name"]])
        assert "data:image/jpeg" not in texts["report.html"]
        assert "a position does not identify the file" in texts["report.html"]


def test_report_rerendered_finds_thumbnails_only_with_the_key(
    artefacts: dict[str, dict[str, str]], clinic: Path, runs: Path, tmp_path: Path
) -> None:
    report = runs / "hash" / "report.json"
    images = str(clinic / "export_prod_radiology")
    n_atypical = len(json.loads(artefacts["hash"]["report.json"])["atypical_images"])
    key_file = tmp_path / "names.key"
    key_file.write_text(KEY)
    pages = {}
    for label, extra in (("key", ["--names-key-file", str(key_file)]), ("none", [])):
        out = tmp_path / f"{label}.html"
        result = _cli(
            "report",
            str(report),
            "-o",
            str(out),
            "--images",
            images,
            *extra,
            unset="VISIONDRIFT_NAMES_KEY",
        )
        assert result.returncode == 0, result.stderr
        pages[label] = out.read_text(encoding="utf-8")
    assert pages["key"].count('src="data:image/jpeg;base64,') == n_atypical
    assert "data:image/jpeg" not in pages["none"]
    assert "the key that finds the files was not given" in pages["none"]
    for page in pages.values():
        assert not [s for s in _secrets(clinic) if s in page]


def test_compare_takes_the_reference_profiles_setting(
    artefacts: dict[str, dict[str, str]], clinic: Path, runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "compare.json"
    result = _cli(
        "compare",
        str(runs / "drop" / "baseline.json"),
        str(clinic / "export_prod_radiology"),
        "-o",
        str(out),
        "--html",
    )
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["current"]["names"] == "drop"
    for text in (out.read_text(encoding="utf-8"), out.with_suffix(".html").read_text("utf-8")):
        assert not [s for s in _secrets(clinic) if s in text]


def test_predictions_file_ids_are_hashed(tmp_path: Path) -> None:
    folder = tmp_path / "clinic_zurich_ward3"
    folder.mkdir()
    rows = ["image_id,prob_benign,prob_melanoma"]
    rows += [
        f"patient_{4711 + i}_smith.jpg,{0.1 + i / 50:.3f},{0.9 - i / 50:.3f}" for i in range(30)
    ]
    rows.append("patient_9999_jones.jpg,oops,0.5")
    csv = folder / "export_2024-03-05.csv"
    csv.write_text("\n".join(rows) + "\n")
    kept = json.dumps(visiondrift.profile_predictions(csv).to_dict())
    assert "patient_4711_smith" in kept
    assert "clinic_zurich_ward3" in kept
    for policy in ("hash", "drop"):
        result = visiondrift.profile_predictions(csv, names=policy, names_key=KEY.encode())
        text = json.dumps(result.to_dict())
        leaked = [
            s for s in ("patient_", "smith", "jones", "clinic_zurich", "2024-03-05") if s in text
        ]
        assert not leaked, (policy, leaked)
        assert result.n_images == 30
        assert result.n_bad == 1
    hashed = visiondrift.profile_predictions(csv, names="hash", names_key=KEY.encode())
    assert hash_name("patient_4711_smith.jpg", KEY.encode()) in hashed.reservoir.names


def test_hash_is_stable_with_a_key_and_changes_with_another(clinic: Path, tmp_path: Path) -> None:
    folder = clinic / "export_val_radiology"
    key_file = tmp_path / "names.key"
    key_file.write_text(KEY + "\n")
    runs = [
        visiondrift.profile(folder, names="hash", names_key=NamesKey.from_file(key_file)),
        visiondrift.profile(folder, names="hash", names_key=KEY.encode(), workers=1),
        visiondrift.profile(folder, names="hash", names_key=OTHER_KEY.encode()),
    ]
    first, second, other = (sorted(p.reservoir.names) for p in runs)
    assert first == second
    assert not set(first) & set(other)
    rels = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.jpg"))
    assert first == sorted(hash_name(r, KEY.encode()) for r in rels)
    # The sampling keys are keyed too: same key, same keys; another key, other keys.
    assert np.array_equal(np.sort(runs[0].reservoir.keys), np.sort(runs[1].reservoir.keys))
    assert not set(runs[0].reservoir.keys.tolist()) & set(runs[2].reservoir.keys.tolist())
    assert runs[0].config.names == "hash"
    # Keys of the path (seed public) would let anyone test a guessed path; hash and drop use none.
    by_path = set(visiondrift.profile(folder).reservoir.keys.tolist())
    dropped = visiondrift.profile(folder, names="drop")
    assert not by_path & set(runs[0].reservoir.keys.tolist())
    assert not by_path & set(dropped.reservoir.keys.tolist())
    assert len(set(dropped.reservoir.keys.tolist())) == dropped.n_images
    assert KEY not in json.dumps(runs[0].to_dict())


def test_hash_without_a_key_is_refused_with_exit_2(clinic: Path, tmp_path: Path) -> None:
    result = _cli(
        "baseline",
        str(clinic / "export_val_radiology"),
        "-o",
        str(tmp_path / "b.json"),
        "--names",
        "hash",
        unset="VISIONDRIFT_NAMES_KEY",
    )
    assert result.returncode == 2
    assert "VISIONDRIFT_NAMES_KEY" in result.stderr
    assert "--names-key-file" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "b.json").exists()
    short = _cli(
        "baseline",
        str(clinic / "export_val_radiology"),
        "-o",
        str(tmp_path / "b.json"),
        "--names",
        "hash",
        "--names-key-env",
        KEY_ENV,
        env={KEY_ENV: "tooshort"},
    )
    assert short.returncode == 2
    assert "at least 16 bytes" in short.stderr
    assert "tooshort" not in short.stderr + short.stdout
    with pytest.raises(visiondrift.ConfigError, match="needs a secret key"):
        visiondrift.profile(clinic / "export_val_radiology", names="hash")
    shown = repr(NamesKey(KEY.encode()))
    assert "secret=<hidden>" in shown
    assert KEY not in shown


def test_locations_relative_to_a_named_root(clinic: Path) -> None:
    kept = visiondrift.profile(clinic / "export_val_radiology", names_root=clinic.parent)
    assert kept.sources[0].location == "hospital_st_anna/export_val_radiology"
    dropped = visiondrift.profile(clinic / "export_val_radiology", names="drop", names_root=clinic)
    assert dropped.sources[0].location == "export_val_radiology"
    with pytest.raises(visiondrift.ConfigError, match="names_root"):
        visiondrift.profile(
            clinic / "export_val_radiology",
            names="drop",
            names_root=clinic / "export_prod_radiology",
        )


def test_labels_are_read_from_folders_only_when_asked(clinic: Path) -> None:
    asked = visiondrift.profile(clinic / "export_val_radiology", names="drop", labels="imagefolder")
    assert set(asked.labels.counts) == {"clinic_bern_ward1", "clinic_zurich_ward3"}
    assert not visiondrift.profile(clinic / "export_val_radiology", names="drop").labels.counts


def test_profile_without_names_setting_loads_as_keep(clinic: Path, tmp_path: Path) -> None:
    data = visiondrift.profile(clinic / "export_val_radiology", max_images=12).to_dict()
    del data["config"]["names"]
    assert Profile.from_dict(data).config.names == "keep"
    data["config"]["names"] = "scramble"
    with pytest.raises(visiondrift.ProfileFormatError, match="scramble"):
        Profile.from_dict(data)


def test_no_pixels_and_no_exif_in_a_profile(tmp_path: Path) -> None:
    folder = tmp_path / "exif"
    make_dataset(folder, 12, size=(48, 48), seed=5)
    marker = "EXIF_MARKER_Dr_Who_DOB_1970"
    for path in sorted(folder.iterdir()):
        with Image.open(path) as image:
            pixels = image.copy()
        exif = Image.Exif()
        exif[0x010E] = marker  # ImageDescription
        exif[0x013B] = marker  # Artist
        pixels.save(path, exif=exif, quality=90)
    result = visiondrift.profile(folder, workers=1)
    text = json.dumps(result.to_dict())
    assert marker not in text
    # No pixel rows: nothing of shape (h, w) or (h*w) is stored, only 256-bin histograms.
    assert set(result.to_dict()["channels"]) == {"r", "g", "b", "l"}
    assert all(len(v) == 256 for v in result.to_dict()["channels"].values())
    assert "base64" not in text
