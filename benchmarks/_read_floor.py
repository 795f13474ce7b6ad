"""The least a Python reader does to turn Jaeger's FindTraces answer into evaltrace's results.

``readback.jaeger.grpc`` compares ``run_results`` with the raw fetch: the same ``FindTraces``
call, its protobuf parsed and nothing more. No Python reader returns 20,000 result dicts for
that price; this floor shows what the least one costs, so that the row says how much of its
ratio is evaltrace and how much is Python under one GIL:

* take the same stream as evaltrace's reader: ``FindTraces`` parsed into its reading view
  (``_ReadTracesData``: ``Span.attributes`` as the ``map<string, bytes>`` it is on the wire),
  so that the parse is on both sides and the row judges the decoding only;
* per result span, look up the five attributes a result is made of (``eval.record``,
  ``eval.result``, ``eval.data``, ``eval.metadata``, ``eval.context``), strip each string
  ``AnyValue``'s 2- or 3-byte header, ``orjson.loads`` the record and both payloads and build
  the 12-key dict ``get_run_results`` returns.

Left out, on purpose, as what evaltrace does and a floor must not: checking anything (record
version and types, payload shapes, UTF-8, long numbers), matching the run again, de-duplicating
re-sent spans, proving each batch trace complete, ordering, falling back to the attributes.
No evaltrace code runs past the parse: the attribute names and the record's item positions
are spelled in this file (``tests/test_benchmarks_smoke.py`` checks they still match).
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

__all__ = ["READ_KEYS", "RECORD_ITEMS", "decode"]

READ_KEYS = ("eval.record", "eval.result", "eval.data", "eval.metadata", "eval.context")
RECORD_ITEMS = {"seq": 2, "sample_id": 3, "link_trace_id": 4, "link_span_id": 5, "run_id": 6}
"""Positions in ``eval.record``'s array (project 7, dataset 8 follow the run id)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _payload(raw: bytes) -> bytes:
    """A string ``AnyValue``'s text: past its tag and a one- or two-byte length."""
    return raw[3:] if raw[1] & 0x80 else raw[2:]


def _iso(ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


def decode(chunks: Iterable[Any]) -> list[dict[str, Any]]:
    """The result dicts of every result span in ``chunks`` (``_ReadTracesData`` messages)."""
    values = operator.itemgetter(*READ_KEYS)
    loads = orjson.loads
    results: list[dict[str, Any]] = []
    for chunk in chunks:
        for resource in chunk.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    if span.name != "evaltrace.result":
                        continue
                    record, result, data, metadata, context = values(span.attributes)
                    ids = loads(_payload(record))
                    link = ids[4]
                    results.append(
                        {
                            "run_id": ids[6],
                            "project_name": ids[7],
                            "dataset_name": ids[8],
                            "evaluation_result": loads(_payload(result)),
                            "data": loads(_payload(data)),
                            "metadata": loads(_payload(metadata)),
                            "context": loads(_payload(context)),
                            "sample_id": ids[3],
                            "timestamp": _iso(span.start_time_unix_nano),
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "link": {"trace_id": link, "span_id": ids[5]} if link else None,
                        }
                    )
    return results
