"""Explanations name causes: one regression case per transformation of real photo crops.

Each case profiles a batch of crops of real photos put through one transformation and compares
it with a baseline of untouched crops. It asserts what the report says (the cause, in the right
direction) and what it does not say: no sentence whose direction contradicts the transformation,
and no consequence listed beside its cause (a darkening does not also read "softer" and
"cleaner").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

import visiondrift
from visiondrift.demo.samples import CameraChange, Transform, make_dataset
from visiondrift.drift import DriftReport, compare
from visiondrift.profiles import Profile

N = 200
SIZE = (96, 96)
#: Photos with an upright scene (sky above, people standing); micrographs and the deep field
#: have no up, so a rotation of them changes nothing.
UPRIGHT = ("astronaut", "chelsea", "coffee", "rocket", "china", "flower", "grace_hopper")
N_ROTATION = 400


def _pixels(op: Callable[[np.ndarray, np.random.Generator], np.ndarray]) -> Transform:
    def transform(image: Image.Image, rng: np.random.Generator) -> Image.Image:
        arr = op(np.asarray(image, dtype=np.float32), rng)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8))

    return transform


def _grey(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.convert("L").convert("RGB")


def _down_up(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    half = image.resize((image.width // 2, image.height // 2), Image.Resampling.BILINEAR)
    return half.resize(image.size, Image.Resampling.BILINEAR)


def _rotate(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.transpose(Image.Transpose.ROTATE_90)


def _blur(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(1.5))


#: Words of each direction a sentence can take; a case forbids the ones its change contradicts.
STRUCTURE = ("sharper", "blurrier", "noisier", "cleaner", "less blocky", "blockier")
LIGHT = ("darker", "brighter", "more contrasted", "flatter")
CHANNELS = tuple(f"images are {w} {c}" for w in ("more", "less") for c in ("red", "green", "blue"))


@dataclass(frozen=True)
class Case:
    """A transformation, what its report must say and what it must not say."""

    transform: Transform | None = None
    quality: int = 90
    said: tuple[str, ...] = ()
    lead: str = ""
    not_said: tuple[str, ...] = ()
    photos: tuple[str, ...] | None = None
    n: int = N


CASES = {
    "gain x0.7": Case(
        _pixels(lambda a, r: a * 0.7),
        said=("darker", "every pixel about x0.7", "changed only as much as that implies"),
        lead="darker",
        not_said=(*STRUCTURE, "brighter", "less colourful", "less detailed", "less blown out"),
    ),
    "offset -30": Case(
        _pixels(lambda a, r: a - 30.0),
        said=("darker", "grey levels darker", "crushed shadows"),
        lead="darker",
        not_said=(*STRUCTURE, "brighter", "more saturated", "crushed to black more often"),
    ),
    "blur": Case(
        _blur,
        said=("blurrier",),
        lead="blurrier",
        not_said=("sharper", "noisier", "cleaner", *LIGHT),
    ),
    "noise": Case(
        _pixels(lambda a, r: a + r.normal(0.0, 8.0, a.shape)),
        said=("noisier",),
        lead="noisier",
        not_said=("sharper", "blurrier", "cleaner", "less blocky", *LIGHT),
    ),
    "camera change": Case(
        CameraChange(),
        # Three causes at once: each has its own sentence, in the order of their severity.
        said=("darker", "blurrier", "noisier"),
        not_said=("sharper", "cleaner", "brighter", "more contrasted"),
    ),
    "JPEG quality 20": Case(
        quality=20,
        said=("more compressed (lower JPEG quality)", "moved with it, as compression does"),
        lead="JPEG quality fell",
        not_said=("cleaner", "sharper", "noisier", "less compressed", *LIGHT),
    ),
    "grey-scale": Case(
        _grey,
        said=("less colourful", "lost their colour"),
        lead="lost their colour",
        not_said=(*CHANNELS, "more colourful", "more saturated", *STRUCTURE),
    ),
    "downscale-upscale": Case(
        _down_up,
        said=("blurrier",),
        lead="blurrier",
        not_said=("noisier", "cleaner", "sharper", "blockier", *LIGHT),
    ),
    "rotation 90°": Case(
        _rotate,
        said=("as after a 90° rotation",),
        lead="90° rotation",
        not_said=(*STRUCTURE, *LIGHT, *CHANNELS),
        photos=UPRIGHT,
        n=N_ROTATION,
    ),
    "warm colour cast": Case(
        _pixels(lambda a, r: a * np.array([1.15, 1.0, 0.85], dtype=np.float32)),
        said=("images are more red", "images are less blue"),
        not_said=(
            "images are less red",
            "images are more blue",
            "alike (no colour cast)",
            "grey-scale",
            *STRUCTURE,
        ),
    ),
}


def _profile(out: Path, case: Case, photos: list, seed: int) -> Profile:
    chosen = photos if case.photos is None else [p for p in photos if p[0] in case.photos]
    make_dataset(
        out,
        case.n,
        size=SIZE,
        seed=seed,
        photos=chosen,
        transform=case.transform,
        quality=case.quality,
    )
    return visiondrift.profile(out, workers=1, labels="none")


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory, photos: list) -> dict[str, Profile]:
    """Untouched crops: of every photo, and of the upright ones (for the rotation)."""
    root = tmp_path_factory.mktemp("causes")
    return {
        "all": _profile(root / "all", Case(), photos, seed=1),
        "upright": _profile(root / "upright", Case(photos=UPRIGHT, n=N_ROTATION), photos, seed=1),
    }


@pytest.mark.parametrize("name", list(CASES))
def test_explanations_name_the_cause_and_nothing_it_contradicts(
    name: str, baselines: dict[str, Profile], photos: list, tmp_path: Path
) -> None:
    case = CASES[name]
    base = baselines["all" if case.photos is None else "upright"]
    report: DriftReport = compare(base, _profile(tmp_path / "current", case, photos, seed=2))
    said = report.explanations
    text = "\n".join(said)
    assert report.overall_drift_detected, f"{name}: no drift\n{text}"
    for words in case.said:
        assert words in text, f"{name}: {words!r} not said in\n{text}"
    if case.lead:
        assert case.lead in said[0], f"{name}: the first sentence is not the cause\n{text}"
    # The classifier says that the images differ, not why: it comes after the causes.
    assert not said[0].startswith("A classifier"), f"{name}: no cause comes first\n{text}"
    for words in case.not_said:
        assert words not in text, f"{name}: {words!r} said in\n{text}"
    # The share of new-looking images is said by the classifier's sentence, not beside it.
    if {"domain", "contamination"} <= {m.name for m in report.drifted}:
        assert not any("percentile of the domain score" in s for s in said), text
    # A consequence folded under its cause is not listed beside it: each property that
    # drifted has at most one sentence of its own.
    for metric in report.drifted:
        if metric.explanation:
            own = [s for s in said if s.startswith(metric.explanation.split(" (")[0])]
            assert len(own) <= 1, f"{name}: {metric.name} said twice\n{text}"
