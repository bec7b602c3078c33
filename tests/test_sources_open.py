"""Open, lazy sources: streaming order, the first decode before the listing ends, bytes,
fsspec memory:// and file://, a user's own source registered like the built-ins."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import fsspec
import pytest
from PIL import Image

import visiondrift
from _source_helpers import assert_same_content, file_bytes, write_tree
from visiondrift.decode import BadFile, DecodedImage, decode_image
from visiondrift.errors import ConfigError, SourceError
from visiondrift.sources import (
    BytesSource,
    FolderSource,
    FsspecSource,
    Item,
    ListingChanged,
    Source,
    SourceInfo,
    open_source,
    register_source,
    registered_sources,
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tree(tmp_path_factory.mktemp("tree"))


@pytest.fixture(scope="module")
def folder_profile(tree: Path) -> visiondrift.Profile:
    return visiondrift.profile(tree, workers=1)


def test_streaming_order_is_the_sorted_order(tmp_path: Path) -> None:
    names = ["a.png", "a-b/x.png", "a/y.png", "a b/z.png", "a.b/w.png", "b/c/d.png", "b.png"]
    names += [f"n{i}/{j}.png" for i in range(3) for j in (10, 9, 1)]
    random.Random(1).shuffle(names)
    for rel in names:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    streamed = [item.key for item in FolderSource(tmp_path, labels="none")]
    assert streamed == sorted(names)


class _CountingFolder(FolderSource):
    """A real folder source that counts the folders it has listed so far."""

    listed = 0

    def _list(self, rel_dir: str) -> list:  # type: ignore[override]
        type(self).listed += 1
        return super()._list(rel_dir)  # type: ignore[return-value]


def test_first_item_comes_before_the_tree_is_listed(tmp_path: Path) -> None:
    for i in range(40):
        (tmp_path / f"class{i:02d}").mkdir()
        (tmp_path / f"class{i:02d}" / "1.png").write_bytes(b"")
    source = _CountingFolder(tmp_path)
    first = next(iter(source))
    assert first.key == "class00/1.png"
    assert first.label == "class00"
    assert _CountingFolder.listed == 2  # the root and the first class folder, of 41


def test_the_first_image_is_decoded_before_the_listing_ends(tmp_path: Path) -> None:
    """The profiler consumes a source as a stream: a user's source sees its first image read
    while it is still listing (and it is registered as the built-ins are)."""
    png = tmp_path / "one.png"
    Image.new("RGB", (16, 16), (200, 10, 10)).save(png)
    data = png.read_bytes()
    events: list[str] = []

    class Listing:
        unreadable: Sequence[tuple[str, str]] = ()

        def __iter__(self) -> Iterator[Item]:
            for i in range(300):
                events.append(f"listed {i}")
                yield Item(f"{i}.png", opener=lambda i=i: events.append(f"read {i}") or data)

        @property
        def info(self) -> SourceInfo:
            return SourceInfo("list", "listing://", 300, 300)

    assert isinstance(Listing(), Source)
    register_source("listing", lambda spec, options: Listing() if spec == "listing://" else None)
    assert registered_sources()[0] == "listing"
    calls: list[tuple[int, int]] = []
    prof = visiondrift.profile("listing://", workers=1, progress=lambda d, t: calls.append((d, t)))
    assert prof.n_images == 300
    assert events.index("read 0") < events.index("listed 299")
    assert prof.sources[0].location == "listing://"
    # Progress: 'listed' grows while listing and meets 'done' only at the end.
    assert calls[-1] == (300, 300)
    assert all(done < listed for done, listed in calls[:-1])
    assert [listed for _, listed in calls] == sorted(listed for _, listed in calls)


def test_auto_labels_are_taken_back_when_the_tree_says_otherwise(tmp_path: Path) -> None:
    for rel in ("cat/1.png", "dog/2.png", "dog/deeper/3.png"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (16, 16), (9, 9, 9)).save(tmp_path / rel)
    source = FolderSource(tmp_path)
    with pytest.raises(ListingChanged):
        list(source)
    assert [i.label for i in source] == [None, None, None]  # the second pass knows
    assert source.info.kind == "folder"
    prof = visiondrift.profile(tmp_path, workers=1)
    assert prof.labels.counts == {}
    assert prof.sources[0].kind == "folder"
    assert prof.n_images == 3


def test_decode_takes_bytes_as_well_as_a_path(corpus_dir: Path) -> None:
    files = sorted((corpus_dir / "good").glob("*.*")) + sorted((corpus_dir / "bad").glob("*"))
    for path in files:
        from_path = decode_image(str(path), path.name)
        if isinstance(from_path, BadFile) and from_path.reason == "unreadable":
            continue  # a broken link: there are no bytes to pass
        from_bytes = decode_image(path.read_bytes(), path.name)
        if isinstance(from_path, BadFile):
            assert from_bytes == from_path
            continue
        assert isinstance(from_bytes, DecodedImage)
        assert from_bytes.image.tobytes() == from_path.image.tobytes()
        assert (from_bytes.format, from_bytes.mode, from_bytes.file_size) == (
            from_path.format,
            from_path.mode,
            from_path.file_size,
        )
        assert from_bytes.jpeg_quality == from_path.jpeg_quality
    assert decode_image(b"", "x.png") == BadFile("x.png", "empty", "0 bytes")


def test_bytes_source_profiles_like_the_folder(
    tree: Path, folder_profile: visiondrift.Profile
) -> None:
    data = file_bytes(tree)
    labels = {name: name.split("/", 1)[0] for name in data}
    prof = visiondrift.profile(BytesSource(data, labels=labels), workers=1)
    assert_same_content(prof, folder_profile)
    assert prof.sources[0].location == "<memory>"
    # A plain mapping is a source too (the 'bytes' factory): an upload endpoint hands it over.
    assert visiondrift.profile(data, workers=1).n_images == folder_profile.n_images


def test_bytes_source_refuses_what_is_not_bytes() -> None:
    with pytest.raises(ConfigError, match="name -> bytes"):
        list(BytesSource({"a.png": "not bytes"}))  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="a Source object"):
        open_source(42)


def test_memory_url_profiles_like_the_folder(
    tree: Path, folder_profile: visiondrift.Profile
) -> None:
    fs = fsspec.filesystem("memory")
    fs.pipe({f"/vd-test/{name}": content for name, content in file_bytes(tree).items()})
    try:
        prof = visiondrift.profile("memory://vd-test", workers=2)
        assert_same_content(prof, folder_profile)
        assert prof.sources[0].kind == "imagefolder"
        assert prof.sources[0].location == "memory://vd-test"
        first = FsspecSource("memory://vd-test").items[0]
        assert first.path == f"memory:///vd-test/{first.key}"
        assert first.key.startswith("cat/")
    finally:
        fs.rm("/vd-test", recursive=True)


def test_file_url_profiles_like_the_folder(tree: Path, folder_profile: visiondrift.Profile) -> None:
    prof = visiondrift.profile(f"file://{tree}", workers=1)
    assert_same_content(prof, folder_profile)
    assert prof.sources[0].location == f"file://{tree}"


def test_a_missing_url_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="Nothing found at 'file://"):
        visiondrift.profile(f"file://{tmp_path}/nope", workers=1)
    with pytest.raises(SourceError, match="Protocol not known: nosuchprotocol"):
        visiondrift.profile("nosuchprotocol://bucket/x", workers=1)


def test_importing_the_sources_imports_nothing_heavy() -> None:
    """A profile names its sources; reading one must not pull in Pillow, numpy or fsspec."""
    code = (
        "import sys, visiondrift.sources; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'PIL', 'numpy', 'fsspec', 's3fs', 'aiohttp'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
