"""App trace <-> evaluation, both ways: each row links its own request, and from a request's
trace id every evaluation of it is found again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.cli import main

from .support.spans import logged_spans

TRACES = [f"{i:032x}" for i in (0xA1, 0xB2, 0xC3)]
SPANS = [f"{i:016x}" for i in (0x11, 0x22, 0x33)]


def _row(i: int) -> dict[str, str]:
    return {"id": f"q{i}", "traceparent": f"00-{TRACES[i]}-{SPANS[i]}-01"}


def test_each_row_links_its_own_request(store_path: Path, memory: InMemorySpanExporter) -> None:
    """A batch's rows carry their own traceparent: every result span links its row's span."""
    with Tracker("p", store=store_path, exporters=[memory]) as tracker:
        asyncio.run(
            tracker.log_batch(
                [{"m": i} for i in range(3)], "qa", [_row(i) for i in range(3)], run_id="r"
            )
        )
        rows = tracker.get_run_results("r")
    assert [r["link"] for r in rows] == [
        {"trace_id": TRACES[i], "span_id": SPANS[i]} for i in range(3)
    ]
    results = [s for s in logged_spans(memory) if s.name == "evaltrace.result"]
    assert [
        [(f"{ln.context.trace_id:032x}", f"{ln.context.span_id:016x}") for ln in s.links]
        for s in results
    ] == [[(TRACES[i], SPANS[i])] for i in range(3)]
    assert [s.attributes["eval.link.trace_id"] for s in results] == TRACES  # type: ignore[index]


def test_a_call_link_reaches_every_result_span(
    store_path: Path, memory: InMemorySpanExporter
) -> None:
    """log_context's traceparent links each result of a batch, not only the batch root."""

    async def run(tracker: Tracker) -> None:
        await tracker.log_context(traceparent=f"00-{TRACES[0]}-{SPANS[0]}-01")
        await tracker.log_batch([{"m": 1}, {"m": 2}], "qa", [{"id": 1}, {"id": 2}], run_id="r")

    with Tracker("p", store=store_path, exporters=[memory]) as tracker:
        asyncio.run(run(tracker))
    spans = logged_spans(memory)
    assert len(spans) == 3 and all(len(s.links) == 1 for s in spans)


def test_from_an_app_trace_to_its_evaluations(store_path: Path) -> None:
    """get_linked_results finds every run's evaluations of one request, and of one span."""
    with Tracker("p", store=store_path) as tracker:
        tracker.log_batch_sync([{"m": 0}, {"m": 1}], "qa", [_row(0), _row(1)], run_id="a")
        tracker.log({"m": 9}, "qa", _row(0), run_id="b")
        found = tracker.get_linked_results(TRACES[0])
        assert [(r["run_id"], r["evaluation_result"]) for r in found] == [
            ("a", {"m": 0}),
            ("b", {"m": 9}),
        ]
        assert tracker.get_linked_results(TRACES[1].upper(), SPANS[1]) == [
            r for r in tracker.get_run_results("a") if r["sample_id"] == "q1"
        ]
        assert tracker.get_linked_results(TRACES[1], SPANS[0]) == []
    done = CliRunner().invoke(main, ["linked", TRACES[0], "--store", str(store_path), "--json"])
    assert done.exit_code == 0 and done.output.count("\n") == 2


def test_the_memory_adapter_finds_linked_results_too() -> None:
    """Users' tests can look evaluations up by app trace without a store."""
    memory = InMemorySpanExporter()
    with Tracker("p", store=False, exporters=[memory]) as tracker:
        tracker.log({"m": 1}, "qa", _row(2), run_id="r")
    (row,) = evaltrace.InMemoryQueryAdapter(memory).linked_results(TRACES[2])
    assert row["link"] == {"trace_id": TRACES[2], "span_id": SPANS[2]}


def test_a_bad_traceparent_in_a_row_names_the_row(store_path: Path) -> None:
    """An unparsable traceparent is refused, naming the field and row; nothing stored."""
    with Tracker("p", store=store_path) as tracker:
        refused = r"data\.traceparent \(row 1\): not a W3C traceparent"
        with pytest.raises(evaltrace.InvalidInputError, match=refused):
            tracker.log_batch_sync(
                [{"m": 1}] * 2, "qa", [_row(0), {"traceparent": "nope"}], run_id="r"
            )
        assert tracker.get_run_results("r") == []
