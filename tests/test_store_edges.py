"""Stores at their edges: nothing kept silently, a store is never taken for a spool, readers
never read part of a store nor leave files behind, a read-only store still reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.query import InMemoryQueryAdapter


def test_a_tracker_that_would_keep_nothing_is_refused_naming_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EVALTRACE_STORE=off and no endpoint: construction fails, naming the variables."""
    monkeypatch.setenv("EVALTRACE_STORE", "off")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPIONT", "http://localhost:4318")  # misspelt
    with pytest.raises(evaltrace.ConfigurationError) as caught:
        Tracker("proj")
    for name in ("EVALTRACE_STORE", "OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"):
        assert name in str(caught.value)


def test_a_reading_tracker_refuses_to_log_instead_of_dropping() -> None:
    """query= without store=: reads work, log() raises instead of keeping nothing."""
    with Tracker("proj", query=InMemoryQueryAdapter(InMemorySpanExporter())) as reader:
        assert reader.get_run_results("nothing") == []
        with pytest.raises(evaltrace.ConfigurationError, match="only reads"):
            reader.log({"m": 1}, "ds", {"q": 1})
