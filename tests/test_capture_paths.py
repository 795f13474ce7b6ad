"""The capture mode belongs to the committed record: every delivery path masks by it.

Each test checks the OTLP bytes a real receiver got: the tracker's own send, a re-send from
the outbox by a new tracker of the default mode, ``evaltrace sync``, and a spool re-sent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace._plan import CapturePolicy, plan_call
from evaltrace._spans import FinishedSpanMaker, Rebuilder, emit
from evaltrace.cli import main
from evaltrace.schema._walk import Limits
from evaltrace.store import StoredTrace

from .support.old_stores import as_version_4_layout
from .support.otlp_receiver import Receiver

SECRETS = {
    "result": "Explanation quoting the chart of Mrs Dalloway",
    "data": "What is the diagnosis of patient Septimus?",
    "metadata": "prompt template: you are Dr Bradshaw",
    "context": "user said: Clarissa buys the flowers",
}
RESULT = {"judge": {"score": 0.5, "label": "ok", "explanation": SECRETS["result"]}}
ROW = {"id": "case-1", "question": SECRETS["data"]}
MODES = ("all", "local", "none")
PATHS = ("direct", "resend", "sync", "spool")


def _log(tracker: Tracker) -> None:
    with tracker.context(note=SECRETS["context"]):
        tracker.log(RESULT, "qa", ROW, run_id="r", metadata={"template": SECRETS["metadata"]})
        tracker.log_batch_sync([RESULT] * 2, "qa", [ROW, {**ROW, "id": "case-2"}], run_id="r")


def _deliver(path: str, mode: str, tmp_path: Path, rx: Receiver) -> Path:
    """Log under ``mode`` and deliver by ``path``; the file that holds the text locally."""
    store = tmp_path / "s.db"
    if path == "direct":
        with Tracker("p", store=store, otlp_endpoint=rx.endpoint, capture_content=mode) as t:
            _log(t)
            assert t.flush(timeout=30)
        return store
    rx.stop()
    spool = tmp_path / "spool.db"
    where = {"store": False, "spool": spool} if path == "spool" else {"store": store}
    with Tracker("p", otlp_endpoint=rx.endpoint, capture_content=mode, **where) as t:  # type: ignore[arg-type]
        _log(t)
        t.close(timeout=0.2)
    rx.start()
    if path == "sync":
        done = CliRunner().invoke(main, ["sync", "--store", str(store), "--endpoint", rx.endpoint])
        assert done.exit_code == 0 and "5 spans delivered" in done.output, done.output
    else:  # a tracker of the default mode ("all") on the same file sends the backlog
        with Tracker("p", otlp_endpoint=rx.endpoint, **where) as again:  # type: ignore[arg-type]
            assert again.flush(timeout=30) and again.stats.spans_resent > 0
    return spool if path == "spool" else store


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("mode", MODES)
def test_any_mode_on_any_delivery_path_sends_only_what_it_allows(
    mode: str, path: str, tmp_path: Path
) -> None:
    """local/none: no secret in any OTLP byte, however delivered; all: every secret arrives."""
    rx = Receiver()
    try:
        local = _deliver(path, mode, tmp_path, rx)
        sent = b"".join(rx.bodies)
    finally:
        rx.stop()
    assert b"case-1" in sent and b"case-2" in sent and b"eval.metric.judge.score" in sent
    for field, secret in SECRETS.items():
        assert (secret.encode() in sent) == (mode == "all"), (field, path)
    if mode == "none" and path != "spool":  # nor anywhere in the store's file
        with sqlite3.connect(local) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert not any(s.encode() in local.read_bytes() for s in SECRETS.values())


def test_a_call_stored_before_modes_were_kept_is_resent_masked(tmp_path: Path) -> None:
    """A version 4 store's pending call has no mode: it is re-sent masked (as local)."""
    store = tmp_path / "s.db"
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store, otlp_endpoint=rx.endpoint, capture_content="local") as t:
        _log(t)
        t.close(timeout=0.2)
    as_version_4_layout(store)
    rx.start()
    try:
        with Tracker("p", store=store, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30) and again.stats.spans_resent > 0
        sent = b"".join(rx.bodies)
    finally:
        rx.stop()
    assert b"case-1" in sent and not any(s.encode() in sent for s in SECRETS.values())
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT value FROM evaltrace_meta WHERE key='version'").fetchone() == (
            "6",
        )
        assert {c for (c,) in conn.execute("SELECT DISTINCT capture FROM calls")} == {None}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(),
    mode=st.sampled_from(("local", "none")),
    batch=st.booleans(),
    where=st.sampled_from(("result", "data", "metadata", "context", "nested")),
)
def test_no_text_survives_masking_on_first_send_or_rebuild(
    text: str, mode: str, batch: bool, where: str
) -> None:
    """Any string, in any field, under local/none: neither the live spans nor the spans
    rebuilt from the stored record carry any of it."""
    from evaltrace._codec import dumps

    secret = "SECRET-" + text
    result = {"m": {"score": 1.0, "explanation": secret if where == "result" else "x"}}
    data = {"id": "k", "q": secret if where == "data" else "y"}
    if where == "nested":
        data["deep"] = [{"a": [secret]}]  # type: ignore[assignment]
    metadata = {"t": secret if where == "metadata" else "z"}
    context = dumps({"c": secret if where == "context" else "w"}, "context", None)
    plan = plan_call(
        project_name="p",
        run_id="r",
        dataset_name="d",
        results=[result, result] if batch else [result],
        data=[data, data] if batch else [data],
        metadata=metadata,
        context_json=context,
        link=None,
        batch_id="b" if batch else None,
        limits=Limits(),
        content=CapturePolicy(mode),
    )
    out = emit(FinishedSpanMaker(_resource()), plan, chunk=512, resource_json="{}")
    spans = [s for trace in out.traces.values() for s in trace]
    stored = StoredTrace(0, 0, out.call, out.results, out.roots[0] if out.roots else None)
    spans += Rebuilder(Limits())(stored)
    assert len(spans) == (6 if batch else 2)
    for span in spans:
        texts = [str(v) for v in (span.attributes or {}).values()]
        texts += [str(v) for e in span.events for v in (e.attributes or {}).values()]
        assert not any("SECRET-" in t for t in texts), (span.name, where)


def _resource():  # type: ignore[no-untyped-def]
    from opentelemetry.sdk.resources import Resource

    return Resource({})
