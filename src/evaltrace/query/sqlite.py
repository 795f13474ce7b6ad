"""``SQLiteQueryAdapter``: reads the embedded store that ``SQLiteSpanExporter`` writes."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from .._history import HistoryFilter, history_row, metrics_of, summarize_run
from .._records import loads
from .._schema import ATTR_RESULT, decode_record, iso
from ..store._db import connect
from .base import QueryAdapter, SpanView, decode_spans

__all__ = ["SQLiteQueryAdapter"]

_RESULT_PATH = f'$."{ATTR_RESULT}"'
_RUN_ROW = (
    "SELECT project_name, dataset_name, started_ns, ended_ns, metadata FROM runs WHERE run_id = ?"
)
_RUN_EVALUATIONS = "SELECT json_extract(attributes, ?) FROM spans WHERE run_id = ?"
_RUN_RECORDS = """
SELECT trace_id, span_id, start_ns, record FROM spans
WHERE run_id = ? ORDER BY start_ns, seq
"""
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
        """One indexed query; each row's stored record decoded with one parse."""
        with self._lock:
            records = self._conn.execute(_RUN_RECORDS, (run_id,)).fetchall()
        if all(row[3] is not None for row in records):
            return [
                decode_record(rec, trace_id=t, span_id=s, start_ns=ns) for t, s, ns, rec in records
            ]
        # Rows written before the record column existed: decode the run from the attributes
        # (fetched only here: at ~2 kB a row, reading them unused cost ~20 % of a read-back).
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

    def _summarize(self, run_id: str) -> dict[str, Any] | None:
        """A run's history row from the run table and its results' ``eval.result`` alone.

        SQLite extracts the one attribute in C; decoding whole results would parse every
        data row, metadata and context only to ignore them.
        """
        try:
            with self._lock:
                run = self._conn.execute(_RUN_ROW, (run_id,)).fetchone()
                texts = self._conn.execute(_RUN_EVALUATIONS, (_RESULT_PATH, run_id)).fetchall()
        except sqlite3.OperationalError:  # NaN/Infinity flat attributes are not strict JSON
            results = self.run_results(run_id)
            return summarize_run(results) if results else None
        if run is None or not texts:
            return None
        project_name, dataset_name, started_ns, ended_ns, metadata = run
        return history_row(
            run_id=run_id,
            project_name=project_name,
            dataset_name=dataset_name,
            started_at=iso(started_ns),
            ended_at=iso(ended_ns),
            num_results=len(texts),
            metadata=json.loads(metadata),
            metrics=metrics_of(loads(text) for (text,) in texts),
        )

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
                fresh = self._summarize(run_id)
                if fresh is None:
                    continue
                with self._lock:
                    self._conn.execute(
                        "UPDATE runs SET summary = ?, summary_count = ? WHERE run_id = ?",
                        (json.dumps(fresh, allow_nan=True), fresh["num_results"], run_id),
                    )
                runs.append(fresh)
            if filters.limit and len(runs) >= filters.limit:
                break
        return filters.apply(runs)

    def close(self) -> None:
        """Close the reader's connection."""
        with self._lock:
            self._conn.close()
