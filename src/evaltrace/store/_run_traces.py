"""Read side: a run's stored traces, as the outbox hands them to a re-send (``StoredTrace``).

What ``evaltrace export --format otlp`` rebuilds spans from: the same records, rebuilt by the
same code as ``evaltrace sync`` (``_spans.Rebuilder``), so the file holds the spans evaltrace
sends. Paged by rowid like every read of a run; a span stored twice is read once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._reader import StoreReader
from ._records import BatchRoot, CallRecord, ResultRow, StoredTrace

__all__ = ["run_traces"]

_RESULTS = """SELECT id, call_id, trace_id, span_id, parent_span_id, start_ns, end_ns, seq, row,
    sample_id, result, data, link_trace_id, link_span_id, scores, {fingerprint}
FROM results WHERE run_id = ? AND id >= ? AND id < ? ORDER BY id LIMIT ?"""
_CALL = """SELECT c.run_id, c.project_name, c.dataset_name, c.metadata, c.context,
    c.link_trace_id, c.link_span_id, c.batch_id, c.batch_size, r.attributes, {capture},
    {provenance}
FROM calls c JOIN resources r ON r.id = c.resource_id WHERE c.id = ?"""
_CALLS_KEPT = 4096
"""Calls kept decoded while reading a run (as ``_reader`` keeps them)."""
_ROOT = """SELECT span_id, chunk_start, chunk_size, start_ns, end_ns FROM batch_roots
WHERE trace_id = ?"""


def _call(reader: StoreReader, call_id: int) -> CallRecord:
    # Calls stored before layout 5 kept no capture mode: None (re-sent as ``local``); before
    # layout 6 no provenance.
    sql = _CALL.format(
        capture="c.capture" if reader.version >= 5 else "NULL",
        provenance="c.provenance" if reader.version >= 6 else "NULL",
    )
    row = reader._page(sql, (call_id,))[0]
    link = (row[5], row[6]) if row[5] and row[6] else None
    return CallRecord(
        row[0], row[1], row[2], row[3], row[4], link, row[7], row[8], row[9], row[10], row[11]
    )


def _result(trace_id: int, r: tuple[Any, ...]) -> ResultRow:
    return ResultRow(
        trace_id,
        int.from_bytes(r[3], "big"),
        None if r[4] is None else int.from_bytes(r[4], "big"),
        r[5],
        r[6],
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        (r[12], r[13]) if r[12] and r[13] else None,
        r[14],
        r[15],
    )


def run_traces(reader: StoreReader, run_id: str) -> Iterator[StoredTrace]:
    """The run's traces in logging order, each with its call, results and batch root."""
    calls: dict[int, CallRecord] = {}
    seen: set[bytes] = set()
    current: StoredTrace | None = None
    current_key: tuple[int, bytes] | None = None
    sql = _RESULTS.format(fingerprint="fingerprint" if reader.version >= 6 else "NULL")
    for page in reader._paged(sql, (run_id,), reader._ranges(run_id, 0)):
        for r in page:
            key = r[2] + r[3]
            if key in seen:
                continue
            seen.add(key)
            call_id, trace_blob = r[1], r[2]
            if current_key != (call_id, trace_blob):
                if current is not None:
                    yield current
                call = calls.get(call_id)
                if call is None:
                    if len(calls) >= _CALLS_KEPT:  # memory stays bounded however many calls
                        calls.clear()
                    call = calls[call_id] = _call(reader, call_id)
                current = StoredTrace(0, int.from_bytes(trace_blob, "big"), call)
                current_key = (call_id, trace_blob)
                roots = reader._page(_ROOT, (trace_blob,)) if call.batch_id else []
                if roots:
                    span_blob, *rest = roots[0]
                    current.root = BatchRoot(
                        current.trace_id, int.from_bytes(span_blob, "big"), *rest
                    )
            assert current is not None
            current.results.append(_result(current.trace_id, r))
    if current is not None:
        yield current
