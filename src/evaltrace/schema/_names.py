"""Every span name, attribute key and result-dict key of the evaltrace schema, spelled once.

See ``docs/schema.md`` for what each carries. Nothing outside ``evaltrace.schema`` spells an
attribute name; other modules import these constants.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ATTR_BATCH_CHUNK_SIZE",
    "ATTR_BATCH_CHUNK_START",
    "ATTR_BATCH_ID",
    "ATTR_BATCH_ROW",
    "ATTR_BATCH_SIZE",
    "ATTR_CAPTURE",
    "ATTR_CONTEXT",
    "ATTR_DATA",
    "ATTR_DATASET",
    "ATTR_EVENTS_OMITTED",
    "ATTR_EVENT_ID",
    "ATTR_LINK_SPAN_ID",
    "ATTR_LINK_TRACE_ID",
    "ATTR_METADATA",
    "ATTR_METRICS_OMITTED",
    "ATTR_METRIC_PREFIX",
    "ATTR_PROJECT",
    "ATTR_PROVENANCE",
    "ATTR_RECORD",
    "ATTR_RESULT",
    "ATTR_REVIEW_NOTE",
    "ATTR_REVIEW_RESULT_SPAN_ID",
    "ATTR_REVIEW_REVIEWER",
    "ATTR_REVIEW_RUN_ID",
    "ATTR_REVIEW_SAMPLE_ID",
    "ATTR_REVIEW_SEQ",
    "ATTR_REVIEW_VERDICT",
    "ATTR_RUN_ID",
    "ATTR_SAMPLE_FINGERPRINT",
    "ATTR_SAMPLE_ID",
    "ATTR_SCHEMA",
    "ATTR_SEQ",
    "ATTR_SUMMARY_AGGREGATES",
    "ATTR_SUMMARY_CLOSED",
    "ATTR_SUMMARY_ENDED",
    "ATTR_SUMMARY_KIND",
    "ATTR_SUMMARY_RESULTS",
    "ATTR_SUMMARY_RUN_ID",
    "ATTR_SUMMARY_SEQ",
    "ATTR_SUMMARY_STARTED",
    "ATTR_SUMMARY_WRITER",
    "ATTR_WRITER",
    "BATCH_SPAN",
    "ERROR_TYPE",
    "EVALUATION_EVENT",
    "GEN_AI_EVALUATION_EXPLANATION",
    "GEN_AI_EVALUATION_NAME",
    "GEN_AI_EVALUATION_SCORE_LABEL",
    "GEN_AI_EVALUATION_SCORE_VALUE",
    "GEN_AI_RESPONSE_ID",
    "READ_KEYS",
    "RECORD_FIELDS",
    "RECORD_READ_KEYS",
    "RECORD_VERSION",
    "RESERVED_ATTRIBUTES",
    "RESULT_KEYS",
    "RESULT_READ_KEYS",
    "RESULT_SPAN",
    "REVIEW_KIND",
    "REVIEW_SPAN",
    "REVIEW_VERDICTS",
    "SAMPLE_ID_KEYS",
    "SCHEMA_VERSION",
    "SCOPE_NAME",
    "SHARDS_KEY",
    "SUMMARY_KIND",
    "SUMMARY_SPAN",
    "TEST_CASE_ID",
    "TEST_SUITE_RUN_ID",
]

SCHEMA_VERSION: Final = 1
"""Bumped when the meaning of an attribute changes; decoders check it."""
SCOPE_NAME: Final = "evaltrace"
"""Instrumentation scope of every span evaltrace writes."""

RESULT_SPAN: Final = "evaltrace.result"
"""One logged evaluation result."""
BATCH_SPAN: Final = "evaltrace.batch"
"""Root of one trace of a ``log_batch`` call: up to ``results_per_trace`` result children."""
SUMMARY_SPAN: Final = "evaltrace.run_summary"
"""One writer's cumulative summary of one run: what history reads on remote backends."""
REVIEW_SPAN: Final = "evaltrace.review"
"""A person's verdict on one result: a child of the reviewed result span."""
EVALUATION_EVENT: Final = "gen_ai.evaluation.result"
"""OpenTelemetry GenAI evaluation event, one per scored metric."""

# The GenAI evaluation event's attributes, as the semantic-conventions-genai repository
# defines them (status: development). Spelled here rather than imported from the SDK's
# private, deprecated ``_incubating`` module.
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
"""string (required): the metric's dotted path."""
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
"""double: the score."""
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
"""string: a low-cardinality label (the result's ``label``, else pass/fail from ``success``)."""
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"
"""string: the evaluator's explanation, when short enough for an attribute."""
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
"""string: id of the evaluated response, when the data row has one."""
ERROR_TYPE: Final = "error.type"
"""string: why an evaluation failed (its error's type or message)."""

ATTR_SCHEMA: Final = "eval.schema_version"
"""int: the schema version that wrote the span."""
ATTR_PROJECT: Final = "eval.project"
"""string: the tracker's project name."""
ATTR_RUN_ID: Final = "eval.run_id"
"""string: the experiment run id; every result of a run carries it."""
ATTR_DATASET: Final = "eval.dataset"
"""string: the dataset name given to log / log_batch."""
ATTR_SEQ: Final = "eval.seq"
"""int: process-wide logging sequence number; orders results logged in the same nanosecond."""
ATTR_SAMPLE_ID: Final = "eval.sample_id"
"""string: the data row's id (``id``/``sample_id``/...) or a hash of the row; pairs runs."""
ATTR_RESULT: Final = "eval.result"
"""string: the evaluation result as JSON (a list of dicts for row-grouped batches)."""
ATTR_DATA: Final = "eval.data"
"""string: the evaluated input row as JSON."""
ATTR_METADATA: Final = "eval.metadata"
"""string: the metadata mapping as JSON."""
ATTR_CONTEXT: Final = "eval.context"
"""string: what ``log_context`` set, as JSON."""
ATTR_RECORD: Final = "eval.record"
"""string: a result span's identifiers as one compact JSON array (``schema.record_text``), so
that a reader looks up five attributes (this, the two payloads, metadata, context) instead of
twelve; no content. The attributes above stay the truth: a span without a record (older
writers), with one a reader does not know, or one that disagrees with the search is read from
them."""
RECORD_VERSION: Final = 1
"""The first item of ``ATTR_RECORD``: readers use a record of a version they know only."""
RECORD_FIELDS: Final = (
    "version",
    "vouched",
    "seq",
    "sample_id",
    "link_trace_id",
    "link_span_id",
    "run_id",
    "project",
    "dataset",
    "batch_id",
)
"""The items of a version-1 ``ATTR_RECORD``, in order (``record_text``, ``decode_record``):
``vouched`` is true when orjson reads the span's ``eval.result`` and ``eval.data`` exactly
(no int past 64 bits); absent ids are null."""
ATTR_METRIC_PREFIX: Final = "eval.metric."
"""Prefix of the flat, queryable metric attributes."""
ATTR_METRICS_OMITTED: Final = "eval.omitted.metric_attributes"
"""int: metric leaves not copied to flat attributes (over the cap, long strings, None, mixed
lists); present only when non-zero. The JSON payload still holds them exactly."""
ATTR_EVENTS_OMITTED: Final = "eval.omitted.events"
"""int: evaluation events not emitted because of the span's event limit."""
ATTR_EVENT_ID: Final = "eval.event_id"
"""string, on an evaluation event's OTLP log record only: ``<result trace id>-<result span
id>-<n>`` (hex, n the event's index on its result span). The same on every re-send of the
record: readers de-duplicate by it, and it names the result span when the record is parented
to the evaluated application span instead."""
ATTR_LINK_TRACE_ID: Final = "eval.link.trace_id"
"""string: hex trace id of the application span this result is linked to (searchable copy)."""
ATTR_LINK_SPAN_ID: Final = "eval.link.span_id"
"""string: hex span id of that application span."""
ATTR_WRITER: Final = "eval.writer"
"""string: who wrote the span (result spans and batch roots): the ``ATTR_SUMMARY_WRITER`` of
the same writer's run summaries, so a reader can say, per writer, how many results it said it
wrote and how many it found."""
ATTR_CAPTURE: Final = "eval.capture"
"""string, in files of ``evaltrace export --format otlp`` only (never sent, nor ``--as-sent``):
the content capture mode the call was logged under (``all``/``local``/``none``), so that a store
importing the file's full text keeps the text as local as the original store did."""
TEST_SUITE_RUN_ID: Final = "test.suite.run.id"
"""string (provisional: semantic-conventions-genai #79/#359 propose it): the run id, on every
result span, as the proposal spells it; ``eval.run_id`` stays what evaltrace reads."""
TEST_CASE_ID: Final = "test.case.id"
"""string (provisional, as ``TEST_SUITE_RUN_ID``): the result's sample id."""
ATTR_SAMPLE_FINGERPRINT: Final = "eval.sample.fingerprint"
"""string (provisional): sha256 hex of the sample's inputs and expected outputs
(``schema._fingerprint``); absent when the row has none."""
ATTR_PROVENANCE: Final = "eval.provenance"
"""string (provisional): the run's provenance as JSON: ``evaluators`` (name -> version, as
``log(evaluators=...)`` said them) and ``code_version`` (the git commit of the logging
process's working directory); absent when neither is known."""
SHARDS_KEY: Final = "evaltrace.shards"
"""The run metadata key that declares how many writers (shards) log a run: an int >= 1."""
ATTR_BATCH_ID: Final = "eval.batch.id"
"""string: id shared by every span of one log_batch call."""
ATTR_BATCH_ROW: Final = "eval.batch.row"
"""int: the row's index in its log_batch call."""
ATTR_BATCH_SIZE: Final = "eval.batch.size"
"""int: rows in the whole log_batch call."""
ATTR_BATCH_CHUNK_START: Final = "eval.batch.chunk.start"
"""int: first row index carried by this trace."""
ATTR_BATCH_CHUNK_SIZE: Final = "eval.batch.chunk.size"
"""int: result spans in this trace: lets readers prove a trace complete."""

ATTR_SUMMARY_KIND: Final = "eval.kind"
"""string: ``SUMMARY_KIND`` on run-summary spans, ``REVIEW_KIND`` on review spans (and only
there): what history and ``get_reviews`` search for."""
SUMMARY_KIND: Final = "run_summary"
"""The value of ``ATTR_SUMMARY_KIND`` on a run-summary span."""
ATTR_SUMMARY_RUN_ID: Final = "eval.summary.run_id"
"""string: the run summarised. Not ``eval.run_id``: a search for a run's results (the Jaeger
UI's, ``run_results``) finds its result traces only, never its summaries."""
ATTR_SUMMARY_WRITER: Final = "eval.summary.writer"
"""string: who wrote the summary: ``store:<id>`` (every tracker on one store) or
``process:<id>`` (one tracker without a store). Readers keep the latest per (run, writer)."""
ATTR_SUMMARY_SEQ: Final = "eval.summary.seq"
"""int: the writer's sequence number of this summary; higher is newer (a store's: the last
result row it covers)."""
ATTR_SUMMARY_RESULTS: Final = "eval.summary.num_results"
"""int: results of the run this writer holds, cumulative."""
ATTR_SUMMARY_STARTED: Final = "eval.summary.started_ns"
"""int: epoch nanoseconds of the writer's earliest result of the run."""
ATTR_SUMMARY_ENDED: Final = "eval.summary.ended_ns"
"""int: epoch nanoseconds of the writer's latest result of the run."""
ATTR_SUMMARY_AGGREGATES: Final = "eval.summary.aggregates"
"""string: the run's mergeable score aggregates as JSON (``_aggregate.encode_aggregates``)."""
ATTR_SUMMARY_CLOSED: Final = "eval.summary.closed"
"""bool: the writer is done with the run: sent at ``close()``, or by ``evaltrace sync`` (for a
writer that is gone). Absent (false) on summaries sent while the writer may still log."""

REVIEW_KIND: Final = "review"
"""The value of ``ATTR_SUMMARY_KIND`` (``eval.kind``) on a review span: what ``get_reviews``
searches for."""
REVIEW_VERDICTS: Final = ("pass", "fail")
"""What a person may say of a sample."""
ATTR_REVIEW_RUN_ID: Final = "eval.review.run_id"
"""string: the run of the reviewed result. Not ``eval.run_id``: a search for a run's results
never takes a review for one."""
ATTR_REVIEW_SAMPLE_ID: Final = "eval.review.sample_id"
"""string: the reviewed result's sample id."""
ATTR_REVIEW_RESULT_SPAN_ID: Final = "eval.review.result_span_id"
"""string: the reviewed result span's id (16 hex; also the review span's parent)."""
ATTR_REVIEW_VERDICT: Final = "eval.review.verdict"
"""string: ``pass`` or ``fail``. Never changes the result's own scores or the gate."""
ATTR_REVIEW_NOTE: Final = "eval.review.note"
"""string: the reviewer's note, masked like any text under ``capture_content``; absent when
none."""
ATTR_REVIEW_REVIEWER: Final = "eval.review.reviewer"
"""string: who reviewed, when given."""
ATTR_REVIEW_SEQ: Final = "eval.review.seq"
"""int: the store's sequence number of the review; the latest of a sample stands."""

RESERVED_ATTRIBUTES: Final = 28
"""Room a span's attribute limit must keep for the payload and identifier attributes above
(there are 25); flat metrics get what is left."""

RESULT_READ_KEYS: Final = (
    ATTR_RUN_ID,
    ATTR_PROJECT,
    ATTR_DATASET,
    ATTR_SEQ,
    ATTR_SAMPLE_ID,
    ATTR_RESULT,
    ATTR_DATA,
    ATTR_METADATA,
    ATTR_CONTEXT,
    ATTR_LINK_TRACE_ID,
    ATTR_LINK_SPAN_ID,
    ATTR_BATCH_ID,
    ATTR_WRITER,
)
"""The read keys of a result span (``RESULT_SPAN``): every one its decoding, ordering,
matching and completeness check consult. A reader that knows the span's name looks up these 13
instead of all 22 (each lookup in a protobuf map costs ~0.3 us, a missing one as much)."""

RECORD_READ_KEYS: Final = (ATTR_RECORD, ATTR_RESULT, ATTR_DATA, ATTR_METADATA, ATTR_CONTEXT)
"""What a reader looks up of a result span that has a record (``schema.decode_record``)."""

READ_KEYS: Final = frozenset(
    {
        *RESULT_READ_KEYS,
        ATTR_BATCH_CHUNK_SIZE,
        ATTR_SUMMARY_KIND,
        ATTR_SUMMARY_RUN_ID,
        ATTR_SUMMARY_WRITER,
        ATTR_SUMMARY_SEQ,
        ATTR_SUMMARY_RESULTS,
        ATTR_SUMMARY_STARTED,
        ATTR_SUMMARY_ENDED,
        ATTR_SUMMARY_AGGREGATES,
        ATTR_SUMMARY_CLOSED,
        ATTR_REVIEW_RUN_ID,
        ATTR_REVIEW_SAMPLE_ID,
        ATTR_REVIEW_RESULT_SPAN_ID,
        ATTR_REVIEW_VERDICT,
        ATTR_REVIEW_NOTE,
        ATTR_REVIEW_REVIEWER,
        ATTR_REVIEW_SEQ,
    }
)
"""Every attribute a reader decodes: remote adapters convert these and skip the rest (the
flat metrics, which the JSON payload already holds exactly)."""

SAMPLE_ID_KEYS: Final = ("id", "sample_id", "test_case_id", "query_id", "question_id")
"""Data keys taken, in this order, as the sample id before falling back to a hash."""

RESULT_KEYS: Final = (
    "run_id",
    "project_name",
    "dataset_name",
    "evaluation_result",
    "data",
    "metadata",
    "context",
    "sample_id",
    "timestamp",
    "trace_id",
    "span_id",
    "link",
)
"""Keys of one result dict as ``get_run_results`` returns it, in their order."""
