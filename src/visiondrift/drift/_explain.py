"""Plain-word sentences for drifted metrics, in the metric's own units."""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["fmt_value", "sentence_categorical", "sentence_integrity", "sentence_value"]


def fmt_value(value: float | None, unit: str, *, bare: bool = False) -> str:
    """A value with few significant digits, in a readable unit (``bare``: without a plain unit)."""
    if value is None or math.isnan(value):
        return "n/a"
    if unit == "bytes":
        for factor, name in ((1e9, "GB"), (1e6, "MB"), (1e3, "KB")):
            if abs(value) >= factor:
                return f"{value / factor:.3g} {name}"
        return f"{value:.0f} bytes"
    if unit == "share of pixels":
        return f"{value:.1%}"
    if unit == "px":
        return f"{value:.0f} px"
    text = f"{value:.3g}"
    return text if bare or unit in ("0-1 scale", "width / height", "") else f"{text} {unit}"


def sentence_value(
    *,
    label: str,
    unit: str,
    family: str,
    more: str,
    less: str,
    baseline: float,
    current: float,
    centre: str,
) -> str:
    """One sentence for a numeric metric: direction, size, and the values before and after."""
    change = current - baseline
    word = more if change > 0 else less
    verb = "rose" if change > 0 else "fell"
    relative = change / baseline if baseline else math.nan
    values = f"{centre} {fmt_value(baseline, unit, bare=True)} → {fmt_value(current, unit)}"
    if label == "brightness" and not math.isnan(relative):
        return f"Images are {abs(relative):.0%} {word} than the baseline ({values})."
    if family in ("pixel_mean", "pixel_std") and unit == "0-1 scale":
        return (
            f"{label[:1].upper()}{label[1:]} {verb} by {abs(change):.3f} on a 0–1 scale "
            f"({values}): images are {word}."
        )
    if math.isfinite(relative):
        size = f" {abs(relative):.0%}" if abs(relative) >= 0.01 else f" {abs(relative):.1%}"
    else:
        size = ""
    return f"{label[:1].upper()}{label[1:]} {verb}{size} ({values}): images are {word}."


def sentence_integrity(
    *, what: str, baseline_share: float, current_share: float, top_reasons: Mapping[str, int]
) -> str:
    direction = "up" if current_share > baseline_share else "down"
    reasons = ", ".join(
        f"{count} {reason.replace('_', ' ')}"
        for reason, count in sorted(top_reasons.items(), key=lambda kv: -kv[1])[:3]
    )
    tail = f" (current: {reasons})" if reasons else ""
    return (
        f"{current_share:.1%} of files {what}, {direction} from {baseline_share:.1%} in the "
        f"baseline{tail}."
    )


def sentence_categorical(
    *, what: str, baseline: Mapping[str, float], current: Mapping[str, float]
) -> str:
    keys = set(baseline) | set(current)
    moves = sorted(keys, key=lambda k: -abs(current.get(k, 0.0) - baseline.get(k, 0.0)))[:3]
    parts = ", ".join(f"{k} {baseline.get(k, 0.0):.0%} → {current.get(k, 0.0):.0%}" for k in moves)
    return f"The mix of {what} changed: {parts}."
