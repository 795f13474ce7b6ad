"""Rows, sizes, the printed table and ``results.json``.

Every measured row carries a ``value`` (evaltrace's figure, in ``unit``), the ``baseline`` it is
compared with (measured in the same run, same unit), and ``ratio`` (what the target is about).
A row that cannot be measured here goes to ``skipped`` with its reason, never into ``rows``.
"""

from __future__ import annotations

import json
import math
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FULL", "QUICK", "Row", "Sizes", "Skipped", "markdown", "table", "write_json"]


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much work each benchmark does; ``QUICK`` is for the smoke test."""

    reps: int
    warmup: int
    log_n: int
    batch_n: int
    batch_sizes: tuple[int, ...]
    readback_n: int
    memory_n: int
    memory_batch: int
    history_runs: int
    history_big: int
    history_small: int
    wire_n: int
    store_n: int
    peers: bool
    scale_n: int = 1_000_000
    """Results in each of the two runs ``bench_scale`` compares and serves."""
    peer_reps: int = 3


FULL = Sizes(
    reps=7,
    warmup=1,
    log_n=3_000,
    batch_n=3_000,
    batch_sizes=(100, 10_000),
    readback_n=200_000,
    memory_n=100_000,
    memory_batch=1_000,
    history_runs=30,
    history_big=2_000,
    history_small=20,
    wire_n=500,
    store_n=20_000,
    peers=True,
)

QUICK = Sizes(
    reps=2,
    warmup=0,
    log_n=60,
    batch_n=60,
    batch_sizes=(10, 60),
    readback_n=200,
    memory_n=2_000,
    memory_batch=500,
    history_runs=3,
    history_big=50,
    history_small=2,
    wire_n=20,
    store_n=200,
    peers=False,
    scale_n=2_000,
)


@dataclass
class Row:
    """One measured comparison."""

    id: str
    group: str
    name: str
    unit: str
    value: float
    baseline_name: str
    baseline: float
    ratio: float
    target: str
    met: bool | None
    n: int
    reps: int
    spread: float = 0.0
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Skipped:
    """A row that could not be measured in this run, and why."""

    id: str
    group: str
    reason: str


def _fmt(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(rows: list[Row], skipped: list[Skipped]) -> str:
    """A fixed-width table of every row, then the skipped ones."""
    header = ("row", "evaltrace", "baseline", "unit", "ratio", "target", "ok", "reps")
    lines = [
        (
            r.id,
            _fmt(r.value),
            _fmt(r.baseline),
            r.unit,
            f"{r.ratio:.3g}",
            r.target,
            {True: "yes", False: "NO", None: "-"}[r.met],
            str(r.reps),
        )
        for r in rows
    ]
    widths = [max(len(x) for x in col) for col in zip(header, *lines, strict=False)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    for line in lines:
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)))
    for s in skipped:
        out.append(f"{s.id}  skipped: {s.reason}")
    return "\n".join(out)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The rows of a results document as a Markdown table (for RESULTS.md)."""
    out = [
        "| row | evaltrace | baseline | unit | ratio | target | met |",
        "|---|---:|---:|---|---:|---|---|",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "-"}[r["met"]]
        out.append(
            f"| `{r['id']}` | {_fmt(r['value'])} | {_fmt(r['baseline'])} | {r['unit']} "
            f"| {r['ratio']:.3g} | {r['target']} | {met} |"
        )
    return "\n".join(out)


def write_json(
    path: Path, rows: list[Row], skipped: list[Skipped], meta: dict[str, Any]
) -> dict[str, Any]:
    """Write (and return) the results document."""
    doc = {
        "meta": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            **meta,
        },
        "rows": [asdict(r) for r in rows],
        "skipped": [asdict(s) for s in skipped],
    }
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return doc
