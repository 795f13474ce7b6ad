"""``SQLiteQueryAdapter``: reads the embedded store that ``SQLiteSpanExporter`` writes."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from .._history import HistoryFilter, summarize_run
from ..store._db import connect
from .base import QueryAdapter, SpanView, decode_spans

__all__ = ["SQLiteQueryAdapter"]

_RUN_SPANS = """
SELECT name, trace_id, span_id, start_ns, attributes FROM spans
WHERE run_id = ? ORDER BY start_ns, seq
"""


def _ns(moment: datetime) -> int:
    """Epoch nanoseconds, clamped to SQLite's 64-bit integers (years past 2262 would overflow)."""
    return max(-(2**63), min(2**63 - 1, int(moment.timestamp() * 1e9)))


class SQLiteQueryAdapter(QueryAdapter):
    """History from the per-run table (summaries cached until the run grows); results by index."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn = connect(self.path)
        self._lock = threading.Lock()

    def run_results(self, run_id: str) -> list[dict[str, Any]]:
        """One indexed query, decoded."""
        with self._lock:
            rows = self._conn.execute(_RUN_SPANS, (run_id,)).fetchall()
        return decode_spans(SpanView(n, t, s, ns, json.loads(a)) for n, t, s, ns, a in rows)

    def project_results(self, filters: HistoryFilter) -> list[dict[str, Any]]:
        """Every result of the matching runs (used by callers that want raw rows)."""
        out: list[dict[str, Any]] = []
        for run in self._run_rows(filters):
            out.extend(self.run_results(run[0]))
        return out

    def _run_rows(self, filters: HistoryFilter) -> list[tuple[Any, ...]]:
        sql = "SELECT run_id, num_results, metadata, summary, summary_count FROM runs WHERE 1=1"
        params: list[Any] = []
        if filters.project_name is not None:
            sql += " AND project_name = ?"
            params.append(filters.project_name)
        if filters.dataset_name is not None:
            sql += " AND dataset_name = ?"
            params.append(filters.dataset_name)
        if filters.since is not None:
            sql += " AND started_ns >= ?"
            params.append(_ns(filters.since))
        if filters.until is not None:
            sql += " AND started_ns <= ?"
            params.append(_ns(filters.until))
        with self._lock:
            return self._conn.execute(sql + " ORDER BY started_ns DESC", params).fetchall()

    def history(self, filters: HistoryFilter) -> list[dict[str, Any]]:
        """Cached summaries; a run is re-summarised only when it has grown since."""
        runs: list[dict[str, Any]] = []
        for run_id, num_results, metadata, summary, summary_count in self._run_rows(filters):
            if filters.metadata:
                meta = json.loads(metadata)
                if not all(k in meta and meta[k] == v for k, v in filters.metadata.items()):
                    continue
            if summary is not None and summary_count == num_results:
                runs.append(json.loads(summary))
            else:
                results = self.run_results(run_id)
                if not results:
                    continue
                fresh = summarize_run(results)
                with self._lock:
                    self._conn.execute(
                        "UPDATE runs SET summary = ?, summary_count = ? WHERE run_id = ?",
                        (json.dumps(fresh, allow_nan=True), len(results), run_id),
                    )
                runs.append(fresh)
            if filters.limit and len(runs) >= filters.limit:
                break
        return filters.apply(runs)

    def close(self) -> None:
        """Close the reader's connection."""
        with self._lock:
            self._conn.close()
