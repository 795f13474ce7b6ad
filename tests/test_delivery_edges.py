"""Delivery at its edges: requests sized by bytes, each collector answer handled as the OTLP
spec says, one clear log line, honest counts, close() bounded by its timeout."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, TraceFlags

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.delivery._requests import bound, pack, span_bytes
from evaltrace.store._holder import holder, is_gone

from .support.answering_receiver import (
    Answer,
    AnsweringReceiver,
    GrpcAnsweringReceiver,
    ok,
    over,
    partial,
)
from .support.otlp_receiver import Receiver

RESULT = "evaltrace.result"


def _span(trace: int, span: int, size: int) -> ReadableSpan:
    context = SpanContext(trace, span, is_remote=False, trace_flags=TraceFlags(1))
    return ReadableSpan(
        name=RESULT,
        context=context,
        attributes={"eval.data": "x" * size},
        resource=Resource({"service.name": "p"}),
        start_time=1,
        end_time=2,
    )


@settings(max_examples=200, deadline=None)
@given(
    traces=st.lists(st.lists(st.integers(0, 6000), min_size=1, max_size=8), max_size=12),
    limit=st.integers(1024, 20_000),
)
def test_every_request_stays_under_the_byte_limit(traces: list[list[int]], limit: int) -> None:
    """Any traces, any limit: each request encodes to at most the limit; every span that fits
    alone is sent once, in order; the others are reported too large."""
    spans = [
        [_span(t + 1, s + 1, size) for s, size in enumerate(trace)]
        for t, trace in enumerate(traces)
    ]
    requests, too_large = pack(spans, limit)
    for request in requests:
        assert encode_spans(request.spans).ByteSize() <= limit
    sent = [s for r in requests for s in r.spans]
    fits = [s for trace in spans for s in trace if span_bytes(s) <= limit]
    assert sent == fits
    assert [s for _, s, _ in too_large] == [
        s for trace in spans for s in trace if span_bytes(s) > limit
    ]


_VALUES = st.one_of(
    st.text(max_size=300),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.text(max_size=20), max_size=5).map(tuple),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=5).map(tuple),
)
_ATTRIBUTES = st.dictionaries(st.text(min_size=1, max_size=30), _VALUES, max_size=8)


@settings(max_examples=300, deadline=None)
@given(
    name=st.text(max_size=50),
    attributes=_ATTRIBUTES,
    resource=_ATTRIBUTES,
    events=st.lists(st.tuples(st.text(max_size=20), _ATTRIBUTES), max_size=3),
    links=st.lists(_ATTRIBUTES, max_size=2),
)
def test_the_cheap_bound_is_never_under_the_encoded_size(
    name: str,
    attributes: dict[str, object],
    resource: dict[str, object],
    events: list[tuple[str, dict[str, object]]],
    links: list[dict[str, object]],
) -> None:
    """Any span (unicode, ints, floats, arrays, events, links): bound >= the protobuf bytes."""
    context = SpanContext(7, 9, is_remote=False, trace_flags=TraceFlags(1))
    span = ReadableSpan(
        name=name,
        context=context,
        parent=SpanContext(7, 3, is_remote=False),
        attributes=attributes,  # type: ignore[arg-type]
        resource=Resource(resource),  # type: ignore[arg-type]
        events=[Event(n, a, timestamp=5) for n, a in events],  # type: ignore[arg-type]
        links=[Link(SpanContext(8, 4, is_remote=False), a) for a in links],  # type: ignore[arg-type]
        start_time=1,
        end_time=2,
    )
    try:
        exact = span_bytes(span)
    except UnicodeEncodeError:  # a lone surrogate: the exporter cannot encode it either
        return
    estimate = bound(span)
    assert estimate is not None and estimate >= exact


PROTOCOLS = pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
"""The collector's answers are read alike over both OTLP protocols."""


def _receiver(protocol: str, answer: Answer = ok) -> AnsweringReceiver:
    return GrpcAnsweringReceiver(answer) if protocol == "grpc" else AnsweringReceiver(answer)


def _rows(n: int, size: int) -> tuple[list[dict[str, float]], list[dict[str, str]]]:
    return [{"m": float(i)} for i in range(n)], [{"q": f"{i}:" + "c" * size} for i in range(n)]


def _outbox(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        (spans,) = conn.execute("SELECT total(spans) FROM outbox").fetchone()
    conn.close()
    return int(spans)


@PROTOCOLS
def test_a_413_is_split_and_delivered_and_not_retried_as_it_is(
    store_path: Path, protocol: str
) -> None:
    """A collector taking 1 MiB at most: 100 rows of 50 kB arrive whole, each request over the
    limit was tried once, never again at that size."""
    rx = _receiver(protocol, over(1 << 20))
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, otlp_protocol=protocol
        ) as tracker:
            results, data = _rows(100, 50_000)
            tracker.log_batch_sync(results, "qa", data, run_id="r")
            assert tracker.flush(timeout=60)
            assert tracker.stats.spans_dropped == {}
        assert sorted(rx.span_names()).count(RESULT) == 100
        refused = [len(body) for status, body in rx.bodies if status == 413]
        assert refused and len(refused) == len(set(refused))  # halved, never sent again as is
        assert _outbox(store_path) == 0
    finally:
        rx.stop()


def test_grpc_s_own_message_limit_is_split_like_a_413(store_path: Path) -> None:
    """A gRPC receiver whose own limit is 1 MiB (grpc answers RESOURCE_EXHAUSTED itself): 100
    rows of 50 kB arrive whole, nothing dropped, the outbox empties."""
    rx = GrpcAnsweringReceiver(max_message=1 << 20)
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint, otlp_protocol="grpc") as t:
            results, data = _rows(100, 50_000)
            t.log_batch_sync(results, "qa", data, run_id="r")
            assert t.flush(timeout=60)
            assert t.stats.spans_dropped == {}
        assert sorted(rx.span_names()).count(RESULT) == 100
        assert max(len(body) for _, body in rx.bodies) <= 1 << 20
        assert _outbox(store_path) == 0
    finally:
        rx.stop()


def test_the_grpc_exporter_s_stub_is_the_answering_one() -> None:
    """evaltrace reads gRPC answers by wrapping the exporter's private ``_stub``/``_client``;
    this fails first if an OpenTelemetry release moves them."""
    from evaltrace.delivery._otlp import build_exporter

    exporter = build_exporter("http://127.0.0.1:1", "grpc", None)
    try:
        assert type(exporter._client).__name__ == "_AnsweringStub"  # type: ignore[attr-defined]
        reconnect = exporter._stub(exporter._channel)  # type: ignore[attr-defined]
        assert type(reconnect).__name__ == "_AnsweringStub"
    finally:
        exporter.shutdown()


@PROTOCOLS
def test_one_huge_result_does_not_hold_back_the_small_ones(
    store_path: Path, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A 3 MB result before 50 small ones, a 1 MiB collector: the 50 arrive, the big one is
    dropped (413 alone), counted and logged with the collector's answer."""
    rx = _receiver(protocol, over(1 << 20))
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, otlp_protocol=protocol
        ) as tracker:
            tracker.log({"m": 0.0}, "qa", {"q": "h" * 3_000_000}, run_id="r")
            for i in range(50):
                tracker.log({"m": 1.0}, "qa", {"q": i}, run_id="r")
            assert tracker.flush(timeout=60)
            assert tracker.stats.spans_dropped == {"too_large": 1}
        assert rx.span_names().count(RESULT) == 50
        assert any(
            "413" in r.getMessage() and "too_large" in r.getMessage() for r in caplog.records
        )
    finally:
        rx.stop()


def test_a_span_over_the_configured_limit_is_dropped_before_sending(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """EVALTRACE_OTLP_MAX_REQUEST_BYTES=1 MB: a 2 MB result is never sent, counted, logged."""
    monkeypatch.setenv("EVALTRACE_OTLP_MAX_REQUEST_BYTES", "1000000")
    rx = AnsweringReceiver()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log({"m": 0.0}, "qa", {"q": "h" * 2_000_000}, run_id="r")
            tracker.log({"m": 1.0}, "qa", {"q": 1}, run_id="r")
            assert tracker.flush(timeout=30)
            assert tracker.stats.spans_dropped == {"too_large": 1}
        assert rx.span_names().count(RESULT) == 1
        assert max(len(body) for _, body in rx.bodies) <= 1_000_000
        assert any("EVALTRACE_OTLP_MAX_REQUEST_BYTES" in r.getMessage() for r in caplog.records)
    finally:
        rx.stop()


@PROTOCOLS
def test_a_400_is_dropped_counted_and_not_retried(
    store_path: Path, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A collector answering 400: settled at once (flush returns), counted, logged, sent once."""
    rx = _receiver(protocol, lambda _: (400, b"bad span"))
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, otlp_protocol=protocol
        ) as tracker:
            tracker.log_batch_sync([{"m": 1}] * 3, "qa", [{"q": i} for i in range(3)], run_id="r")
            assert tracker.flush(timeout=30)
            # 3 results + their batch span, then the run's summary span
            assert tracker.stats.spans_dropped == {"bad_request": 5}
            assert tracker.stats.export_attempts_failed == 0
        # each span answered 400 once, never retried; close() added the run's closed summary
        assert len(rx.span_names(400)) == 6
        assert any("400" in r.getMessage() and "bad span" in r.getMessage() for r in caplog.records)
        assert _outbox(store_path) == 0
    finally:
        rx.stop()


@PROTOCOLS
def test_partial_success_is_counted_as_rejected_and_logged(
    store_path: Path, protocol: str, caplog: pytest.LogCaptureFixture
) -> None:
    """200 with partial_success.rejected_spans=2: 2 rejected, not exported, the message logged."""
    rx = _receiver(protocol, partial(2, "attribute too long"))
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, otlp_protocol=protocol
        ) as tracker:
            tracker.log_batch_sync([{"m": 1}] * 3, "qa", [{"q": i} for i in range(3)], run_id="r")
            assert tracker.flush(timeout=30)
            stats = tracker.stats
            bodies = list(rx.bodies)  # as of the stats (close() sends the closed summary)
        # each request (the batch's 4 spans, the summary's 1, or all 5 in one): 2 rejected
        rejected = sum(min(2, rx.spans_in(body)) for _, body in bodies)
        assert sum(rx.spans_in(body) for _, body in bodies) == 5
        assert (stats.spans_rejected, stats.spans_exported) == (rejected, 5 - rejected)
        assert any("attribute too long" in r.getMessage() for r in caplog.records)
    finally:
        rx.stop()


def test_one_clear_line_per_outage_with_honest_counts(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Collector down, a 3-result batch: evaltrace says "3 results" and the cause, once; the
    exporter's own retry lines stay below WARNING."""
    rx = AnsweringReceiver()
    rx.stop()  # nothing listens on the port any more
    caplog.set_level(logging.DEBUG)
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        tracker.log_batch_sync([{"m": 1}] * 3, "qa", [{"q": i} for i in range(3)], run_id="r")
        assert not tracker.flush(timeout=3)
        tracker.close(timeout=0.5)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in loud if r.name.startswith("opentelemetry")]
    failed = [r.getMessage() for r in loud if "failed" in r.getMessage()]
    assert len(failed) == 1 and "3 results" in failed[0] and "ConnectionError" in failed[0]


def test_pending_is_still_reported_after_close(store_path: Path) -> None:
    """Closed during an outage: stats.spans_pending says what stays in the outbox."""
    rx = AnsweringReceiver()
    rx.stop()
    tracker = Tracker("p", store=store_path, otlp_endpoint=rx.endpoint)
    for i in range(5):
        tracker.log({"m": i}, "qa", {"q": i}, run_id="r")
    tracker.close(timeout=0.3)
    # 5 results in the outbox, and the run's summary (derived again from the store next time)
    assert tracker.stats.spans_pending == 6 and _outbox(store_path) == 5


def test_close_with_a_hung_collector_keeps_to_the_exit_timeout(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collector that never answers: close() takes EVALTRACE_EXIT_TIMEOUT, not the exporter's
    10 s request timeout; the pending spans stay due for the next tracker."""
    monkeypatch.setenv("EVALTRACE_EXIT_TIMEOUT", "1")
    rx = AnsweringReceiver(hang=True)
    try:
        tracker = Tracker("p", store=store_path, otlp_endpoint=rx.endpoint)
        tracker.log({"m": 1}, "qa", {"q": 1}, run_id="r")
        started = time.monotonic()
        tracker.close()
        took = time.monotonic() - started
        assert took < 2.0, took
        with sqlite3.connect(store_path) as conn:
            (leased,) = conn.execute(
                "SELECT count(*) FROM outbox WHERE not_before_ns > ?", (time.time_ns(),)
            ).fetchone()
        conn.close()
        assert leased == 0 and _outbox(store_path) >= 1
    finally:
        rx.stop()


CHILD = Path(__file__).parent / "support" / "child.py"


def test_the_leases_of_a_killed_process_are_taken_over_at_once(store_path: Path) -> None:
    """A tracker SIGKILLed during an outage: the next one sends its 100 leased results now,
    not after the 60 s lease."""
    rx = Receiver()
    rx.stop()
    here = str(Path(evaltrace.__file__).parents[1])  # the child runs this very evaltrace
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(store_path), "r", "log", "100", rx.endpoint],
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
    with sqlite3.connect(store_path) as conn:
        (leased,) = conn.execute(
            "SELECT total(spans) FROM outbox WHERE not_before_ns > ?", (time.time_ns(),)
        ).fetchone()
    conn.close()
    assert leased >= 90  # what the child held when it died
    rx.start()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as again:
            delivered = again.flush(timeout=20)
            with sqlite3.connect(store_path) as conn:
                holders = conn.execute("SELECT holder, count(*) FROM outbox GROUP BY 1").fetchall()
            conn.close()
            assert delivered, (holders, holder())
        sent = {a["eval.sample_id"] for _, _, name, a in rx.spans() if name == RESULT}
        assert len(sent) == 100
    finally:
        rx.stop()


def test_only_a_holder_known_to_be_gone_loses_its_leases() -> None:
    """Same host and boot: a dead pid, or a reused one, is gone; this process, another host,
    or an unreadable holder are not."""
    me = holder()
    host, boot, pid, started = me.split("|")
    assert not is_gone(me)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert is_gone("|".join((host, boot, dead, "1")))
    assert is_gone("|".join((host, boot, pid, str(int(started) + 1))))  # the pid reused
    assert is_gone("|".join((host, "another-boot", pid, started)))
    assert not is_gone("|".join(("another-host", boot, dead, "1")))
    assert not is_gone("garbage")
