"""Content capture: what text leaves the process, checked on the OTLP bytes received."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker

from .support.otlp_receiver import Receiver, receiver

SECRET_Q = "What is the patient's diagnosis, Mrs Dalloway?"
SECRET_WHY = "The answer quotes the private chart verbatim"
RESULT = {"judge": {"score": 0.25, "success": False, "label": "bad", "explanation": SECRET_WHY}}
ROW = {"id": "case-7", "question": SECRET_Q, "answer": "flu"}


def _log(tracker: Tracker) -> str:
    run_id = tracker.log(RESULT, "qa", ROW, run_id="cap")
    tracker.log_batch_sync([RESULT, RESULT], "qa", [ROW, {**ROW, "id": "case-8"}], run_id="cap")
    assert tracker.flush(timeout=30)
    return run_id


def _sent(rx: Receiver) -> bytes:
    return b"".join(rx.bodies)


def _stored(store: Path) -> bytes:
    with sqlite3.connect(store) as conn:
        return "".join(r + d for r, d in conn.execute("SELECT result, data FROM results")).encode()


def test_all_sends_everything(store_path: Path) -> None:
    """The default: the text travels (the user's choice to make otherwise)."""
    with receiver() as rx, Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        _log(tracker)
    assert SECRET_Q.encode() in _sent(rx) and SECRET_WHY.encode() in _sent(rx)


def test_local_keeps_text_in_the_store_only(store_path: Path) -> None:
    """local: nothing of the text in any OTLP byte; the store keeps it; scores, labels,
    booleans, ids and metric names still travel, and runs still pair by sample id."""
    with (
        receiver() as rx,
        Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, capture_content="local"
        ) as tracker,
    ):
        _log(tracker)
        (first, *_) = tracker.get_run_results("cap")
    sent = _sent(rx)
    assert SECRET_Q.encode() not in sent and SECRET_WHY.encode() not in sent
    assert b"Dalloway" not in sent and b"verbatim" not in sent
    for kept in (b"eval.metric.judge.score", b"case-7", b"gen_ai.evaluation.result", b"bad"):
        assert kept in sent
    assert first["data"] == ROW and first["evaluation_result"] == RESULT
    spans = [a for _, _, name, a in rx.spans() if name == "evaltrace.result"]
    assert {a["eval.sample_id"] for a in spans} == {"case-7", "case-8"}
    assert all(a["eval.metric.judge.score"] == 0.25 for a in spans)
    assert SECRET_Q.encode() in _stored(store_path)


def test_local_also_holds_for_spans_resent_from_the_store(store_path: Path) -> None:
    """A trace re-sent from the outbox (after an outage) is masked the same way."""
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint, capture_content="local") as t:
        t.log(RESULT, "qa", ROW, run_id="cap")
        t.close(timeout=0.2)
    rx.start()
    try:
        with Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, capture_content="local"
        ) as t:
            assert t.flush(timeout=30) and t.stats.spans_resent == 1
        assert SECRET_Q.encode() not in _sent(rx) and b"case-7" in _sent(rx)
    finally:
        rx.stop()


def test_none_keeps_no_text_anywhere(store_path: Path) -> None:
    """none: neither the OTLP bytes nor the store's file hold the text."""
    with (
        receiver() as rx,
        Tracker(
            "p", store=store_path, otlp_endpoint=rx.endpoint, capture_content="none"
        ) as tracker,
    ):
        _log(tracker)
        (first, *_) = tracker.get_run_results("cap")
    for place in (_sent(rx), store_path.read_bytes(), _stored(store_path)):
        assert SECRET_Q.encode() not in place and SECRET_WHY.encode() not in place
    assert first["data"]["id"] == "case-7" and first["data"]["question"].startswith("<sha256:")
    assert first["evaluation_result"]["judge"]["score"] == 0.25


def test_the_genai_variable_saying_no_content_means_local(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=false is honoured."""
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "false")
    with receiver() as rx, Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        _log(tracker)
    assert SECRET_Q.encode() not in _sent(rx)
    assert SECRET_Q.encode() in _stored(store_path)


def test_redact_runs_before_anything_is_stored_or_sent(store_path: Path) -> None:
    """A redact hook masks what it is given, everywhere."""

    def redact(field: str, value: Any) -> Any:
        if field == "data":
            return {**value, "question": "[masked]"}
        if field == "metadata":
            return {k: v for k, v in value.items() if k != "api_key"}
        return value

    with (
        receiver() as rx,
        Tracker("p", store=store_path, otlp_endpoint=rx.endpoint, redact=redact) as tracker,
    ):
        tracker.log(RESULT, "qa", ROW, run_id="cap", metadata={"api_key": "sk-live-1", "m": 1})
        assert tracker.flush(timeout=30)
        (row,) = tracker.get_run_results("cap")
    assert row["data"]["question"] == "[masked]" and row["metadata"] == {"m": 1}
    for place in (_sent(rx), store_path.read_bytes()):
        assert SECRET_Q.encode() not in place and b"sk-live-1" not in place


def test_an_unknown_capture_mode_is_refused(store_path: Path) -> None:
    """A typo in the mode is a configuration error, not a silent default."""
    with pytest.raises(evaltrace.ConfigurationError, match="capture_content='locla'"):
        Tracker("p", store=store_path, capture_content="locla")
