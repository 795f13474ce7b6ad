"""The outbox: committed spans reach the collector at least once, and are counted until then.

The receiver is a real OTLP/HTTP endpoint on loopback (tests/support/otlp_receiver.py) that can
be taken down and brought back, so every byte the tracker sends can be inspected.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.cli import main

from .support.old_stores import as_version_2_layout
from .support.otlp_receiver import Receiver, receiver
from .support.wait import wait_for


def _results(rx: Receiver) -> set[tuple[str, str]]:
    return {(t, s) for t, s, name, _ in rx.spans() if name == "evaltrace.result"}


def _outbox(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        (count,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
    return int(count)


def test_delivered_spans_leave_the_outbox(store_path: Path) -> None:
    """Once the collector acknowledged them, nothing is pending and the outbox is empty."""
    with receiver() as rx, Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        tracker.log_batch_sync([{"m": i} for i in range(30)], "qa", [{"id": i} for i in range(30)])
        tracker.log({"m": 1}, "qa", {"id": "x"})
        assert tracker.flush(timeout=30)
        stats = tracker.stats
        # 30 results, 1 batch root, 1 log(), and the run's summary sent by flush()
        assert (stats.spans_exported, stats.spans_pending, stats.spans_dropped) == (33, 0, {})
        assert len(_results(rx)) == 31
    assert _outbox(store_path) == 0


def test_an_outage_is_retried_until_it_works(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Collector down: spans wait, one error says so; back up: all of them arrive."""
    rx = Receiver()
    rx.stop()
    try:
        with caplog.at_level(logging.ERROR, logger="evaltrace"):
            tracker = Tracker("p", store=store_path, otlp_endpoint=rx.endpoint)
            tracker.log_batch_sync(
                [{"m": i} for i in range(50)], "qa", [{"id": i} for i in range(50)]
            )
            wait_for(lambda: tracker.stats.export_attempts_failed >= 1, 60, "a failed export")
        assert tracker.stats.spans_pending == 51 and tracker.stats.spans_exported == 0
        failures = [r for r in caplog.records if "failed" in r.getMessage()]
        assert len(failures) == 1 and "re-sent with backoff" in failures[0].getMessage()
        rx.start()
        assert tracker.flush(timeout=60)
        assert tracker.stats.spans_pending == 0
        assert len(_results(rx)) == 50
        tracker.close()
    finally:
        rx.stop()


def test_what_is_pending_at_close_is_sent_by_the_next_tracker(store_path: Path) -> None:
    """Closed during an outage: the outbox keeps the spans; the next tracker on the store
    sends them (re-sent from the store, counted as such)."""
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        tracker.log_batch_sync([{"m": i} for i in range(20)], "qa", [{"id": i} for i in range(20)])
        tracker.close(timeout=0.5)
    assert _outbox(store_path) == 1  # one trace
    rx.start()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30)
            assert again.stats.spans_resent == 21
        assert len(_results(rx)) == 20
        assert _outbox(store_path) == 0
        sent = [a for _, _, name, a in rx.spans() if name == "evaltrace.result"]
        assert sorted(a["eval.batch.row"] for a in sent) == list(range(20))  # type: ignore[type-var]
    finally:
        rx.stop()


def test_evaltrace_sync_delivers_the_outbox(store_path: Path) -> None:
    """`evaltrace sync` sends what a finished pipeline left behind, then reports it."""
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        for i in range(5):
            tracker.log({"m": i}, "qa", {"id": i})
        tracker.close(timeout=0.2)
    rx.start()
    try:
        done = CliRunner().invoke(
            main, ["sync", "--store", str(store_path), "--endpoint", rx.endpoint]
        )
        assert done.exit_code == 0, done.output
        # the 5 results, and the run's summary that close() could not deliver either
        assert "6 spans delivered" in done.output and "1 run summaries sent" in done.output
        assert len(_results(rx)) == 5 and _outbox(store_path) == 0
    finally:
        rx.stop()


def test_without_a_store_the_spool_holds_only_what_is_pending(tmp_path: Path) -> None:
    """store=False with an endpoint: a spool file keeps undelivered spans, drops delivered."""
    spool = tmp_path / "spool.db"
    rx = Receiver()
    rx.stop()
    tracker = Tracker("p", store=False, spool=spool, otlp_endpoint=rx.endpoint)
    tracker.log_batch_sync([{"m": i} for i in range(10)], "qa", [{"id": i} for i in range(10)])
    tracker.close(timeout=0.2)
    with sqlite3.connect(spool) as conn:
        assert conn.execute("SELECT count(*) FROM results").fetchone() == (10,)
    rx.start()
    try:
        with Tracker("p", store=False, spool=spool, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30)
        with sqlite3.connect(spool) as conn:
            assert conn.execute("SELECT count(*) FROM results").fetchone() == (0,)
        assert len(_results(rx)) == 10
    finally:
        rx.stop()


def test_memory_only_drops_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """spool=False: nothing survives the process, and what the queue cannot hold is counted."""
    monkeypatch.setenv("EVALTRACE_QUEUE_SIZE", "10")
    rx = Receiver()
    rx.stop()
    tracker = Tracker("p", store=False, spool=False, otlp_endpoint=rx.endpoint)
    for i in range(30):
        tracker.log({"m": i}, "qa", {"id": i})
    stats = tracker.stats
    assert stats.spans_pending <= 10  # the bound holds, whatever is in flight
    assert stats.spans_dropped["queue_full"] + stats.spans_pending == 30
    tracker.close(timeout=0.2)
    dropped = tracker.stats.spans_dropped
    # the 30 results, and the run's summary that close() could not deliver either
    assert dropped["queue_full"] >= 20 and sum(dropped.values()) == 31


def test_the_outbox_is_bounded(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past EVALTRACE_OUTBOX_MAX_SPANS the oldest pending spans are dropped, counted and
    logged; the store keeps their results."""
    monkeypatch.setenv("EVALTRACE_OUTBOX_MAX_SPANS", "5")
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        for i in range(8):
            tracker.log({"m": i}, "qa", {"id": i}, run_id="r")
        tracker.close(timeout=0.2)
    rx.start()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30)
            assert again.stats.spans_dropped == {"outbox_full": 3}
            assert len(again.get_run_results("r")) == 8
        assert len(_results(rx)) == 5
    finally:
        rx.stop()


def test_the_grpc_port_with_the_http_protocol_is_named(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The usual mistake gets a sentence that says what to do."""
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        Tracker("p", store=store_path, otlp_endpoint="http://127.0.0.1:4317").close(timeout=0)
    assert any(
        "4317 is the OTLP/gRPC port; pass otlp_protocol='grpc' or use :4318" in r.getMessage()
        for r in caplog.records
    )


def test_unknown_constructor_arguments_are_warned_once(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A typo (otlp_endpiont) is not silently ignored."""
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        Tracker("p", store=store_path, otlp_endpiont="http://x:4318").close()
        Tracker("p", store=store_path, otlp_endpiont="http://x:4318").close()
    said = [r.getMessage() for r in caplog.records if "otlp_endpiont" in r.getMessage()]
    assert said == [
        "evaltrace: OpenTelemetryExperimentTracker() ignores keyword argument(s) "
        "['otlp_endpiont'] (said once)"
    ]


def test_credentials_in_the_endpoint_are_never_logged(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A password embedded in the endpoint URL does not reach a log line."""
    rx = Receiver()
    rx.stop()
    url = f"http://user:hunter2@127.0.0.1:{rx.port}"
    with (
        caplog.at_level(logging.DEBUG, logger="evaltrace"),
        Tracker("p", store=store_path, otlp_endpoint=url) as tracker,
    ):
        tracker.log({"m": 1}, "qa", {"id": 1})
        tracker.flush(timeout=1)
        tracker.close(timeout=0.2)
    assert caplog.records and not any("hunter2" in r.getMessage() for r in caplog.records)


def test_a_trace_larger_than_one_request_is_split(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1,500-result trace (EVALTRACE_RESULTS_PER_TRACE raised) goes out in several requests
    under the byte limit, every span of it delivered: a request limit is not a trace's size."""
    monkeypatch.setenv("EVALTRACE_RESULTS_PER_TRACE", "2000")
    monkeypatch.setenv("EVALTRACE_OTLP_MAX_REQUEST_BYTES", "200000")
    with receiver() as rx, Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        tracker.log_batch_sync(
            [{"m": i} for i in range(1500)], "qa", [{"id": i} for i in range(1500)]
        )
        assert tracker.flush(timeout=60)
        assert len(rx.bodies) >= 3 and max(len(b) for b in rx.bodies) <= 200_000
        assert len(_results(rx)) == 1500 and len({t for t, _ in _results(rx)}) == 1


def test_the_default_spool_is_one_per_project_and_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes of one project sending to different collectors never share a spool (one
    would forward, and acknowledge, the other's pending spans to the wrong collector)."""
    from evaltrace._config import Settings

    monkeypatch.delenv("EVALTRACE_SPOOL", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))

    def spool(endpoint: str, protocol: str = "grpc") -> str | None:
        return Settings.from_env(
            project_name="p", store=False, otlp_endpoint=endpoint, otlp_protocol=protocol
        ).spool

    a, b = spool("http://127.0.0.1:4317"), spool("http://10.0.0.9:4317")
    assert a and b and a != b
    assert a == spool("http://127.0.0.1:4317")  # the same destination finds its backlog
    assert a != spool("http://127.0.0.1:4317", "http/protobuf")
    assert a.startswith(str(tmp_path / "evaltrace" / "spool" / "p-"))


def test_a_version_2_outbox_is_sent_after_the_upgrade(store_path: Path) -> None:
    """Traces a version 2 store still owed the collector are found by the upgraded layout
    (rowid ranges filled in from v2's span index) and delivered whole."""
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        tracker.log_batch_sync([{"m": i} for i in range(20)], "qa", [{"id": i} for i in range(20)])
        tracker.log({"m": 99}, "qa", {"id": 99})
        tracker.close(timeout=0.5)
    as_version_2_layout(store_path)
    rx.start()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30)
        assert len(_results(rx)) == 21
        assert _outbox(store_path) == 0
    finally:
        rx.stop()


def test_trackers_of_one_store_send_only_their_own_collectors_backlog(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two trackers share a store but not a collector: the second never sends the first's
    pending spans to its own collector (it says they are there, once), and `evaltrace sync`
    delivers them to theirs."""
    first, second = Receiver(), Receiver()
    first.stop()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=first.endpoint) as tracker:
            for i in range(5):
                tracker.log({"m": i}, "qa", {"id": i}, run_id="first")
            tracker.close(timeout=0.2)
        owed = _outbox(store_path)
        assert owed >= 5
        with (
            caplog.at_level(logging.WARNING, logger="evaltrace"),
            Tracker("p", store=store_path, otlp_endpoint=second.endpoint) as tracker,
        ):
            for i in range(3):
                tracker.log({"m": i}, "qa", {"id": i}, run_id="second")
            assert tracker.flush(timeout=30)
            assert tracker.stats.spans_pending == 0
        sent = [a["eval.run_id"] for _, _, name, a in second.spans() if name == "evaltrace.result"]
        assert sent == ["second"] * 3
        assert _outbox(store_path) == owed  # still owed to the first collector
        warned = [r.getMessage() for r in caplog.records if "another collector" in r.getMessage()]
        assert len(warned) == 1 and "evaltrace sync" in warned[0]
        first.start()
        done = CliRunner().invoke(
            main, ["sync", "--store", str(store_path), "--endpoint", first.endpoint]
        )
        assert done.exit_code == 0, done.output
        runs = {a["eval.run_id"] for _, _, name, a in first.spans() if name == "evaltrace.result"}
        assert len(_results(first)) == 5 and runs == {"first"}
        assert _outbox(store_path) == 0
    finally:
        first.stop()
        second.stop()


def test_spans_an_application_sampler_drops_are_still_forwarded(store_path: Path) -> None:
    """Through an application's provider whose sampler records nothing, ``otlp_endpoint``
    still receives every result span, whole (attributes included), and the outbox empties."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    provider = TracerProvider(sampler=ALWAYS_OFF)
    with (
        receiver() as rx,
        Tracker(
            "p", tracer_provider=provider, store=store_path, otlp_endpoint=rx.endpoint
        ) as tracker,
    ):
        tracker.log_batch_sync([{"m": i} for i in range(5)], "qa", [{"id": i} for i in range(5)])
        tracker.log({"m": 9}, "qa", {"id": "x"})
        assert tracker.flush(timeout=30)
        assert tracker.stats.spans_sampled_out == 7  # 5 results, their root, one log()
        results = [a for *_, name, a in rx.spans() if name == "evaltrace.result"]
        assert len(results) == len(_results(rx)) == 6
        scores = sorted(orjson.loads(str(a["eval.result"]))["m"] for a in results)
        assert scores == [0, 1, 2, 3, 4, 9]
    assert _outbox(store_path) == 0
