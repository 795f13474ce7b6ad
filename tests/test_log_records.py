"""Evaluation events as OTLP log records: one ``gen_ai.evaluation.result`` record per metric,
parented to the evaluated span, masked as the spans are, delivered through the outbox with the
spans (an entry is done only when both are acknowledged), the same record on every re-send."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, TraceFlags

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.delivery._log_records import record_bytes, record_size, records_of
from evaltrace.delivery._requests import pack
from evaltrace.delivery._resend import sync
from evaltrace.schema._log_encode import event_id, parse_event_id

from .support.answering_receiver import AnsweringReceiver
from .support.otlp_receiver import Receiver

CHILD = Path(__file__).parent / "support" / "child.py"

APP_TRACE = "0af7651916cd43dd8448eb211c80319c"
APP_SPAN = "b7ad6b7169203331"
TRACEPARENT = f"00-{APP_TRACE}-{APP_SPAN}-01"
RESULT = {
    "faithfulness": {"score": 0.25, "success": False, "explanation": "cites a page it never read"},
    "relevancy": {"score": 0.9, "label": "relevant"},
}


def _outbox(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        (entries,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
    conn.close()
    return int(entries)


def _by_name(rx: AnsweringReceiver, status: int = 200) -> dict[str, tuple[object, dict]]:  # type: ignore[type-arg]
    return {
        str(attrs["gen_ai.evaluation.name"]): (record, attrs)
        for record, attrs in rx.log_records(status)
    }


def test_one_record_per_metric_parented_to_the_evaluated_span(store_path: Path) -> None:
    """A row with a traceparent: each metric's record names the metric, its score, label and
    explanation, carries the run id, and has the *application* span's trace and span id."""
    rx = AnsweringReceiver()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(
                RESULT,
                "qa",
                {"id": "s1", "traceparent": TRACEPARENT, "response_id": "chatcmpl-1"},
                run_id="r1",
            )
            assert tracker.flush(timeout=30)
            assert tracker.stats.log_records_exported == 2
        records = _by_name(rx)
        assert set(records) == {"faithfulness", "relevancy"}
        record, attrs = records["faithfulness"]
        assert record.event_name == "gen_ai.evaluation.result"  # type: ignore[attr-defined]
        assert record.trace_id.hex() == APP_TRACE  # type: ignore[attr-defined]
        assert record.span_id.hex() == APP_SPAN  # type: ignore[attr-defined]
        assert attrs["gen_ai.evaluation.score.value"] == 0.25
        assert attrs["gen_ai.evaluation.score.label"] == "fail"
        assert attrs["gen_ai.evaluation.explanation"] == "cites a page it never read"
        assert attrs["gen_ai.response.id"] == "chatcmpl-1"
        assert attrs["eval.run_id"] == "r1" and attrs["eval.sample_id"] == "s1"
        assert records["relevancy"][1]["gen_ai.evaluation.score.label"] == "relevant"
        # the event id names the result span, which is linked to the application span
        spans = evaltrace.query.SQLiteQueryAdapter(store_path).run_results("r1")
        ids = parse_event_id(str(attrs["eval.event_id"]))
        assert ids is not None and (ids[0], ids[1]) == (spans[0]["trace_id"], spans[0]["span_id"])
    finally:
        rx.stop()


def test_without_a_traceparent_the_record_is_parented_to_the_result_span(
    store_path: Path,
) -> None:
    """No application span anywhere: the record carries the result span's own ids; an
    evaluation that errored has ``error.type`` and no score."""
    rx = AnsweringReceiver()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(
                {"judge": {"error": "TimeoutError: judge did not answer"}, "m": {"score": 1.0}},
                "qa",
                {"id": "s2"},
                run_id="r2",
            )
            assert tracker.flush(timeout=30)
        result = evaltrace.query.SQLiteQueryAdapter(store_path).run_results("r2")[0]
        records = _by_name(rx)
        for record, _ in records.values():
            assert record.trace_id.hex() == result["trace_id"]  # type: ignore[attr-defined]
            assert record.span_id.hex() == result["span_id"]  # type: ignore[attr-defined]
        assert records["judge"][1]["error.type"] == "TimeoutError"
        assert "gen_ai.evaluation.score.value" not in records["judge"][1]
    finally:
        rx.stop()


def test_a_batch_row_traceparent_wins_over_log_context(store_path: Path) -> None:
    """In a batch under ``tracker.context(traceparent=A)``, a row with its own traceparent B is
    parented to B, the others to A."""
    other = "00-11111111111111111111111111111111-2222222222222222-01"
    rx = AnsweringReceiver()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            with tracker.context(traceparent=TRACEPARENT):
                tracker.log_batch_sync(
                    [{"m": {"score": 1.0}}, {"m": {"score": 0.0}}],
                    "qa",
                    [{"id": "a", "traceparent": other}, {"id": "b"}],
                    run_id="r3",
                )
            assert tracker.flush(timeout=30)
        parents = {
            attrs["eval.sample_id"]: (record.trace_id.hex(), record.span_id.hex())
            for record, attrs in rx.log_records()
        }
        assert parents == {
            "a": ("11111111111111111111111111111111", "2222222222222222"),
            "b": (APP_TRACE, APP_SPAN),
        }
    finally:
        rx.stop()


@pytest.mark.parametrize("mode", ["local", "none"])
def test_explanations_are_masked_as_on_the_spans(store_path: Path, mode: str) -> None:
    """capture_content=local/none: the record's explanation is a digest, never the text;
    scores, labels and names still travel."""
    rx = AnsweringReceiver()
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, capture_content=mode
        ) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            assert tracker.flush(timeout=30)
        _, attrs = _by_name(rx)["faithfulness"]
        assert str(attrs["gen_ai.evaluation.explanation"]).startswith("<sha256:")
        assert attrs["gen_ai.evaluation.score.value"] == 0.25
        assert all(b"never read" not in body for _, body in rx.log_bodies)
    finally:
        rx.stop()


def test_redact_applies_to_the_records(store_path: Path) -> None:
    """``redact=`` rewrites the explanation before anything is stored or sent: the record has
    the redacted text."""

    def redact(field: str, value: object) -> object:
        if field == "evaluation_result" and isinstance(value, dict):
            return {k: {**v, "explanation": "[redacted]"} for k, v in value.items()}
        return value

    rx = AnsweringReceiver()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint, redact=redact) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            assert tracker.flush(timeout=30)
        _, attrs = _by_name(rx)["faithfulness"]
        assert attrs["gen_ai.evaluation.explanation"] == "[redacted]"
    finally:
        rx.stop()


def test_an_entry_is_done_only_when_its_log_records_are_acknowledged(store_path: Path) -> None:
    """Spans accepted, logs answered 503: the outbox entry stays (flush is False); ``sync``
    from the store sends spans and records again; after de-duplication by ``eval.event_id``
    there is exactly one record per metric, equal to the first, and the outbox is empty."""
    down = AnsweringReceiver(logs_answer=lambda _: (503, b"logs backend down"))
    try:
        with Tracker("p", store=store_path, otlp_endpoint=down.endpoint) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            assert not tracker.flush(timeout=2)
            assert tracker.stats.log_records_exported == 0
            tracker.close(timeout=0.5)
        assert _outbox(store_path) >= 1
        assert down.span_names().count("evaltrace.result") >= 1
    finally:
        down.stop()
    up = AnsweringReceiver()
    try:
        report = sync(str(store_path), endpoint=up.endpoint, timeout=30)
        assert report.exported >= 1 and report.log_records == 2
        assert _outbox(store_path) == 0
        sent = [attrs["eval.event_id"] for _, attrs in up.log_records()]
        assert len(set(sent)) == 2
        first = {attrs["eval.event_id"]: attrs for _, attrs in down.log_records(503)}
        again = {attrs["eval.event_id"]: attrs for _, attrs in up.log_records()}
        assert first == again  # the record rebuilt from the store is the first one
    finally:
        up.stop()


def test_a_resend_keeps_the_committed_capture_mode(store_path: Path) -> None:
    """A ``local`` call left in the outbox, re-sent by a tracker whose own mode is ``all``
    (here ``evaltrace sync``): the explanation still leaves masked."""
    down = AnsweringReceiver(logs_answer=lambda _: (503, b""))
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=down.endpoint, capture_content="local"
        ) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            tracker.close(timeout=1)
    finally:
        down.stop()
    up = AnsweringReceiver()
    try:
        report = sync(str(store_path), endpoint=up.endpoint, timeout=30)
        assert report.log_records == 2 and report.pending_after == 0
        _, attrs = _by_name(up)["faithfulness"]
        assert str(attrs["gen_ai.evaluation.explanation"]).startswith("<sha256:")
    finally:
        up.stop()


def test_a_collector_without_a_logs_pipeline_is_said_once_and_spans_go_on(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """/v1/logs answered 404 (a collector or Jaeger with no logs pipeline): one warning naming
    EVALTRACE_OTLP_LOGS, counted as not_accepted, no more log requests; spans delivered and
    the outbox empties."""
    rx = AnsweringReceiver(logs_answer=lambda _: (404, b"404 page not found"))
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            for i in range(3):
                tracker.log(RESULT, "qa", {"id": i}, run_id="r")
                assert tracker.flush(timeout=30)
            stats = tracker.stats
        assert stats.log_records_dropped == {"not_accepted": 2}
        assert len(rx.log_bodies) == 1
        assert rx.span_names().count("evaltrace.result") == 3
        assert _outbox(store_path) == 0
        said = [r for r in caplog.records if "takes no OTLP logs" in r.getMessage()]
        assert len(said) == 1 and "EVALTRACE_OTLP_LOGS" in said[0].getMessage()
    finally:
        rx.stop()


def test_logs_off_sends_no_log_request(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EVALTRACE_OTLP_LOGS=off: spans only."""
    monkeypatch.setenv("EVALTRACE_OTLP_LOGS", "off")
    rx = AnsweringReceiver()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            assert tracker.flush(timeout=30)
        assert rx.log_bodies == [] and rx.span_names().count("evaltrace.result") == 1
    finally:
        rx.stop()


def test_a_bad_request_and_a_partial_success_for_logs_are_counted(store_path: Path) -> None:
    """Logs answered 400: dropped as bad_request, not retried, the entry settled; a partial
    success: counted as rejected."""
    rx = AnsweringReceiver(logs_answer=lambda _: (400, b"bad"))
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            assert tracker.flush(timeout=30)
            assert tracker.stats.log_records_dropped == {"bad_request": 2}
        assert len(rx.log_bodies) == 1 and _outbox(store_path) == 0
    finally:
        rx.stop()

    def partial(_: bytes) -> tuple[int, bytes]:
        answer = ExportLogsServiceResponse()
        answer.partial_success.rejected_log_records = 1
        answer.partial_success.error_message = "too many attributes"
        return 200, answer.SerializeToString()

    rx = AnsweringReceiver(logs_answer=partial)
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(RESULT, "qa", {"id": "s2"}, run_id="r")
            assert tracker.flush(timeout=30)
            assert (tracker.stats.log_records_rejected, tracker.stats.log_records_exported) == (
                1,
                1,
            )
    finally:
        rx.stop()


def test_a_413_on_logs_is_halved_and_delivered(store_path: Path) -> None:
    """A logs endpoint taking 2 kB at most: 40 metrics' records arrive whole, in smaller
    requests."""
    rx = AnsweringReceiver(
        logs_answer=lambda body: (413, b"too large") if len(body) > 2048 else (200, b"")
    )
    many = {f"m{i}": {"score": i / 40, "explanation": "x" * 40} for i in range(40)}
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(many, "qa", {"id": "s1"}, run_id="r")
            assert tracker.flush(timeout=30)
            assert tracker.stats.log_records_dropped == {}
        assert len({a["eval.event_id"] for _, a in rx.log_records()}) == 40
        assert any(status == 413 for status, _ in rx.log_bodies)
    finally:
        rx.stop()


def _span(events: int, link: bool) -> ReadableSpan:
    ctx = SpanContext(7, 9, is_remote=False, trace_flags=TraceFlags(1))
    app = SpanContext(int(APP_TRACE, 16), int(APP_SPAN, 16), is_remote=True)
    return ReadableSpan(
        "evaltrace.result",
        context=ctx,
        resource=Resource({"service.name": "p"}),
        attributes={"eval.run_id": "r", "eval.result": "{...}", "eval.data": "{...}"},
        events=[
            Event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": f"m{i}"}, 5)
            for i in range(events)
        ],
        links=[Link(app)] if link else [],
        start_time=5,
        end_time=6,
    )


def test_records_carry_no_payload_and_export_through_the_sdk_contract() -> None:
    """``records_of`` gives SDK ``ReadableLogRecord``s an ``InMemoryLogRecordExporter`` takes;
    they carry the run id and the event id but never ``eval.result``/``eval.data``."""
    records = records_of([_span(3, link=True)])
    exporter = InMemoryLogRecordExporter()
    exporter.export(records)
    got = exporter.get_finished_logs()
    assert [r.log_record.attributes["gen_ai.evaluation.name"] for r in got] == ["m0", "m1", "m2"]
    for i, r in enumerate(got):
        attrs = dict(r.log_record.attributes or {})
        assert attrs["eval.event_id"] == event_id(7, 9, i)
        assert "eval.result" not in attrs and "eval.data" not in attrs
        assert (r.log_record.trace_id, r.log_record.span_id) == (
            int(APP_TRACE, 16),
            int(APP_SPAN, 16),
        )
        assert r.log_record.timestamp == r.log_record.observed_timestamp == 5


@settings(max_examples=50, deadline=None)
@given(
    events=st.lists(st.integers(0, 30), min_size=1, max_size=6),
    limit=st.integers(1024, 8192),
)
def test_log_requests_stay_under_the_byte_limit(events: list[int], limit: int) -> None:
    """However many records per trace, each packed request of records encodes within the
    limit and none is lost."""
    groups = [records_of([_span(n, link=bool(n % 2))]) for n in events]
    requests, too_large = pack(groups, limit, record_size)
    assert not too_large
    assert sum(len(r.spans) for r in requests) == sum(events)
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

    for request in requests:
        assert encode_logs(request.spans).ByteSize() <= limit


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(max_size=300),
    score=st.floats(allow_nan=False),
    resource=st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=5),
)
def test_the_cheap_record_bound_is_never_under_the_encoded_size(
    text: str, score: float, resource: dict[str, str]
) -> None:
    """``record_size`` (a bound, no protobuf) is at least the record's encoded bytes, whatever
    its text (multi-byte, long) and resource."""
    span = ReadableSpan(
        "evaltrace.result",
        context=SpanContext(7, 9, is_remote=False, trace_flags=TraceFlags(1)),
        resource=Resource(resource),
        attributes={"eval.run_id": text, "eval.sample_id": text},
        events=[
            Event(
                "gen_ai.evaluation.result",
                {
                    "gen_ai.evaluation.name": text,
                    "gen_ai.evaluation.score.value": score,
                    "gen_ai.evaluation.explanation": text,
                },
                5,
            )
        ],
        start_time=5,
        end_time=6,
    )
    for record in records_of([span]):
        assert record_size(record, 1 << 30) >= record_bytes(record)


def test_event_ids_round_trip() -> None:
    """``parse_event_id`` reads what ``event_id`` writes, and refuses other text."""
    assert parse_event_id(event_id(1, 2, 3)) == ("0" * 31 + "1", "0" * 15 + "2", 3)
    for bad in ("", "x-y-1", f"{'0' * 32}-{'0' * 16}-x", f"{'g' * 32}-{'0' * 16}-1"):
        assert parse_event_id(bad) is None


def test_logs_quiet_on_the_forwarder_thread(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing logs endpoint: the log exporter's own retry lines stay below WARNING; evaltrace
    says one line naming the log records."""
    caplog.set_level(logging.DEBUG)
    rx = AnsweringReceiver(logs_answer=lambda _: (503, b"unavailable"))
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            assert not tracker.flush(timeout=2)
            tracker.close(timeout=0.5)
        loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert not [r for r in loud if r.name.startswith("opentelemetry")]
        said = [r.getMessage() for r in loud if "log records" in r.getMessage()]
        assert len(said) == 1 and "failed" in said[0]
    finally:
        rx.stop()


class _Traces(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request: object, context: object) -> ExportTraceServiceResponse:
        self.spans = getattr(self, "spans", 0) + sum(
            len(s.spans)
            for r in request.resource_spans  # type: ignore[attr-defined]
            for s in r.scope_spans
        )
        return ExportTraceServiceResponse()


class _Logs(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self) -> None:
        self.records: list[object] = []

    def Export(self, request: object, context: object) -> ExportLogsServiceResponse:
        for r in request.resource_logs:  # type: ignore[attr-defined]
            for s in r.scope_logs:
                self.records.extend(s.log_records)
        return ExportLogsServiceResponse()


def _grpc_server(with_logs: bool) -> tuple[grpc.Server, int, _Traces, _Logs]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    traces, logs = _Traces(), _Logs()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(traces, server)
    if with_logs:
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(logs, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port, traces, logs


@pytest.mark.parametrize("with_logs", [True, False])
def test_over_grpc(store_path: Path, with_logs: bool) -> None:
    """Over OTLP/gRPC the records arrive with their event name; a gRPC collector without a
    logs service (UNIMPLEMENTED) is counted as not accepting logs and the spans still go."""
    server, port, traces, logs = _grpc_server(with_logs)
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=f"http://127.0.0.1:{port}", otlp_protocol="grpc"
        ) as tracker:
            tracker.log(RESULT, "qa", {"id": "s1"}, run_id="r")
            assert tracker.flush(timeout=30)
            stats = tracker.stats
        assert traces.spans >= 1 and _outbox(store_path) == 0
        if with_logs:
            assert stats.log_records_exported == 2
            assert {r.event_name for r in logs.records} == {"gen_ai.evaluation.result"}  # type: ignore[attr-defined]
        else:
            assert stats.log_records_dropped == {"not_accepted": 2}
    finally:
        server.stop(None)


def test_a_process_killed_before_the_acknowledgement_is_resent_with_its_records(
    store_path: Path,
) -> None:
    """A child SIGKILLed after committing a 100-row batch during an outage: the next tracker
    on the store sends the 100 result spans and their 100 log records, each record naming a
    result span that was sent."""
    rx = Receiver()
    rx.stop()
    here = str(Path(evaltrace.__file__).parents[1])  # the child runs this very evaltrace
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(store_path), "r", "batch", "100", rx.endpoint],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": here},
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "returned 100":
            break
    child.kill()
    child.wait(timeout=30)
    rx.start()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30)
            assert again.stats.log_records_exported >= 100
        results = {(t, s) for t, s, name, _ in rx.spans() if name == "evaltrace.result"}
        records = set()
        for body in rx.log_bodies:
            for resource in ExportLogsServiceRequest.FromString(body).resource_logs:
                for scope in resource.scope_logs:
                    for record in scope.log_records:
                        ids = {kv.key: kv.value.string_value for kv in record.attributes}
                        records.add(ids["eval.event_id"])
        assert len(results) == 100 and len(records) == 100
        assert {(t, s) for t, s, _ in map(parse_event_id, records)} == results  # type: ignore[misc]
        assert _outbox(store_path) == 0
    finally:
        rx.stop()
