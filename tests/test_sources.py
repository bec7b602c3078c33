"""Listing images: folders, ImageFolder layout, list files, reproducible sampling."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import Image

from visiondrift.errors import ConfigError, SourceError
from visiondrift.sources import FileListSource, FolderSource, open_source


def _tree(root: Path, rels: list[str]) -> None:
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (10, 20, 30)).save(path)


def test_folder_is_read_recursively_in_sorted_order(tmp_path: Path) -> None:
    rels = ["b.png", "a/z.jpg", "a/y.png", "c/d/e.webp"]
    _tree(tmp_path, rels)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.png").write_bytes(b"")
    src = FolderSource(tmp_path)
    assert [i.name for i in src.items] == sorted(rels)
    assert src.info.kind == "folder"
    assert all(i.label is None for i in src.items)


def test_imagefolder_layout_is_detected(tmp_path: Path) -> None:
    _tree(tmp_path, ["cat/1.png", "cat/2.png", "dog/1.png"])
    src = FolderSource(tmp_path)
    assert src.info.kind == "imagefolder"
    assert [i.label for i in src.items] == ["cat", "cat", "dog"]
    assert all(i.label is None for i in FolderSource(tmp_path, labels="none").items)


def test_imagefolder_can_be_forced(tmp_path: Path) -> None:
    _tree(tmp_path, ["only/1.png", "only/2.png"])
    assert FolderSource(tmp_path).info.kind == "folder"
    forced = FolderSource(tmp_path, labels="imagefolder")
    assert [i.label for i in forced.items] == ["only", "only"]


def test_list_file_with_relative_paths_and_labels(tmp_path: Path) -> None:
    _tree(tmp_path, ["img/a.png", "img/b.png"])
    listing = tmp_path / "list.txt"
    listing.write_text("# comment\nimg/b.png\tdog\n\nimg/a.png,cat\n")
    src = open_source(listing)
    assert isinstance(src, FileListSource)
    assert [(i.name, i.label) for i in src.items] == [("img/a.png", "cat"), ("img/b.png", "dog")]
    assert Path(src.items[0].path) == tmp_path / "img" / "a.png"


def test_max_images_sampling_is_reproducible_and_order_free(tmp_path: Path) -> None:
    rels = [f"{i:03d}.png" for i in range(60)]
    _tree(tmp_path, rels)
    a = [i.name for i in FolderSource(tmp_path, max_images=10, seed=3).items]
    b = [i.name for i in FolderSource(tmp_path, max_images=10, seed=3).items]
    c = [i.name for i in FolderSource(tmp_path, max_images=10, seed=4).items]
    assert a == b
    assert a != c
    assert len(a) == 10
    assert a == sorted(a)
    # The same files listed in another order give the same sample.
    shuffled = list(rels)
    random.Random(0).shuffle(shuffled)
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(shuffled))
    from_list = [i.name for i in FileListSource(listing, max_images=10, seed=3).items]
    assert from_list == a


def test_missing_folder_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(SourceError, match="is not a folder"):
        FolderSource(tmp_path / "file.png")
    with pytest.raises(ConfigError, match="'max_images'"):
        FolderSource(tmp_path, max_images=0)
    with pytest.raises(ConfigError, match="'labels'"):
        FolderSource(tmp_path, labels="folders")  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="does not exist"):
        FileListSource(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    "folders",
    [
        ["2024-04-01", "2024-05-02"],
        ["20240401", "20240502"],
        ["2024_04_01T10:30", "2024_04_01T11:30"],
        ["001", "002", "003"],
        ["cat", "2024-04-01"],
    ],
)
def test_dates_times_and_sequence_numbers_are_not_labels(
    tmp_path: Path, folders: list[str]
) -> None:
    _tree(tmp_path, [f"{folder}/{i}.png" for folder in folders for i in range(2)])
    src = FolderSource(tmp_path)
    assert src.info.kind == "folder"
    assert all(i.label is None for i in src.items)
    assert any("look like dates" in note for note in src.info.notes)
    forced = FolderSource(tmp_path, labels="imagefolder")
    assert {i.label for i in forced.items} == set(folders)


@pytest.mark.parametrize(
    "folders", [["cat", "dog"], ["n01440764", "n01443537"], ["class_1", "class_2"]]
)
def test_class_names_are_still_labels(tmp_path: Path, folders: list[str]) -> None:
    _tree(tmp_path, [f"{folder}/1.png" for folder in folders])
    src = FolderSource(tmp_path)
    assert src.info.kind == "imagefolder"
    assert [i.label for i in src.items] == folders
    assert src.info.notes == ()


def test_symlinked_folders_are_followed_once_and_loops_skipped(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _tree(root, ["a/1.png", "a/deep/2.png", "b/3.png"])
    outside = tmp_path / "outside"
    _tree(outside, ["4.png"])
    (root / "a" / "deep" / "up").symlink_to(root / "a", target_is_directory=True)  # a loop
    (root / "b" / "again").symlink_to(root / "a", target_is_directory=True)  # second link
    (root / "linked").symlink_to(outside, target_is_directory=True)  # followed
    (root / "self").symlink_to(root / "self")  # a link to itself: cannot be resolved
    src = FolderSource(root, labels="none")
    assert [i.name for i in src.items] == ["a/1.png", "a/deep/2.png", "b/3.png", "linked/4.png"]
    notes = " ".join(src.info.notes)
    assert "'a/deep/up/'" in notes
    assert "'b/again/'" in notes
    assert "already read" in notes
    assert "'self': Too many levels of symbolic links" in notes
    assert "notes" not in src.info.to_dict()  # shown, not saved: they name folders
