"""Numbers for people, shared by the HTML page, its charts and the Markdown summary."""

from __future__ import annotations

import math

__all__ = ["fmt_num", "fmt_p", "fmt_share", "fmt_signed"]


def fmt_num(value: float | None, digits: int = 3) -> str:
    """A number for people: 3 significant digits, thousands separators, no exponent below 1e6."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    size = abs(value)
    if size == 0:
        text = "0"
    elif size >= 1e6 or size < 1e-4:
        text = f"{value:.{digits - 1}e}"
    elif size >= 10 ** (digits - 1):
        text = f"{value:,.0f}"
    else:
        decimals = digits - 1 - math.floor(math.log10(size))
        text = f"{value:.{decimals}f}"
    return text.replace("-", "−")


def fmt_signed(value: float | None) -> str:
    text = fmt_num(value)
    return "+" + text if value is not None and value > 0 else text


def fmt_p(value: float) -> str:
    """A p-value: ``< 0.0001`` for tiny values, else up to 4 decimals."""
    if math.isnan(value):
        return "–"
    if value < 1e-4:
        return "< 0.0001"
    return f"{value:.4f}" if value < 0.01 else f"{value:.3f}"


def fmt_share(value: float) -> str:
    return f"{100.0 * value:.1f}%"
