"""Helpers shared by the source tests: a small labelled image tree and profile comparison."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from visiondrift.demo.samples import make_dataset, real_photos
from visiondrift.profiles import Profile


def write_tree(root: Path, n_per_class: int = 12) -> Path:
    """An ImageFolder tree of real JPEG crops (two classes) and one corrupt file."""
    photos = real_photos()
    for i, name in enumerate(("cat", "dog")):
        make_dataset(root / name, n_per_class, size=(48, 48), seed=20 + i, photos=photos)
    (root / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def canonical(p: Profile) -> dict[str, Any]:
    """A profile's content that does not depend on where the images were read from.

    Reservoir keys hash an image's path (a URL and a local path differ), so reservoir rows are
    compared by name; moments are compared up to rounding by :func:`assert_same_content`.
    """
    data = p.to_dict()
    for key in ("created_at", "sources", "moments"):
        data.pop(key)
    res = data.pop("reservoir")
    order = sorted(range(len(res["names"])), key=lambda i: res["names"][i])
    data["rows"] = [
        (
            res["names"][i],
            res["labels"][i],
            {k: v[i] for k, v in res["values"].items()},
            {k: v[i] for k, v in res["vectors"].items()},
        )
        for i in order
    ]
    return data


def assert_same_content(a: Profile, b: Profile) -> None:
    assert canonical(a) == canonical(b)
    assert a.moments.keys() == b.moments.keys()
    for name, m in a.moments.items():
        o = b.moments[name]
        assert (m.count, m.min, m.max) == (o.count, o.min, o.max)
        assert m.mean == pytest.approx(o.mean, rel=1e-12, abs=1e-15)
        assert m.m2 == pytest.approx(o.m2, rel=1e-9, abs=1e-12)


def file_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


__all__ = ["assert_same_content", "canonical", "file_bytes", "write_tree"]
