"""Text the ``evaltrace`` command prints: tables, JSON, and export lines (CSV or JSONL).

Pure functions from library values to strings, shared by the CLI and the demo.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import shutil
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from ._compare import Changes, Comparison
from ._compare_text import compare_report as _compare_text
from .schema._scores import matches_any, score_paths
from .schema._walk import flatten

__all__ = [
    "CSV_COLUMNS",
    "clip",
    "compare_report",
    "export_lines",
    "results_table",
    "review_lines",
    "reviews_summary",
    "runs_table",
    "terminal_safe",
    "to_json",
]

CSV_COLUMNS = ("run_id", "sample_id", "timestamp", "trace_id", "span_id")
"""The fixed leading columns of a CSV export; metric columns follow, then data and metadata."""

MAX_HEADER = 30
"""Longest column header; a longer metric path keeps its end (``…completeness.score``)."""
MIN_HEADER = 10
"""Narrowest metric column worth showing (``…f1.score``)."""
MAX_CELL = 24
"""Longest table cell; a longer one is cut with an ellipsis (a label, a long sample id)."""
RESULTS_LIMIT = 20
"""Results ``results`` lists unless told otherwise; ``--json`` has them all."""
GAP = "  "


_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""Controls (C0, DEL, C1: ESC, CSI, OSC), format characters (bidi overrides and isolates,
zero-width), lone surrogates, line and paragraph separators: none of them prints as itself."""


def _escape(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` as the terminal may show it: every control, escape sequence, newline, bidi
    override or lone surrogate escaped visibly (``\\n``, ``\\x1b``, ``\\u202e``), so that a
    run id, sample id or metric name can neither forge a table row nor drive the terminal.
    Every table cell, header and line of the CLI's text goes through it."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text)


def terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS``, else the tty, else 80 when piped)."""
    return shutil.get_terminal_size().columns


NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
"""How ``--json`` and exports write a non-finite number (the store keeps it exactly): as the
string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``, so every line is strict JSON (RFC 8259 has
no NaN) and the value is still told apart from a missing one (``null``)."""


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else NON_FINITE[repr(value)]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def to_json(value: Any, indent: int | None = 2) -> str:
    """Strict JSON as evaltrace writes it: non-ASCII unescaped; NaN and the infinities as the
    strings of ``NON_FINITE``."""
    try:
        return json.dumps(value, indent=indent, allow_nan=False, ensure_ascii=False)
    except ValueError:  # a non-finite float somewhere: only then walk the value
        return json.dumps(_finite(value), indent=indent, allow_nan=False, ensure_ascii=False)


def clip(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (at the start with ``keep_end``)."""
    if len(text) <= width:
        return text
    return "…" + text[len(text) - width + 1 :] if keep_end else text[: width - 1] + "…"


def cell(value: Any, max_cell: int = MAX_CELL) -> str:
    """One table cell: numbers to 3 decimals, booleans lower-case, missing as ``-``, clipped."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}"
    return clip(terminal_safe(str(value)), max_cell)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_cell: int = MAX_CELL) -> str:
    """Left-aligned columns two spaces apart, with a header line; cells cut at ``max_cell``."""
    cells = [
        [terminal_safe(h) for h in headers],
        *([cell(v, max_cell) for v in row] for row in rows),
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    return "\n".join(
        GAP.join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def _column_width(header: str, values: Sequence[Any]) -> int:
    return max(len(header), *(len(cell(v)) for v in values)) if values else len(header)


def fit_columns(
    fixed: Sequence[tuple[str, Sequence[Any]]],
    optional: Sequence[tuple[str, Sequence[Any]]],
    width: int,
) -> tuple[list[str], list[list[Any]], int]:
    """Headers and rows of the ``fixed`` columns plus as many ``optional`` ones (in order) as
    fit in ``width`` characters, headers cut to the room left; and how many were left out."""
    used = sum(_column_width(h, v) for h, v in fixed) + len(GAP) * (len(fixed) - 1)
    chosen = list(fixed)
    for header, values in optional:
        room = min(MAX_HEADER, width - used - len(GAP))
        need = _column_width("", values)
        if room < max(need, MIN_HEADER):
            break
        header = clip(terminal_safe(header), room, keep_end=True)
        chosen.append((header, values))
        used += len(GAP) + max(need, len(header))
    n_rows = len(fixed[0][1]) if fixed else 0
    rows = [[values[i] for _, values in chosen] for i in range(n_rows)]
    return [h for h, _ in chosen], rows, len(fixed) + len(optional) - len(chosen)


def order_scores(paths: Sequence[str]) -> list[str]:
    """Shallow paths (an evaluator's aggregate score) before deep ones, else as given."""
    return sorted(paths, key=lambda path: path.count("."))


def _summary(stats: Mapping[str, Any]) -> str | float | None:
    """The one number a run summary shows for a metric: pass rate for booleans, else mean,
    with ``±`` its 95 % interval's half-width (the Wilson interval's wider side for a pass
    rate: it is not symmetric); the bare number where history has no interval."""
    rate = "mean" not in stats
    value = stats.get("pass_rate" if rate else "mean")
    if not isinstance(value, float | int):
        return None
    low, high = (stats.get(k) for k in (("pass_ci_low", "pass_ci_high") if rate else _CI))
    if not isinstance(low, float | int) or not isinstance(high, float | int):
        return float(value)
    half = max(value - low, high - value)
    return f"{value:.3f}±{half:.3f}"


_CI = ("ci_low", "ci_high")
RUNS_LEGEND = "± 95% CI: t per result; pass rates Wilson (wider side)"
"""What the ``±`` of the runs table is (clustered and per-sample errors: ``compare``)."""


def _hidden(count: int, what: str, how: str) -> str:
    return f"\n(+{count} more {what}; {how})" if count > 0 else ""


def runs_table(
    runs: Sequence[Mapping[str, Any]],
    width: int | None = None,
    metrics: Sequence[str] = (),
) -> str:
    """History as a table fitting ``width``: ids, start, size, and as many score means (pass
    rates for booleans) as fit; the project column only when runs of several are listed."""
    paths = sorted({path for run in runs for path in run["metrics"]})
    paths = order_scores([p for p in paths if not metrics or matches_any(p, metrics)])
    fixed: list[tuple[str, Sequence[Any]]] = [("run_id", [r["run_id"] for r in runs])]
    if len({r["project_name"] for r in runs}) > 1:
        fixed.append(("project", [r["project_name"] for r in runs]))
    fixed += [
        ("dataset", [r["dataset_name"] for r in runs]),
        ("started_at", [r["started_at"][:16].replace("T", " ") for r in runs]),
        ("n", [r["num_results"] for r in runs]),
    ]
    optional = [(p, [_summary(r["metrics"].get(p, {})) for r in runs]) for p in paths]
    width = width or terminal_width()
    headers, rows, hidden = fit_columns(fixed, optional, width)
    shown = len(headers) - len(fixed)  # the metric columns; a name may hold a ± of its own
    intervals = any(isinstance(v, str) and "±" in v for r in rows for v in r[len(r) - shown :])
    legend = "\n" + clip(RUNS_LEGEND, width) if shown and intervals else ""
    return table(headers, rows) + legend + _hidden(hidden, "metrics", "see --metrics or --json")


def results_table(
    results: Sequence[Mapping[str, Any]],
    width: int | None = None,
    metrics: Sequence[str] = (),
    limit: int | None = RESULTS_LIMIT,
    total: int | None = None,
) -> str:
    """The first ``limit`` results, one line each: index, sample id and as many scores as
    fit ``width`` (numbers, pass/fail booleans, labels; never config leaves). ``total`` is
    the run's size when ``results`` holds only its first ones (a streamed read)."""
    shown = results[:limit] if limit else results
    scores = [score_paths(r["evaluation_result"]) for r in shown]
    paths = list(dict.fromkeys(path for row in scores for path in row))
    paths = order_scores([p for p in paths if not metrics or matches_any(p, metrics)])
    fixed: list[tuple[str, Sequence[Any]]] = [
        ("#", list(range(len(shown)))),
        ("sample_id", [r["sample_id"] for r in shown]),
    ]
    optional = [
        (p, [row[p].value if p in row else None for row in scores[: len(shown)]]) for p in paths
    ]
    headers, rows, hidden = fit_columns(fixed, optional, width or terminal_width())
    return (
        table(headers, rows)
        + _hidden(hidden, "score columns", "see --metrics or --json")
        + _hidden((total or len(results)) - len(shown), "results", "--limit 0 shows all")
    )


def compare_report(
    comparison: Comparison,
    samples: int = 10,
    allow_missing: int = 0,
    width: int | None = None,
    strict: bool = False,
    allow_dataset_change: bool = False,
) -> str:
    """``compare`` as text (``_compare_text``), every run id, metric name and sample id made
    terminal-safe first, so the verdicts, tables and gate reasons all show them escaped."""
    c = comparison

    def names(items: Sequence[str]) -> list[str]:
        return [terminal_safe(n) for n in items]

    safe = dataclasses.replace(
        c,
        run_a=terminal_safe(c.run_a),
        run_b=terminal_safe(c.run_b),
        metrics=[dataclasses.replace(m, metric=terminal_safe(m.metric)) for m in c.metrics],
        changes=c.changes.renamed(terminal_safe)
        if isinstance(c.changes, Changes)
        else [
            dataclasses.replace(
                ch, sample_id=terminal_safe(ch.sample_id), metric=terminal_safe(ch.metric)
            )
            for ch in c.changes
        ],
        only_in_a=names(c.only_in_a),
        only_in_b=names(c.only_in_b),
        vanished=names(c.vanished),
        new=names(c.new),
        family=names(c.family),
        dataset=c.dataset
        and dataclasses.replace(
            c.dataset,
            changed=names(c.dataset.changed),
            evaluators=[
                (terminal_safe(n), a and terminal_safe(a), b and terminal_safe(b))
                for n, a, b in c.dataset.evaluators
            ],
        ),
    )
    return _compare_text(safe, samples, allow_missing, width, strict, allow_dataset_change)


def _csv_line(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else to_json(value, indent=None)


REVIEW_COLUMNS: Final = (
    "run_id",
    "sample_id",
    "verdict",
    "note",
    "reviewer",
    "created_at",
    "seq",
    "trace_id",
    "span_id",
    "review_span_id",
)
"""The columns of ``evaltrace export --reviews --format csv``: a ``ReviewRecord``'s keys."""


def reviews_summary(reviews: Mapping[str, Sequence[Mapping[str, Any]]]) -> str | None:
    """One line of the runs' human reviews (the latest of each sample counted), for compare's
    text: ``human reviews (not in the gate): A 2 (1 fail), B 1 (1 fail)``; None when none."""
    parts = []
    for name, run_reviews in reviews.items():
        latest = {str(r["sample_id"]): r["verdict"] for r in run_reviews}
        if latest:
            failed = sum(1 for v in latest.values() if v == "fail")
            parts.append(f"{name} {len(latest)} ({failed} fail)")
    return "human reviews (not in the gate): " + ", ".join(parts) if parts else None


def review_lines(reviews: Iterable[Mapping[str, Any]], fmt: str) -> Iterator[str]:
    """Lines of a reviews export: each review as a JSON line, or a CSV header then a row each
    (oldest first: a sample's last row is its standing review)."""
    if fmt == "jsonl":
        for review in reviews:
            yield to_json(review, indent=None) + "\n"
        return
    yield _csv_line(list(REVIEW_COLUMNS))
    for review in reviews:
        yield _csv_line(["" if review[c] is None else str(review[c]) for c in REVIEW_COLUMNS])


def export_lines(
    results: Iterable[Mapping[str, Any]],
    fmt: str,
    again: Callable[[], Iterable[Mapping[str, Any]]] | None = None,
) -> Iterator[str]:
    """Lines of an export, each ending in a newline, produced as ``results`` streams by.

    ``jsonl``: each result dict as one JSON line. ``csv``: a header, then one row per result:
    the ``CSV_COLUMNS``, every flattened metric (union over the run, first-seen order), then
    ``data`` and ``metadata`` as JSON. A metric named like a fixed column gets ``metric.``.
    The header needs every path first: with ``again`` (a fresh stream of the same results)
    that is one pass to collect the paths and one to write, in bounded memory.
    """
    if fmt == "jsonl":
        for result in results:
            yield to_json(result, indent=None) + "\n"
        return
    if again is None:
        results = list(results)
        again = lambda: results  # noqa: E731
    paths = list(dict.fromkeys(path for r in results for path in flatten(r["evaluation_result"])))
    fixed = {*CSV_COLUMNS, "data", "metadata"}
    names = [f"metric.{p}" if p in fixed else p for p in paths]
    yield _csv_line([*CSV_COLUMNS, *names, "data", "metadata"])
    for result in again():
        row = flatten(result["evaluation_result"])
        yield _csv_line(
            [
                *(str(result[column]) for column in CSV_COLUMNS),
                *(_csv_value(row.get(p)) for p in paths),
                to_json(result["data"], indent=None),
                to_json(result["metadata"], indent=None),
            ]
        )
