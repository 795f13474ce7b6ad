"""Which leaves are scores, which way is better, and how a number is shown.

A person reading a page wants the scores first and the evaluator's configuration
(``threshold``, ``strict_mode``, ``higher_is_better``) last; which leaf is which is the
library's rule (``_scores``), the ordering and formatting are the views' own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ..schema._scores import is_config_path

__all__ = [
    "INTERVAL_NOTE",
    "fmt",
    "fmt_delta",
    "fmt_rate",
    "interval",
    "is_config",
    "is_main",
    "main_metrics",
    "order_metrics",
    "plus_minus",
    "short_name",
    "success_of",
]

INTERVAL_NOTE: Final = (
    "the 95 % interval of a run's mean (Student t, each result an "
    "independent draw) or pass rate (Wilson); none where a run has fewer than two values or "
    "no spread. Clustered and per-sample errors: compare."
)
"""What history's intervals are, said once wherever they are shown."""

SCORE_LEAVES: Final = frozenset(
    {"score", "success", "passed", "pass", "aggregate_score", "aggregate_success"}
)
"""Last path segments that are the headline value of a metric."""


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("#", 1)[0]


def is_config(path: str) -> bool:
    """True for a configuration leaf such as ``qa.faithfulness.threshold`` (the library's rule,
    ``_scores``, applied to the path alone)."""
    return is_config_path(path)


def _rank(path: str) -> int:
    return 0 if _leaf(path) in SCORE_LEAVES else 2 if is_config(path) else 1


def is_main(path: str) -> bool:
    """A metric's headline leaf (``score``, ``success``, ``passed``), what a reader looks at
    first; the rest (sub-measurements, configuration) can fold away."""
    return _rank(path) == 0


def order_metrics(paths: Iterable[str]) -> list[str]:
    """Scores first, then other measured leaves, then configuration; within each, shallower
    paths first (an aggregate ``retrieval.score`` before its ``retrieval.map@1.score``), then
    alphabetical."""
    return sorted(dict.fromkeys(paths), key=lambda p: (_rank(p), p.count("."), p))


def main_metrics(paths: Iterable[str], limit: int) -> list[str]:
    """The few metrics a run summary shows: scores, then other measurements, never config,
    nor the ``success`` leaf of a score beside it (the score's pass side)."""
    measured = [p for p in order_metrics(paths) if not is_config(p)]
    paired = set(success_of(measured).values())
    return [p for p in measured if p not in paired][:limit]


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


def interval(stats: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """History's 95 % interval of the metric's headline: the mean's, else the pass rate's."""
    keys = ("ci_low", "ci_high") if "mean" in stats else ("pass_ci_low", "pass_ci_high")
    low, high = (stats.get(k) for k in keys)
    if isinstance(low, int | float) and isinstance(high, int | float):
        return float(low), float(high)
    return None, None


def plus_minus(
    value: float | None, low: float | None, high: float | None, *, rate: bool = False
) -> str:
    """`` ± 0.031`` for a table cell: the interval's wider side (a Wilson interval is not
    symmetric), in the value's own format; empty without an interval."""
    if value is None or low is None or high is None:
        return ""
    half = max(value - low, high - value)
    return " ± " + (f"{100 * half:.1f} %" if rate else fmt(half))


def short_name(path: str, others: Sequence[str]) -> str:
    """The shortest dotted suffix of ``path`` no other of ``others`` ends with (so four
    ``classical_retrieval_evals.map@k.score`` columns read ``map@1.score``, ``map@3.score``)."""
    parts = path.split(".")
    # A bare generic leaf ("score") names nothing: keep its metric's name with it.
    generic = _leaf(path) in SCORE_LEAVES and not _leaf(path).startswith("aggregate")
    for k in range(min(2 if generic else 1, len(parts)), len(parts) + 1):
        tail = ".".join(parts[-k:])
        if not any(o != path and (o == tail or o.endswith("." + tail)) for o in others):
            return tail
    return path


def success_of(paths: Sequence[str]) -> dict[str, str]:
    """Each score leaf's own pass/fail leaf, where the run has one: ``x.score`` →
    ``x.success``, gllm-evals' ``e.aggregate_score`` → ``e.aggregate_success``."""
    present = set(paths)
    pairs: dict[str, str] = {}
    for path in paths:
        parent, _, leaf = path.rpartition(".")
        if leaf.endswith("score"):
            sibling = (parent + "." if parent else "") + leaf[: -len("score")] + "success"
            if sibling in present:
                pairs[path] = sibling
    return pairs
