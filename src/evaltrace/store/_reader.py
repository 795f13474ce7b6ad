"""Reading the embedded store: results of a run in logging order, runs, and their metrics.

Reads page by rowid (keyset), each page one snapshot: a call commits whole, so a page never
shows part of one, and memory stays bounded however large the run. A run's rows are found by
its rowid ranges (``_segments``); a version 2 or 3 store, read as it is, by its index on
``(run_id, id)``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from .._codec import loads
from .._exceptions import QueryError
from .._types import ResultRecord
from ..schema._aggregate import MetricAggregate, aggregate_lists, merge_encoded
from ..schema._columns import RunScores
from ..schema._decode import decode_object, link_dict, result_dict
from . import _reviews, _score_columns, _segments
from ._ddl import connect_reader
from ._records import ReviewRow
from ._wal import has_side_files, release

__all__ = ["RunRow", "StoreReader"]

_PAGE = 2000
_SCAN_WINDOW = 20_000
"""Rowids a search query scans at most (~0.1 s): the reader's connection is held per query."""

_COLUMNS = """id, call_id, trace_id, span_id, start_ns, sample_id,
       CAST('{"r":' || result || ',"d":' || data || '}' AS BLOB), link_trace_id, link_span_id,
       run_id"""
_RUN_PAGE = f"""SELECT {_COLUMNS} FROM results
WHERE run_id = ? AND id >= ? AND id < ? ORDER BY id LIMIT ?"""
_LINKED_PAGE = f"""SELECT {_COLUMNS} FROM results
WHERE link_trace_id = ? AND (? IS NULL OR link_span_id = ?) AND id >= ? AND id < ?
ORDER BY id LIMIT ?"""
_CALLS = "SELECT id, project_name, dataset_name, metadata, context FROM calls WHERE id IN ({})"
_CALLS_PER_QUERY = 500
"""Ids an ``IN`` list takes: under the 999 parameters of SQLite before 3.32."""
_CALLS_KEPT = 4096
"""Calls a read keeps decoded: a page's are fetched in one query (runs logged in turn have a
call a result, and a query a call made such a read 3x slower than a run's alone)."""

# A run's row counts its results as of its last folding (``folded_upto``); the results
# committed since (a few hundred calls at most per writer) are added here, found through the
# run's segments past the folding (``_RUNS_V3``: its index); CROSS JOIN keeps the planner from
# scanning every result instead of each segment's rowid range. A version 2 store's row counted
# every result at every commit.
_RUNS = f"""
SELECT * FROM (
    SELECT r.run_id, r.project_name, r.dataset_name,
        min(r.started_ns, coalesce(t.first_ns, r.started_ns)) AS started_ns,
        max(r.ended_ns, coalesce(t.last_ns, r.ended_ns)) AS ended_ns,
        r.num_results + coalesce(t.n, 0) AS num_results, r.metadata
    FROM runs r LEFT JOIN (
        SELECT u.run_id AS run_id, count(x.id) AS n, min(x.start_ns) AS first_ns,
            max(x.start_ns) AS last_ns
        FROM runs u LEFT JOIN run_metrics m ON m.run_id = u.run_id
        CROSS JOIN run_segments g ON g.run_id = u.run_id
            AND g.start_id >= {_segments.from_segment("u.run_id", "coalesce(m.folded_upto, 0)")}
        CROSS JOIN results x ON x.id >= max(g.start_id, coalesce(m.folded_upto, 0) + 1)
            AND x.id < {_segments.end_of("g")} AND +x.run_id = g.run_id
        GROUP BY u.run_id
    ) t ON t.run_id = r.run_id
) WHERE 1=1"""
_RUNS_V3 = """
SELECT * FROM (
    SELECT r.run_id, r.project_name, r.dataset_name,
        min(r.started_ns, coalesce(t.first_ns, r.started_ns)) AS started_ns,
        max(r.ended_ns, coalesce(t.last_ns, r.ended_ns)) AS ended_ns,
        r.num_results + t.n AS num_results, r.metadata
    FROM runs r JOIN (
        SELECT r2.run_id AS run_id, count(x.id) AS n, min(x.start_ns) AS first_ns,
            max(x.start_ns) AS last_ns
        FROM runs r2 LEFT JOIN run_metrics m ON m.run_id = r2.run_id
        LEFT JOIN results x ON x.run_id = r2.run_id AND x.id > coalesce(m.folded_upto, 0)
        GROUP BY r2.run_id
    ) t ON t.run_id = r.run_id
) WHERE 1=1"""
_RUNS_V2 = """
SELECT run_id, project_name, dataset_name, started_ns, ended_ns, num_results, metadata
FROM runs WHERE 1=1"""

RunRow = tuple[str, str, str, int, int, int, str]
"""run_id, project_name, dataset_name, started_ns, ended_ns, num_results, metadata JSON."""


class StoreReader:
    """A read-only connection to a store; never writes a byte."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._made_side_files = not has_side_files(path)
        self._conn, self.version = connect_reader(path)
        self._lock = threading.Lock()

    def _page(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _ranges(self, run_id: str, after: int) -> list[tuple[int, int]]:
        """The rowid ranges holding a run's results past ``after`` (one open range on a store
        whose index finds them)."""
        if self.version < 4:
            return [(after + 1, _segments.LAST)]
        with self._lock:
            return _segments.ranges(self._conn, run_id, after)

    def _paged(
        self, sql: str, params: tuple[Any, ...], ranges: list[tuple[int, int]]
    ) -> Iterator[list[tuple[Any, ...]]]:
        """Pages of a keyset-paged query over rowid ranges (``params`` are followed by a
        range's bounds and the page size)."""
        for lo, hi in ranges:
            while True:
                rows = self._page(sql, (*params, lo, hi, _PAGE))
                if rows:
                    yield rows
                if len(rows) < _PAGE:
                    break
                lo = rows[-1][0] + 1

    def _with_calls(
        self, pages: Iterator[list[tuple[Any, ...]]], calls: dict[int, tuple[Any, ...]]
    ) -> Iterator[tuple[Any, ...]]:
        """The rows of result pages (``_COLUMNS``), each page's calls fetched into ``calls``
        (by id: project, dataset, metadata, context) in one query before its rows."""
        for page in pages:
            needed = {row[1] for row in page}
            missing = needed - calls.keys()
            if missing:
                if len(calls) + len(missing) > _CALLS_KEPT:
                    calls.clear()
                    missing = needed
                ids = sorted(missing)
                for at in range(0, len(ids), _CALLS_PER_QUERY):
                    chunk = tuple(ids[at : at + _CALLS_PER_QUERY])
                    sql = _CALLS.format(",".join("?" * len(chunk)))
                    calls.update((row[0], row[1:]) for row in self._page(sql, chunk))
            yield from page

    def _decoded(self, pages: Iterator[list[tuple[Any, ...]]], what: str) -> Iterator[ResultRecord]:
        """Result dicts of pages of result rows (``_COLUMNS``)."""
        calls: dict[int, tuple[Any, ...]] = {}
        seen: set[bytes] = set()  # a span stored twice (re-exported) is read once
        for (
            row_id,
            call_id,
            trace_id,
            span_id,
            start_ns,
            sample_id,
            payload,
            link_t,
            link_s,
            run,
        ) in self._with_calls(pages, calls):
            key = trace_id + span_id
            if key in seen:
                continue
            seen.add(key)
            call = calls[call_id]
            try:
                decoded = loads(payload)
            except (ValueError, RecursionError) as exc:
                raise QueryError(
                    f"{self.path}: result {row_id} of {what} cannot be decoded "
                    f"({type(exc).__name__}); the store's other results are unaffected"
                ) from exc
            yield result_dict(
                run_id=run,
                project_name=call[0],
                dataset_name=call[1],
                evaluation_result=decoded["r"],
                data=decoded["d"],
                metadata=decode_object(call[2]),
                context=decode_object(call[3]),
                sample_id=sample_id,
                start_ns=start_ns,
                trace_id=trace_id.hex(),
                span_id=span_id.hex(),
                link=link_dict(link_t, link_s),
            )

    def iter_run(self, run_id: str) -> Iterator[ResultRecord]:
        """Every result of ``run_id`` in logging order, one page in memory at a time."""
        return self._decoded(
            self._paged(_RUN_PAGE, (run_id,), self._ranges(run_id, 0)), f"run {run_id!r}"
        )

    def results_at(self, run_id: str, row_ids: list[int]) -> list[ResultRecord]:
        """The run's results kept at these rowids (``RunScores.row_ids``), in logging order:
        a sample's results without reading the run."""
        ids = sorted(set(row_ids))
        pages = []
        for at in range(0, len(ids), _CALLS_PER_QUERY):
            chunk = ids[at : at + _CALLS_PER_QUERY]
            sql = (
                f"SELECT {_COLUMNS} FROM results WHERE run_id = ? AND id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY id"
            )
            pages.append(self._page(sql, (run_id, *chunk)))
        return list(self._decoded(iter(pages), f"run {run_id!r}"))

    def rows_with_words(self, run_id: str, words: list[str]) -> list[tuple[int, str, str]]:
        """(rowid, sample id, data JSON) of the run's results whose sample id or data holds
        every word (ASCII, case-insensitive; none: every result): a search's candidates."""
        test = "".join(" AND instr(lower(sample_id || ' ' || data), ?) > 0" for _ in words)
        sql = (
            "SELECT id, sample_id, data FROM results WHERE run_id = ? AND id >= ? AND id < ?"
            f"{test} ORDER BY id LIMIT ?"
        )

        def page(lo: int, hi: int) -> Iterator[list[tuple[Any, ...]]]:
            # a window of rowids a query: a rare word scans a whole run, and the connection
            # (every other page's reads) must not wait for that
            while lo < hi:
                end = min(hi, lo + _SCAN_WINDOW)
                rows = self._page(sql, (run_id, lo, end, *words, _PAGE))
                yield rows
                lo = rows[-1][0] + 1 if len(rows) == _PAGE else end

        [(top,)] = self._page("SELECT coalesce(max(id), 0) FROM results", ())
        ranges = [(lo, min(hi, top + 1)) for lo, hi in self._ranges(run_id, 0)]
        return [row for lo, hi in ranges for rows in page(lo, hi) for row in rows]

    def iter_linked(self, trace_id: str, span_id: str | None) -> Iterator[ResultRecord]:
        """Every result (of any run) linked to the application trace, or to one of its spans."""
        span = span_id and span_id.lower()
        rows = self._paged(_LINKED_PAGE, (trace_id.lower(), span, span), [(0, _segments.LAST)])
        return self._decoded(rows, f"trace {trace_id}")

    def run_aggregates(self, run_id: str) -> dict[str, MetricAggregate]:
        """The run's score aggregates: its folded row plus the scores of the results committed
        since (a few hundred at most per writer), whatever the number of results."""
        out: dict[str, MetricAggregate] = {}
        upto = 0
        for text, folded_upto in self._page(
            "SELECT aggregates, folded_upto FROM run_metrics WHERE run_id = ?", (run_id,)
        ):
            merge_encoded(out, loads(text))
            upto = folded_upto
        fresh = [
            row[1]
            for page in self._paged(
                "SELECT id, scores FROM results WHERE run_id = ? AND id >= ? AND id < ? "
                "ORDER BY id LIMIT ?",
                (run_id,),
                self._ranges(run_id, upto),
            )
            for row in page
        ]
        for path, agg in aggregate_lists(loads(text) for text in fresh).items():
            if path in out:
                out[path].merge(agg)
            else:
                out[path] = agg
        return out

    def run_scores(self, run_id: str, values: bool = True) -> RunScores:
        """The run's scores as columns (``_score_columns``): its stored blocks, then the
        results past them; the connection is held one query at a time. ``values`` False:
        only the rows' sample ids and rowids."""

        def rows_after(after: int) -> list[_score_columns.Row]:
            sql = (
                f"SELECT {_score_columns.ROW_COLUMNS} FROM results WHERE run_id = ? "
                "AND id >= ? AND id < ? ORDER BY id LIMIT ?"
            )
            pages = self._paged(sql, (run_id,), self._ranges(run_id, after))
            return [row for page in pages for row in page]

        return _score_columns.read(self._page, run_id, rows_after, values)

    def runs(
        self,
        *,
        project_name: str | None = None,
        dataset_name: str | None = None,
        since_ns: int | None = None,
        until_ns: int | None = None,
    ) -> list[RunRow]:
        """The run rows matching the filters, newest first."""
        sql = {2: _RUNS_V2, 3: _RUNS_V3}.get(self.version, _RUNS)
        params: list[Any] = []
        for clause, value in (
            (" AND project_name = ?", project_name),
            (" AND dataset_name = ?", dataset_name),
            (" AND started_ns >= ?", since_ns),
            (" AND started_ns <= ?", until_ns),
        ):
            if value is not None:
                sql += clause
                params.append(value)
        rows: list[RunRow] = self._page(sql + " ORDER BY started_ns DESC", tuple(params))
        return rows

    def run_provenance(self, run_id: str) -> list[str]:
        """The distinct provenance JSON texts of the run's calls, in the order first stored
        (none before layout 6)."""
        if self.version < 6:
            return []
        rows = self._page(
            "SELECT provenance FROM calls WHERE run_id = ? AND provenance IS NOT NULL "
            "GROUP BY provenance ORDER BY min(id)",
            (run_id,),
        )
        return [row[0] for row in rows]

    def sample_fingerprints(self, run_id: str) -> list[tuple[str, str | None, str | None]]:
        """(sample id, stored fingerprint, data JSON where none was stored: an earlier layout)
        of each of the run's results, in order; what compare needs of a run's dataset without
        reading its results."""
        columns = (
            "sample_id, fingerprint, CASE WHEN fingerprint IS NULL THEN data END"
            if self.version >= 6
            else "sample_id, NULL, data"
        )
        with self._lock:
            rows: list[tuple[str, str | None, str | None]] = _segments.select(
                self._conn, columns, run_id, 0
            )
        return rows

    def reviews(self, run_id: str) -> list[ReviewRow]:
        """Every review of ``run_id``, oldest first (none in a store without reviews)."""
        with self._lock:
            return _reviews.read(self._conn, run_id)

    def store_id(self) -> str | None:
        """The store's id (``_summary_ledger.store_id``); None before a tracker named it."""
        rows = self._page("SELECT value FROM evaltrace_meta WHERE key = 'store_id'", ())
        return str(rows[0][0]) if rows else None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
        if self._made_side_files:  # SQLite's -wal/-shm of this reader: not left behind
            release(self.path)
