"""``evaltrace compare`` as text: the verdict per metric first, then the regressed samples
(most regressed first), then the counts and the gate; no line wider than the terminal.

Metric names are never cut from the left: a name too long for its line keeps its start and
its end around an ellipsis in the middle.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Sequence

from ._compare import Changes, Comparison, MetricDelta, SampleChange
from ._stats import Estimate

__all__ = ["compare_report"]

GAP = "  "
INDENT = " " * 14
"""The verdict column's width: a metric's name follows it."""
NUMBERS = " " * 4
"""A metric's numbers start here, on the line under its name."""
ORDER = {"regressed": 0, "vanished": 1, "improved": 2, "inconclusive": 3, "unchanged": 4, "new": 5}
CORRECTIONS = {"holm": "Holm", "maxt": "max-T sign-flip permutation"}


def _fit(text: str, width: int) -> str:
    """``text`` in ``width`` characters; a longer one keeps both ends, ``…`` in the middle."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head] + "…" + text[len(text) - (width - 1 - head) :]


def _wrap(text: str, width: int, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False) or [""]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}".replace("-", "−")


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _plus_minus(estimate: Estimate | None) -> str:
    """A mean and half its 95 % interval (Wilson's is near-symmetric; --json has its ends)."""
    if estimate is None or estimate.mean is None:
        return "-"
    if estimate.low is None or estimate.high is None:
        return f"{estimate.mean:.3f}"
    return f"{estimate.mean:.3f} ± {(estimate.high - estimate.low) / 2:.3f}"


def _difference(m: MetricDelta) -> str:
    t = m.test
    if t is None or t.mean is None:
        return "-"
    interval = f" [{_signed(t.low)}, {_signed(t.high)}]" if t.low is not None else ""
    return _signed(t.mean) + interval


def _numbers(m: MetricDelta) -> list[str]:
    a, b = _plus_minus(m.estimate_a), _plus_minus(m.estimate_b)
    return [a, b, _difference(m), _p(m.p_adjusted), _num(m.mde)]


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [GAP.join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]


def _verdicts(c: Comparison, width: int) -> list[str]:
    metrics = sorted(c.metrics, key=lambda m: (ORDER.get(m.verdict, 9), m.metric))
    header = ["A ± 95%", "B ± 95%", "B − A [95% CI]", "p adj", "MDE"]
    numbers = _aligned([header, *(_numbers(m) for m in metrics)])
    wide = max(len(NUMBERS) + len(line) for line in numbers) > width
    lines = [_fit("verdict       metric (kind, better)", width)]
    lines += [] if wide else [NUMBERS + numbers[0]]
    for m, row in zip(metrics, numbers[1:], strict=True):
        shown = m.verdict.upper() if m.verdict == "regressed" else m.verdict
        kind = "pass rate" if m.kind == "boolean" else "mean"
        name = f"{m.metric} ({kind}, {m.direction} better)"
        if len(INDENT) + len(name) > width:
            name = _fit(m.metric, width - len(INDENT))
        lines.append(f"{shown:<13} {name}")
        if m.verdict in ("vanished", "new"):
            lines.append(NUMBERS + f"in {m.count_a} results of A, {m.count_b} of B")
        elif not wide:
            lines.append(NUMBERS + row)
        else:
            parts = _numbers(m)
            text = f"A {parts[0]}, B {parts[1]}, B − A {parts[2]}, p {parts[3]}, MDE {parts[4]}"
            lines += _wrap(NUMBERS + text, width, NUMBERS)
    return lines


def _regressed_samples(c: Comparison, samples: int, width: int) -> list[str]:
    # most regressed first: the regressions are the first moves (read only those shown)
    count = c.changes.worse() if isinstance(c.changes, Changes) else None
    if count is None:
        count = sum(ch.gain < 0 for ch in c.changes)
    if not count:
        return ["regressed samples: none"]
    shown = list(c.changes[: min(samples, count)])
    lines = _wrap(
        f"regressed samples, most regressed first ({len(shown)} of {count} moves; "
        "more: --samples N):",
        width,
    )
    groups: dict[str, list[SampleChange]] = {}
    for ch in shown:
        groups.setdefault(ch.metric, []).append(ch)
    for metric, group in groups.items():
        lines.append("  " + _fit(metric, width - 2))
        values = [[_value(ch.a), _value(ch.b), _signed(ch.delta)] for ch in group]
        header = ["A", "B", "B − A"]
        used = sum(max(len(r[i]) for r in [header, *values]) + len(GAP) for i in range(3))
        room = max(4, min(24, width - 4 - used))
        rows = [["sample_id" if room >= 9 else "id", *header]]
        rows += [[_fit(ch.sample_id, room), *v] for ch, v in zip(group, values, strict=True)]
        lines += [_fit("    " + line, width) for line in _aligned(rows)]
    return lines


def _value(value: float | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{float(value):.3f}"


def compare_report(
    comparison: Comparison,
    samples: int = 10,
    allow_missing: int = 0,
    width: int | None = None,
    strict: bool = False,
    allow_dataset_change: bool = False,
) -> str:
    """``compare`` as text fitting ``width`` columns (the terminal's by default)."""
    c = comparison
    width = max(40, width or shutil.get_terminal_size().columns)
    s = c.samples
    gate = c.gate(allow_missing, strict, allow_dataset_change)
    trials = c.trials
    lines = [_fit(f"A = {c.run_a}", width), _fit(f"B = {c.run_b}", width)]
    lines += _wrap(
        f"family: {len(c.family)} scores, {CORRECTIONS[c.correction]} correction, "
        f"alpha {c.alpha:g}, min effect {c.min_effect:g}"
        + (f", clustered by {c.cluster}" if c.cluster else ""),
        width,
    )
    lines += ["", *_verdicts(c, width), ""]
    if samples:
        lines += [*_regressed_samples(c, samples, width), ""]
    repeats = ""
    if max(trials.values(), default=1) > 1:
        repeats = f"; trials averaged per sample (up to {trials['a']} in A, {trials['b']} in B)"
    lines += _wrap(
        f"samples: {s['paired']} paired ({s['improved']} improved, {s['regressed']} regressed, "
        f"{s['mixed']} mixed, {s['unchanged']} unchanged); {len(c.only_in_a)} only in A "
        f"(missing from B), {len(c.only_in_b)} only in B{repeats}",
        width,
    )
    if c.dataset is not None:
        lines += _wrap(c.dataset.summary(), width)
    if c.vanished:
        lines += _wrap("vanished metrics (in A, not in B): " + ", ".join(c.vanished), width)
    if c.new:
        lines += _wrap("new metrics (in B only): " + ", ".join(c.new), width)
    lines += _wrap(
        "± is half the 95 % interval; p adj is corrected for the family; MDE: the smallest "
        "difference this comparison detects with 80 % power",
        width,
    )
    verdict = "pass" if gate.passed else f"FAIL ({len(gate.reasons)} reasons)"
    lines.append("gate: " + verdict + (" (--strict)" if strict else ""))
    return "\n".join(lines)
