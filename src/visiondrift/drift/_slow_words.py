"""The sentences of the slow-drift checks (:mod:`visiondrift.drift.slow`): what moved, in words.

Plain Python; the numbers come from a :class:`~visiondrift.drift.slow.WindowTest`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from visiondrift.measure.properties import PROPERTIES

if TYPE_CHECKING:
    from visiondrift.drift.slow import WindowTest

__all__ = ["MODEL_CONFIDENCE", "drift_sentence", "label_of", "runs_span", "windows_words", "words"]

#: The metric name of the model's top-1 probability (from :attr:`ModelSummary.confidence`);
#: exported as :data:`visiondrift.drift.slow.MODEL_CONFIDENCE`.
MODEL_CONFIDENCE: Final = "model_confidence"
_SPECS: Final = {spec.name: spec for spec in PROPERTIES}


def label_of(metric: str) -> tuple[str, str, str]:
    """The metric's label and its words for a higher and a lower mean."""
    if metric == MODEL_CONFIDENCE:
        return "model confidence", "more confident", "less confident"
    spec = _SPECS.get(metric)
    if spec is None:
        return metric, "higher", "lower"
    return spec.label, spec.more, spec.less


def runs_span(runs: Sequence[int]) -> str:
    """``3, 5-8, 10`` for runs ``3, 5, 6, 7, 8, 10``."""
    parts: list[str] = []
    start = prev = runs[0]
    for r in [*runs[1:], None]:
        if r is not None and r == prev + 1:
            prev = r
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if r is not None:
            start = prev = r
    return ", ".join(parts)


def words(items: Sequence[str]) -> str:
    if len(items) == 1:
        return items[0]
    return f"{', '.join(items[:-1])} or {items[-1]}"


def windows_words(windows: Sequence[int]) -> str:
    return words([str(k) for k in windows])


def _number(x: float) -> str:
    # Three significant digits, trailing zeros kept (0.400), never a bare point ("220.").
    return f"{x:#.3g}".rstrip(".") if abs(x) < 1000 else f"{x:,.0f}"


def drift_sentence(t: WindowTest, alpha: float) -> str:
    label, more, less = label_of(t.metric)
    word = more if t.change > 0 else less
    if t.relative_change is not None:
        amount = f"{abs(t.relative_change):.1%} {word}"
    else:
        amount = f"{word} by {_number(abs(t.change))}"
    alone = [p for p in t.run_p_values if not math.isnan(p)]
    flagged = sum(p <= alpha for p in alone)
    if not alone:
        single = "though none of those runs held enough images to be tested on its own"
    elif flagged == 0:
        single = (
            f"though no single one of those runs differs from the baseline at alpha {alpha:g} "
            f"(smallest single-run p-value {min(alone):.2g})"
        )
    else:
        single = (
            f"and {flagged} of those {len(alone)} runs already differ from the baseline on their "
            f"own at alpha {alpha:g} (uncorrected)"
        )
    runs = "the last run" if t.window == 1 else f"the last {t.window} runs"
    head = f"{label[0].upper()}{label[1:]} has moved: {runs} ({t.n_images} images)"
    if t.mean_p_value > alpha:
        # Kolmogorov-Smirnov saw the distribution change; the mean alone does not show it.
        return (
            f"{head} differ from the baseline in distribution (KS D = {t.statistic:.2f}), not "
            f"clearly in mean ({_number(t.baseline_mean)} → {_number(t.mean)}), {single}."
        )
    return (
        f"{head} are {amount} than the baseline (mean {_number(t.baseline_mean)} → "
        f"{_number(t.mean)}), {single}."
    )
