"""Explanations that name causes: a consequence is folded under its cause, not listed beside it.

A global change of the light (every pixel x0.7, or every pixel 30 levels darker) moves many
properties at once: contrast, sharpness and noise scale with the gain, shadows are crushed, files
get smaller. Stronger compression removes noise and fine detail; blur removes noise; added noise
hides the block grid and adds fine detail. Reported one by one, these consequences read as
separate findings ("images are cleaner" after a darkening). Here the report's sentences are
built cause first: the causes that drifted, in a fixed order (light, compression, colour, blur,
noise, block artefacts, orientation), each take the drifted properties they explain, and those
properties are named in the cause's sentence instead of having their own.

A consequence is folded only when its change goes in the direction its cause implies, and for
the properties whose change under a gain is known, only when its size is no larger than the gain
implies: the Laplacian variance scales as the square of the gain, noise and colourfulness as the
gain, and the luminance entropy falls by at most ``log2`` of the contrast ratio. A property that
moved further keeps its own sentence (a camera change that darkens *and* adds noise reads
"darker" and "noisier"). Each metric keeps its own explanation in the metrics table either way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from visiondrift.drift._details import DistributionDetails
from visiondrift.drift._model import MetricResult

__all__ = [
    "ALIKE",
    "CONSISTENT",
    "DOMAIN_WHOLE",
    "ENTROPY_SLACK",
    "GREY",
    "SHARE_WHOLE",
    "explain_causes",
]

#: Channels (or brightness and contrast) "move alike" when each change, absolute or relative, is
#: within this share of the reference one.
ALIKE: Final = 0.25
#: Slack of the size check: a consequence of a gain g whose property scales as g^k is folded
#: when its typical ratio lies in [min(1, g^k) (1 - CONSISTENT), max(1, g^k) (1 + CONSISTENT)].
CONSISTENT: Final = 0.1
#: Bits of slack on the entropy fall that a contrast ratio implies (log2 of it).
ENTROPY_SLACK: Final = 0.25
#: Colourfulness (Hasler-Süsstrunk M) below which a batch reads as grey-scale.
GREY: Final = 1.0
#: Domain-classifier AUC from which its sentence says "the images differ as a whole", and share
#: of new-looking images from which the share adds nothing to that sentence.
DOMAIN_WHOLE: Final = 0.75
SHARE_WHOLE: Final = 0.9

#: (overall metric, its per-channel metrics, what the channels are called in a sentence).
_CHANNEL_GROUPS: Final = (
    ("brightness", ("mean_r", "mean_g", "mean_b"), "red, green and blue"),
    ("contrast", ("std_r", "std_g", "std_b"), "the spreads of red, green and blue"),
)
#: Families of the tests that say *that* the images differ, not how: after the causes.
_SUMMARY_FAMILIES: Final = frozenset({"domain", "contamination", "embedding"})


def _close(value: float | None, reference: float | None) -> bool:
    if value is None or reference is None or not reference:
        return False
    return abs(value - reference) <= ALIKE * abs(reference)


def _moved_alike(lead: MetricResult, part: MetricResult) -> bool:
    """Whether a channel moved like the whole: by about as much, or by about the same share.

    An offset (every pixel a few levels darker) moves every channel by the same amount; a gain
    (every pixel 25% darker) moves every channel by the same share of its own level.
    """
    return _close(part.change, lead.change) or _close(part.relative_change, lead.relative_change)


def _ratio(m: MetricResult) -> float | None:
    """Typical current / baseline ratio of a property: the median ratio of its percentiles
    (robust where the median alone jumps between the modes of a mixed batch)."""
    details = m.details if isinstance(m.details, DistributionDetails) else None
    b = np.asarray([] if details is None else details.baseline_quantiles, dtype=np.float64)
    c = np.asarray([] if details is None else details.current_quantiles, dtype=np.float64)
    if b.size and b.size == c.size:
        ok = (b > 0) & (c > 0)
        if ok.sum() >= max(3, b.size // 2):
            return float(np.exp(np.median(np.log(c[ok] / b[ok]))))
    if m.baseline and m.current is not None and m.baseline > 0 and m.current >= 0:
        return m.current / m.baseline
    return None


def _within(ratio: float | None, implied: float) -> bool:
    if ratio is None:
        return False
    lo, hi = min(1.0, implied), max(1.0, implied)
    return lo * (1.0 - CONSISTENT) <= ratio <= hi * (1.0 + CONSISTENT)


def _rose(m: MetricResult) -> bool:
    return (m.change or 0.0) > 0


def _fell(m: MetricResult) -> bool:
    return (m.change or 0.0) < 0


def _crossed_half(m: MetricResult) -> bool:
    """Whether the orientation share moved to the other side of 0.5 (as a 90° rotation does)."""
    if m.baseline is None or m.current is None:
        return False
    return (m.baseline - 0.5) * (m.current - 0.5) < 0


def _any(m: MetricResult) -> bool:
    return True


def _alike_to(head: MetricResult) -> Callable[[MetricResult], bool]:
    def rule(m: MetricResult) -> bool:
        return _moved_alike(head, m)

    return rule


Rule = Callable[[MetricResult], bool]


@dataclass
class _Causes:
    #: Metrics that drifted: the possible causes.
    drifted: dict[str, MetricResult]
    #: Metrics with a sentence (drifted or inconclusive): the possible consequences.
    foldable: dict[str, MetricResult]
    every: dict[str, MetricResult]
    folded: set[str]
    suffix: dict[str, str]

    def take(self, cause: str, rules: dict[str, Rule], phrase: str) -> None:
        """Fold every drifted metric that ``rules`` accepts under ``cause``."""
        taken = [
            name
            for name, rule in rules.items()
            if name in self.foldable and name not in self.folded and name != cause
            if rule(self.foldable[name])
        ]
        if not taken:
            return
        self.folded.update(taken)
        labels = [self.foldable[n].label for n in taken]
        words = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        self.suffix[cause] = self.suffix.get(cause, "") + f"; {words} {phrase}"

    def add(self, cause: str, text: str) -> None:
        self.suffix[cause] = self.suffix.get(cause, "") + text

    def lead(self, *names: str) -> str | None:
        """The first of ``names`` that drifted and is not itself folded."""
        return next((n for n in names if n in self.drifted and n not in self.folded), None)


def _light(c: _Causes) -> None:
    """A global change of the light: a gain (every pixel x g) or an offset (every pixel +- d)."""
    cause = c.lead("brightness", "contrast")
    lead = c.every.get("brightness")
    contrast = c.every.get("contrast")
    if cause is None or lead is None or lead.baseline is None or lead.current is None:
        return
    if not lead.baseline:
        return
    gain = lead.current / lead.baseline
    # The typical per-image contrast ratio (the pooled spread also holds the spread between
    # the images' means, which a change of contrast within each image does not scale).
    rho = (_ratio(contrast) if contrast is not None else None) or 1.0
    darker = gain < 1.0
    if cause == "contrast":
        # Contrast alone: every pixel's distance from the mean scaled (haze, a flatter curve).
        c.add("contrast", f": every pixel's distance from the mean about x{rho:.2f}")
    elif "contrast" in c.drifted and abs(rho / gain - 1.0) <= ALIKE:
        c.add("brightness", f": every pixel about x{gain:.2f}")
        c.folded.add("contrast")
    elif "contrast" not in c.drifted:
        levels = abs(lead.current - lead.baseline) * 255.0
        word = "darker" if darker else "brighter"
        c.add("brightness", f": every pixel about {levels:.0f} grey levels {word}")
    for overall, channels, words in _CHANNEL_GROUPS:
        head = c.drifted.get(overall)
        parts = [c.drifted.get(n) for n in channels]
        if head is None or not head.change:
            continue
        if all(p is not None and _moved_alike(head, p) for p in parts):
            c.folded.update(channels)
            verb = "rose" if head.change > 0 else "fell"
            c.add(overall, f"; {words} {verb} alike (no colour cast)")
    entropy_drop = abs(math.log2(rho)) + ENTROPY_SLACK if rho > 0 else ENTROPY_SLACK

    def entropy(m: MetricResult) -> bool:
        change = m.change or 0.0
        return (change < 0) == (rho < 1.0) and abs(change) <= entropy_drop

    rules: dict[str, Rule] = {
        "sharpness": lambda m: _within(_ratio(m), rho**2),
        "noise": lambda m: _within(_ratio(m), rho),
        "colourfulness": lambda m: _within(_ratio(m), rho),
        "entropy": entropy,
        "dark_clip": (_rose if darker else _fell) if cause == "brightness" else _any,
        "bright_clip": (_fell if darker else _rose) if cause == "brightness" else _any,
        # HSV saturation ignores a gain but rises when an offset darkens (and falls if it
        # brightens).
        "saturation": (
            (_rose if darker else _fell)
            if abs(rho - 1.0) < ALIKE
            else lambda m: _within(_ratio(m), 1.0)
        ),
        "file_size": _fell if rho < 1.0 else _rose,
    }
    # Channels that moved like the whole, when not all three did (those are folded above).
    for overall, channels, _ in _CHANNEL_GROUPS:
        head = c.every.get(overall)
        if head is not None:
            rules.update(dict.fromkeys(channels, _alike_to(head)))
    c.take(cause, rules, "changed only as much as that implies")


def _compression(c: _Causes, cause: str, stronger: bool) -> None:
    weaker_detail: Rule = _fell if stronger else _rose
    rules: dict[str, Rule] = {
        "blockiness": _rose if stronger else _fell,
        "noise": weaker_detail,
        "sharpness": weaker_detail,
        "entropy": _any,
        "file_size": weaker_detail,
        "colourfulness": weaker_detail,
        "saturation": _any,
        "bright_clip": _any,
        "dark_clip": _any,
        "vertical_edges": lambda x: not _crossed_half(x),
    }
    c.take(cause, rules, "moved with it, as compression does")


def _quality(c: _Causes) -> None:
    """JPEG quality read from the files' tables: the surest sign of a compression change."""
    cause = c.lead("jpeg_quality")
    if cause is not None:
        _compression(c, cause, _fell(c.drifted[cause]))


def _blocking(c: _Causes) -> None:
    """A block grid that appeared in the pixels (re-compressed files of any format), when no
    other cause already explains the change of blockiness."""
    cause = c.lead("blockiness")
    if cause is not None and _rose(c.drifted[cause]):
        _compression(c, cause, True)


def _colour(c: _Causes) -> None:
    """Loss (or gain) of colour; channel means moving toward (away from) grey follow from it."""
    cause = c.lead("colourfulness", "saturation")
    if cause is None:
        return
    less = _fell(c.drifted[cause])
    grey = c.every.get("brightness"), c.every.get("contrast")

    def toward_grey(index: int) -> Rule:
        def rule(m: MetricResult) -> bool:
            ref = grey[index]
            if ref is None or None in (m.baseline, m.current, ref.baseline, ref.current):
                return False
            before = abs(float(m.baseline or 0.0) - float(ref.baseline or 0.0))
            after = abs(float(m.current or 0.0) - float(ref.current or 0.0))
            return (after < before) == less

        return rule

    rules: dict[str, Rule] = {
        "saturation": _fell if less else _rose,
        "colourfulness": _fell if less else _rose,
        "file_size": _any,
        "entropy": _any,
        # JPEG spends its bits differently on grey pixels: the block grid changes with them.
        "blockiness": _any,
    }
    rules.update({n: toward_grey(0) for n in ("mean_r", "mean_g", "mean_b")})
    rules.update({n: toward_grey(1) for n in ("std_r", "std_g", "std_b")})
    colourful = c.every.get("colourfulness")
    if less and colourful is not None and (colourful.current or 0.0) < GREY:
        c.add(cause, "; the images have lost their colour (grey-scale)")
    c.take(cause, rules, "changed with it (no colour cast)" if less else "changed with it")


def _cast(c: _Causes) -> None:
    """A colour cast (channel means moving apart) changes saturation and colourfulness."""
    cause = c.lead("mean_r", "mean_g", "mean_b")
    if cause is None:
        return
    c.take(cause, {"saturation": _any, "colourfulness": _any}, "changed with the cast")


def _blur(c: _Causes) -> None:
    if "sharpness" not in c.drifted or "sharpness" in c.folded:
        return
    softer = _fell(c.drifted["sharpness"])
    if not softer:
        return
    rules: dict[str, Rule] = {
        "noise": _fell,
        "file_size": _fell,
        "bright_clip": _fell,
        "dark_clip": _fell,
        "entropy": _fell,
        "colourfulness": _fell,
        "saturation": _any,
        "blockiness": _any,
        "vertical_edges": lambda x: not _crossed_half(x),
    }
    c.take("sharpness", rules, "changed with it, as smoothing does")


def _noise(c: _Causes) -> None:
    if "noise" not in c.drifted or "noise" in c.folded or not _rose(c.drifted["noise"]):
        return
    rules: dict[str, Rule] = {
        "sharpness": _rose,
        "file_size": _rose,
        "blockiness": _fell,
        "dark_clip": _rose,
        "bright_clip": _rose,
        "entropy": _rose,
        "saturation": _any,
        "colourfulness": _any,
        "vertical_edges": lambda x: not _crossed_half(x),
    }
    c.take("noise", rules, "moved with it, as added noise does")


def _rotation(c: _Causes) -> None:
    m = c.drifted.get("vertical_edges")
    if m is not None and "vertical_edges" not in c.folded and _crossed_half(m):
        c.add(
            "vertical_edges",
            "; vertical and horizontal structure swapped, as after a 90° rotation",
        )


def _share_new(c: _Causes) -> None:
    """The domain classifier and the share of images beyond its baseline quantile say one thing
    (the batch differs, and how much of it): one sentence, the classifier's."""
    domain, share = c.drifted.get("domain"), c.drifted.get("contamination")
    if domain is None or share is None or "contamination" not in c.foldable:
        return
    c.folded.add("contamination")
    whole = (domain.current or 0.0) >= DOMAIN_WHOLE and share.effect_size >= SHARE_WHOLE
    if not whole:
        c.add("domain", f"; about {share.effect_size:.0%} of the batch looks new")


_CAUSES: Final = (
    _light,
    _quality,
    _colour,
    _cast,
    _blur,
    _noise,
    _blocking,
    _rotation,
    _share_new,
)


def explain_causes(
    listed: Sequence[MetricResult], every: Sequence[MetricResult] | None = None
) -> list[str]:
    """The report's sentences, cause first, each consequence folded under its cause.

    ``listed`` are the metrics to explain, in ranking order (drifted, then inconclusive);
    ``every`` is every metric of the comparison (values of the ones that did not drift, such as
    brightness for a grey-scale batch).
    """
    every = listed if every is None else every
    causes = _Causes(
        drifted={m.name: m for m in listed if m.status == "drift"},
        foldable={m.name: m for m in listed if m.explanation},
        every={m.name: m for m in every},
        folded=set(),
        suffix={},
    )
    for step in _CAUSES:
        step(causes)
    drift, summary, rest = [], [], []
    for m in listed:
        if not m.explanation or m.name in causes.folded:
            continue
        text = m.explanation
        if m.name in causes.suffix:
            head, sep, tail = text.partition(": images are ")
            if m.name == "brightness" or not sep:
                text = text.rstrip(".") + causes.suffix[m.name] + "."
            else:
                text = f"{head}{sep}{tail.rstrip('.')}{causes.suffix[m.name]}."
        if m.status != "drift":
            rest.append(text)
        elif m.family in _SUMMARY_FAMILIES:
            summary.append(text)
        else:
            drift.append(text)
    return drift + summary + rest
