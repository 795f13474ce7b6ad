"""What a reader looks up of a result span: every key the decoders consult, and no more."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from evaltrace import schema
from evaltrace._exceptions import IncompleteResultsError
from evaltrace.query._base import SpanView, decode_spans, read_results
from evaltrace.schema import _decode

_VALUES: dict[str, Any] = {key: "x" for key in schema.READ_KEYS} | {
    schema.ATTR_RUN_ID: "run",
    schema.ATTR_SEQ: 3,
    schema.ATTR_BATCH_CHUNK_SIZE: 1,
    schema.ATTR_RESULT: '{"score": 1}',
    schema.ATTR_DATA: '{"q": "?"}',
    schema.ATTR_METADATA: "{}",
    schema.ATTR_CONTEXT: "{}",
    schema.ATTR_SUMMARY_KIND: schema.SUMMARY_KIND,
}


class _Recording(Mapping[str, Any]):
    """Every read key set, each read recorded."""

    def __init__(self) -> None:
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return _VALUES[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_VALUES)

    def __len__(self) -> int:
        return len(_VALUES)


def test_result_read_keys_are_all_a_result_span_is_read_for() -> None:
    """Decoding, ordering, completeness, history and every search term of a result span read
    no key outside ``read_keys(RESULT_SPAN)``."""
    attributes = _Recording()
    name = schema.RESULT_SPAN
    schema.decode_result(attributes, trace_id="t", span_id="s", start_ns=1)
    schema.is_result(name, attributes)
    _decode.sort_key(attributes, 1)
    _decode.batch_id_of(attributes)
    _decode.chunk_size(name, attributes)
    schema.decode_summary(name, attributes)
    terms = schema.query_terms(run_id="r", project_name="p", dataset_name="d")
    with pytest.raises(IncompleteResultsError):  # matched, ordered, counted: its root is missing
        read_results([SpanView(name, "t", "s", 1, attributes)], {schema.ATTR_RUN_ID: "run"}, "")
    links = {schema.ATTR_LINK_TRACE_ID, schema.ATTR_LINK_SPAN_ID}
    assert attributes.read <= set(schema.read_keys(name))
    assert terms.keys() | links <= set(schema.read_keys(name))


def test_other_spans_are_read_for_every_read_key() -> None:
    """Batch roots, summaries and unknown spans keep every read key."""
    for name in (schema.BATCH_SPAN, schema.SUMMARY_SPAN, "app.span"):
        assert set(schema.read_keys(name)) == schema.READ_KEYS


def test_narrowed_result_span_decodes_as_the_full_one() -> None:
    """A result span read for its own keys decodes, orders and checks as with every key."""
    full = [SpanView(schema.RESULT_SPAN, "t", "s", 1, dict(_VALUES))]
    keys = schema.read_keys(schema.RESULT_SPAN)
    narrow = [SpanView(schema.RESULT_SPAN, "t", "s", 1, {k: _VALUES[k] for k in keys})]
    assert decode_spans(narrow) == decode_spans(full)
    for spans in (full, narrow):  # a result of a batch whose root is missing: both incomplete
        with pytest.raises(IncompleteResultsError, match="holds 1 results"):
            read_results(spans, {schema.ATTR_RUN_ID: "run"}, "run")
