"""Text the ``evaltrace`` command prints: tables, JSON, and export lines (CSV or JSONL).

Pure functions from library values to strings, shared by the CLI and the demo.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ._compare import Comparison
from .schema import flatten, metric_leaves

__all__ = [
    "CSV_COLUMNS",
    "compare_report",
    "export_lines",
    "results_table",
    "runs_table",
    "to_json",
]

CSV_COLUMNS = ("run_id", "sample_id", "timestamp", "trace_id", "span_id")
"""The fixed leading columns of a CSV export; metric columns follow, then data and metadata."""

RUNS_METRICS = 4
"""How many metric means ``runs`` shows; ``--json`` has them all."""


def to_json(value: Any, indent: int | None = 2) -> str:
    """JSON as evaltrace writes it: NaN and Infinity kept, non-ASCII unescaped."""
    return json.dumps(value, indent=indent, allow_nan=True, ensure_ascii=False)


def cell(value: Any) -> str:
    """One table cell: numbers to 3 decimals, booleans lower-case, missing as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Left-aligned columns two spaces apart, with a header line."""
    cells = [list(headers), *([cell(v) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in cells
    )


def _summary(stats: Mapping[str, Any]) -> float | None:
    """The one number a run summary shows for a metric: pass rate for booleans, else mean."""
    value = stats.get("mean", stats.get("pass_rate"))
    return value if isinstance(value, float | int) else None


def runs_table(runs: Sequence[Mapping[str, Any]]) -> str:
    """History as a table: ids, start, size, and the means of the first few metrics."""
    metrics = sorted({path for run in runs for path in run["metrics"]})
    shown = metrics[:RUNS_METRICS]
    headers = ["run_id", "project", "dataset", "started_at", "n", *shown]
    rows = [
        [
            run["run_id"],
            run["project_name"],
            run["dataset_name"],
            run["started_at"][:19],
            run["num_results"],
            *(_summary(run["metrics"].get(path, {})) for path in shown),
        ]
        for run in runs
    ]
    more = len(metrics) - len(shown)
    note = f"\n(+{more} more metrics: use --json)" if more > 0 else ""
    return table(headers, rows) + note


def results_table(results: Sequence[Mapping[str, Any]]) -> str:
    """One line per result: its index, sample id and numeric or boolean metric values."""
    leaves = [metric_leaves(r["evaluation_result"]) for r in results]
    paths = list(dict.fromkeys(path for row in leaves for path in row))
    rows = [
        [i, r["sample_id"], *(row.get(p) for p in paths)]
        for i, (r, row) in enumerate(zip(results, leaves, strict=True))
    ]
    return table(["#", "sample_id", *paths], rows)


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def compare_report(comparison: Comparison, threshold: float, samples: int = 10) -> str:
    """``compare`` as text: a metric table, sample counts, the largest per-sample moves."""
    c = comparison
    rows = [
        [
            m.metric + (" (pass rate)" if m.kind == "boolean" else ""),
            m.mean_a,
            m.mean_b,
            _signed(m.delta),
            m.improved,
            m.regressed,
            m.unchanged,
            "REGRESSION" if m.is_regression(threshold) else "",
        ]
        for m in c.metrics
    ]
    headers = ["metric", "A", "B", "delta", "improved", "regressed", "unchanged", ""]
    s = c.samples
    lines = [
        f"A = {c.run_a}",
        f"B = {c.run_b}",
        "",
        table(headers, rows),
        "",
        f"samples: {s['paired']} paired ({s['improved']} improved, {s['regressed']} regressed, "
        f"{s['mixed']} mixed, {s['unchanged']} unchanged); "
        f"{len(c.only_in_a)} only in A, {len(c.only_in_b)} only in B",
    ]
    if samples and c.changes:
        shown = c.changes[:samples]
        lines += ["", f"largest per-sample changes ({len(shown)} of {len(c.changes)}):"]
        lines.append(
            table(
                ["sample_id", "metric", "A", "B", "delta"],
                [[ch.sample_id, ch.metric, ch.a, ch.b, _signed(ch.delta)] for ch in shown],
            )
        )
    regressions = c.regressions(threshold)
    lines += [
        "",
        f"regressions (threshold {threshold:g}): "
        + (", ".join(m.metric for m in regressions) if regressions else "none"),
    ]
    return "\n".join(lines)


def _csv_line(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else to_json(value, indent=None)


def export_lines(results: Sequence[Mapping[str, Any]], fmt: str) -> Iterator[str]:
    """Lines of an export, each ending in a newline.

    ``jsonl``: each result dict as one JSON line. ``csv``: a header, then one row per result:
    the ``CSV_COLUMNS``, every flattened metric (union over the run, first-seen order), then
    ``data`` and ``metadata`` as JSON. A metric named like a fixed column gets ``metric.``.
    """
    if fmt == "jsonl":
        for result in results:
            yield to_json(result, indent=None) + "\n"
        return
    flat = [flatten(r["evaluation_result"]) for r in results]
    paths = list(dict.fromkeys(path for row in flat for path in row))
    fixed = {*CSV_COLUMNS, "data", "metadata"}
    names = [f"metric.{p}" if p in fixed else p for p in paths]
    yield _csv_line([*CSV_COLUMNS, *names, "data", "metadata"])
    for result, row in zip(results, flat, strict=True):
        yield _csv_line(
            [
                *(str(result[column]) for column in CSV_COLUMNS),
                *(_csv_value(row.get(p)) for p in paths),
                to_json(result["data"], indent=None),
                to_json(result["metadata"], indent=None),
            ]
        )
