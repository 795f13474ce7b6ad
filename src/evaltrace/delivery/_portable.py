"""Portable runs: a stored run out to an OTLP/JSON file, and such a file into a store.

The export rebuilds the run's spans from the store with the code ``evaltrace sync`` re-sends
them with (``_spans.Rebuilder``): by default with the store's full text (the file is the user's
own, like the store; each span names its call's capture mode, ``ATTR_CAPTURE``, so that an
importing store keeps that text as local), or ``as_sent``: masked as OTLP delivery masks it.
The import reads such a file, or one a collector's ``file`` exporter wrote (other services'
spans skipped and counted), into the store in one transaction, skipping spans it holds.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from .._capture import MODES
from .._codec import dumps
from .._exceptions import InvalidInputError
from .._spans import Rebuilder
from ..schema import (
    ATTR_BATCH_CHUNK_START,
    ATTR_BATCH_ROW,
    ATTR_CAPTURE,
    ATTR_DATA,
    ATTR_RESULT,
    ATTR_SAMPLE_FINGERPRINT,
    ATTR_SAMPLE_ID,
    ATTR_SEQ,
    SUMMARY_SPAN,
    is_result,
)
from ..schema._decode import chunk_size
from ..schema._walk import Limits
from ..store import BatchRoot, CallRecord, ResultRow, StoreReader, StoreWriter
from ..store._run_traces import run_traces
from ._otlp_file import FileSpan, read_spans, request_lines
from ._sqlite_exporter import _call, _int, _scores_json, _text

__all__ = ["ImportReport", "export_run", "import_run_file"]


def export_run(store: str, run_id: str, limits: Limits, *, as_sent: bool) -> Iterator[str]:
    """The run's spans as OTLP/JSON lines, in logging order (batch roots first in their
    trace), read from the store at ``store`` as they are written (memory stays bounded)."""
    reader = StoreReader(store)
    try:
        store_id = reader.store_id()
        rebuild = Rebuilder(
            limits, f"store:{store_id}" if store_id else None, keep_text=not as_sent
        )
        traces = run_traces(reader, run_id)
        yield from request_lines(span for trace in traces for span in rebuild(trace))
    finally:
        reader.close()


@dataclass
class ImportReport:
    """What one ``import_run_file`` did."""

    runs: list[str] = field(default_factory=list)
    """The runs the file holds results of, in the order first met."""
    added: int = 0
    """Results the store did not hold before."""
    held: int = 0
    """Results the store held already (a second import adds nothing)."""
    foreign: int = 0
    """Spans that are not evaltrace's (another service's, in a collector's file): skipped."""
    summaries: int = 0
    """Run-summary spans: skipped (the store derives its own from the results)."""


def _call_of(span: FileSpan) -> CallRecord:
    call = _call(span.attributes, dumps(span.resource, "resource", None))
    mode = span.attributes.get(ATTR_CAPTURE, "all")
    if mode not in MODES:
        raise InvalidInputError(
            f"line {span.line}: {ATTR_CAPTURE}={mode!r} is not one of {', '.join(MODES)}"
        )
    call.capture = mode
    return call


def _result(span: FileSpan) -> ResultRow:
    result_json = _text(span.attributes, ATTR_RESULT, "null")
    return ResultRow(
        span.trace_id,
        span.span_id,
        span.parent_span_id,
        span.start_ns,
        span.end_ns,
        _int(span.attributes, ATTR_SEQ) or 0,
        _int(span.attributes, ATTR_BATCH_ROW),
        _text(span.attributes, ATTR_SAMPLE_ID),
        result_json,
        _text(span.attributes, ATTR_DATA, "null"),
        span.links[0] if span.links else None,
        _scores_json(result_json),
        _text(span.attributes, ATTR_SAMPLE_FINGERPRINT) or None,
    )


Group = tuple[CallRecord, list[ResultRow], list[BatchRoot]]


def _groups(spans: Iterator[FileSpan], name: str, report: ImportReport) -> Iterator[Group]:
    """Consecutive result spans of one call as one group, each with the batch roots of its
    traces; raises at the end when the file held no evaltrace result at all."""
    current: Group | None = None
    roots: dict[int, tuple[CallRecord, BatchRoot]] = {}
    first_foreign: FileSpan | None = None
    for span in spans:
        attributes = span.attributes
        size = chunk_size(span.name, attributes)
        if size is not None:
            root = BatchRoot(
                span.trace_id,
                span.span_id,
                _int(attributes, ATTR_BATCH_CHUNK_START) or 0,
                size,
                span.start_ns,
                span.end_ns,
            )
            roots[span.trace_id] = (_call_of(span), root)
        elif is_result(span.name, attributes):
            call = _call_of(span)
            if current is None or current[0] != call:
                if current is not None:
                    yield current
                current = (call, [], [])
                if call.run_id not in report.runs:
                    report.runs.append(call.run_id)
            current[1].append(_result(span))
            held = roots.pop(span.trace_id, None)
            if held is not None:
                current[2].append(held[1])
        elif span.name == SUMMARY_SPAN:
            report.summaries += 1
        else:
            report.foreign += 1
            first_foreign = first_foreign or span
    if current is not None:
        yield current
    for call, root in roots.values():  # a root whose results the file does not hold
        yield call, [], [root]
    if not report.runs:
        what = (
            f"its first span, {first_foreign.name!r} on line {first_foreign.line}, and "
            f"{report.foreign - 1} more are another service's"
            if first_foreign
            else "it holds no span"
            if not report.summaries
            else f"it holds only {report.summaries} run-summary spans"
        )
        raise InvalidInputError(
            f"{name}: no evaltrace results to import ({what}); expected a file of "
            "`evaltrace export --format otlp` or a collector's file exporter"
        )


def import_run_file(lines: Iterable[str], name: str, store: str) -> ImportReport:
    """Import the OTLP/JSON trace file ``lines`` (named ``name`` in errors) into the store at
    ``store``: all or nothing, each span at most once."""
    report = ImportReport()
    created = not os.path.exists(store)
    writer = StoreWriter(store)
    try:
        report.added, report.held = writer.commit_imported(
            _groups(read_spans(lines, name), name, report)
        )
    except InvalidInputError as exc:
        writer.close()
        if created:  # a refused file leaves no empty store behind
            for path in (store, f"{store}-wal", f"{store}-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(path)
        text = str(exc)
        raise InvalidInputError(text if text.startswith(name) else f"{name} {text}") from None
    except BaseException:
        writer.close()
        raise
    writer.close()
    return report
