"""Shared fixtures: trackers on throwaway stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace


@pytest.fixture(autouse=True)
def _spool_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tracker without a store spools under the test's own folder, never in the user's
    cache (and never picks up another test's leftovers)."""
    monkeypatch.setenv("EVALTRACE_SPOOL", str(tmp_path / "spool.db"))


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A fresh embedded-store path."""
    return tmp_path / "store" / "evaltrace.db"


@pytest.fixture
def memory() -> InMemorySpanExporter:
    """An in-memory exporter to inspect the spans themselves."""
    return InMemorySpanExporter()


@pytest.fixture
def tracker(
    store_path: Path, memory: InMemorySpanExporter
) -> Iterator[evaltrace.OpenTelemetryExperimentTracker]:
    """A tracker writing to a temp store, with a copy of every span in memory."""
    with evaltrace.OpenTelemetryExperimentTracker(
        "proj", store=store_path, exporters=[memory]
    ) as t:
        yield t
