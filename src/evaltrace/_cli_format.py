"""Text the ``evaltrace`` command prints: tables, JSON, and export lines (CSV or JSONL).

Pure functions from library values to strings, shared by the CLI and the demo.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from ._compare_text import compare_report
from ._scores import matches_any, score_paths
from .schema import flatten

__all__ = [
    "CSV_COLUMNS",
    "clip",
    "compare_report",
    "export_lines",
    "results_table",
    "runs_table",
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


def terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS``, else the tty, else 80 when piped)."""
    return shutil.get_terminal_size().columns


def to_json(value: Any, indent: int | None = 2) -> str:
    """JSON as evaltrace writes it: NaN and Infinity kept, non-ASCII unescaped."""
    return json.dumps(value, indent=indent, allow_nan=True, ensure_ascii=False)


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
    return clip(str(value), max_cell)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], max_cell: int = MAX_CELL) -> str:
    """Left-aligned columns two spaces apart, with a header line; cells cut at ``max_cell``."""
    cells = [list(headers), *([cell(v, max_cell) for v in row] for row in rows)]
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
        header = clip(header, room, keep_end=True)
        chosen.append((header, values))
        used += len(GAP) + max(need, len(header))
    n_rows = len(fixed[0][1]) if fixed else 0
    rows = [[values[i] for _, values in chosen] for i in range(n_rows)]
    return [h for h, _ in chosen], rows, len(fixed) + len(optional) - len(chosen)


def order_scores(paths: Sequence[str]) -> list[str]:
    """Shallow paths (an evaluator's aggregate score) before deep ones, else as given."""
    return sorted(paths, key=lambda path: path.count("."))


def _summary(stats: Mapping[str, Any]) -> float | None:
    """The one number a run summary shows for a metric: pass rate for booleans, else mean."""
    value = stats.get("mean", stats.get("pass_rate"))
    return value if isinstance(value, float | int) else None


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
    headers, rows, hidden = fit_columns(fixed, optional, width or terminal_width())
    return table(headers, rows) + _hidden(hidden, "metrics", "see --metrics or --json")


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


def _csv_line(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else to_json(value, indent=None)


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
