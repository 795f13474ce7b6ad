"""Which leaves are scores, which way is better, and how a number is shown.

A person reading a page wants the scores first and the evaluator's configuration
(``threshold``, ``strict_mode``, ``higher_is_better``) last; which leaf is which is the
library's rule (``_scores``), the ordering and formatting are the views' own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, Final

from .._scores import is_config_path

__all__ = [
    "fmt",
    "fmt_delta",
    "fmt_rate",
    "is_config",
    "main_metrics",
    "order_metrics",
]

SCORE_LEAVES: Final = frozenset({"score", "success", "passed", "pass"})
"""Last path segments that are the headline value of a metric."""


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("#", 1)[0]


def is_config(path: str) -> bool:
    """True for a configuration leaf such as ``qa.faithfulness.threshold`` (the library's rule,
    ``_scores``, applied to the path alone)."""
    return is_config_path(path)


def _rank(path: str) -> int:
    return 0 if _leaf(path) in SCORE_LEAVES else 2 if is_config(path) else 1


def order_metrics(paths: Iterable[str]) -> list[str]:
    """Scores first, then other measured leaves, then configuration; alphabetical within."""
    return sorted(dict.fromkeys(paths), key=lambda p: (_rank(p), p))


def main_metrics(paths: Iterable[str], limit: int) -> list[str]:
    """The few metrics a run summary shows: scores, then other measurements, never config."""
    return [p for p in order_metrics(paths) if not is_config(p)][:limit]


def fmt(value: Any) -> str:
    """A value as a table shows it: 3 decimals below 100, fewer above, ``–`` when missing."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("∞" if value > 0 else "−∞")
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.1f}" if abs(value) >= 100 else f"{value:.3f}"
    return str(value)


def fmt_delta(value: float | None) -> str:
    """A signed change, ``+0.125`` or ``−0.050``."""
    if value is None or not math.isfinite(value):
        return "–"
    return ("+" if value >= 0 else "−") + fmt(abs(value))


def fmt_rate(value: float | None) -> str:
    """A pass rate as a percentage with one decimal."""
    return "–" if value is None else f"{100 * value:.1f} %"
