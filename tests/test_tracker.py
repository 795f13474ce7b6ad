"""Logging: spans, run ids, batches, bad input."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pydantic
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker

from .support.spans import logged_spans

NESTED = {
    "generation": {"score": 1, "completeness": {"score": 3, "explanation": "ok", "success": True}}
}


def test_log_becomes_one_span_with_typed_metric_attributes(
    tracker: Tracker, memory: InMemorySpanExporter
) -> None:
    """A logged result is one root span whose flat metric attributes are queryable doubles."""
    run_id = tracker.log(NESTED, "qa", {"question": "q?"}, metadata={"model": "m1"})
    tracker.flush()
    (span,) = logged_spans(memory)
    attrs = span.attributes or {}
    assert span.name == "evaltrace.result" and span.parent is None
    assert attrs["eval.metric.generation.completeness.score"] == 3.0
    assert isinstance(attrs["eval.metric.generation.score"], float)
    assert attrs["eval.metric.generation.completeness.success"] is True
    assert attrs["eval.run_id"] == run_id and attrs["eval.project"] == "proj"
    names = [e.attributes["gen_ai.evaluation.name"] for e in span.events if e.attributes]
    assert {e.name for e in span.events} == {"gen_ai.evaluation.result"}
    assert names == ["generation", "generation.completeness"]
    assert span.resource.attributes["service.name"] == "evaltrace"


def test_generated_run_id_is_stable_per_dataset(tracker: Tracker) -> None:
    """Without run_id, one id in gllm-evals' form is reused for every result of that dataset."""
    first = tracker.log({"m": 1}, "qa", {"q": 1})
    second = tracker.log({"m": 2}, "qa", {"q": 2})
    other = tracker.log({"m": 3}, "other", {"q": 3})
    assert first == second != other
    assert re.fullmatch(r"proj_qa_[0-9a-f]{8}", first)
    assert [r["evaluation_result"]["m"] for r in tracker.get_run_results(first)] == [1, 2]


def test_alog_and_log_batch(tracker: Tracker) -> None:
    """alog and log_batch land in the same run, in logging order, with full result fields."""

    async def go() -> str:
        run = await tracker.alog({"m": 0}, "qa", {"id": "s0"}, run_id="r1")
        await tracker.log_batch(
            [{"m": i} for i in range(1, 4)],
            "qa",
            [{"id": f"s{i}"} for i in range(1, 4)],
            run_id=run,
        )
        return run

    run_id = asyncio.run(go())
    rows = tracker.get_run_results(run_id)
    assert [r["evaluation_result"]["m"] for r in rows] == [0, 1, 2, 3]
    assert [r["sample_id"] for r in rows] == ["s0", "s1", "s2", "s3"]
    for key in (
        "run_id",
        "dataset_name",
        "evaluation_result",
        "data",
        "metadata",
        "context",
        "timestamp",
        "trace_id",
        "span_id",
    ):
        assert key in rows[0]


def test_batch_spans_are_chunked_into_traces(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch becomes traces of at most EVALTRACE_RESULTS_PER_TRACE results under a batch span."""
    monkeypatch.setenv("EVALTRACE_RESULTS_PER_TRACE", "4")
    memory = InMemorySpanExporter()
    with Tracker("proj", store=store_path, exporters=[memory]) as tracker:
        tracker.log_batch_sync([{"m": i} for i in range(10)], "qa", [{"i": i} for i in range(10)])
        tracker.flush()
        spans = logged_spans(memory)
    roots = [s for s in spans if s.name == "evaltrace.batch"]
    assert [r.attributes["eval.batch.chunk.size"] for r in roots if r.attributes] == [4, 4, 2]
    results = [s for s in spans if s.name == "evaltrace.result"]
    assert len(results) == 10
    by_trace: dict[int, int] = {}
    for s in results:
        assert s.parent is not None
        by_trace[s.context.trace_id] = by_trace.get(s.context.trace_id, 0) + 1
    assert sorted(by_trace.values()) == [2, 4, 4]


def test_big_batch_is_stored_whole_whatever_the_queue(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch far larger than the span queue is committed whole before the call returns."""
    monkeypatch.setenv("EVALTRACE_QUEUE_SIZE", "64")
    with Tracker("proj", store=store_path) as tracker:
        run_id = tracker.log_batch_sync(
            [{"m": i} for i in range(3000)], "qa", [{"i": i} for i in range(3000)]
        )
        assert tracker.stats.results_stored == 3000
        rows = evaltrace.SQLiteQueryAdapter(store_path).run_results(run_id)  # another reader
    assert [r["evaluation_result"]["m"] for r in rows] == list(range(3000))


class Output(pydantic.BaseModel):
    """A gllm-evals-like pydantic output."""

    score: float
    explanation: str


@dataclasses.dataclass
class Case:
    """A dataclass test case."""

    question: str
    expected: str


def test_pydantic_and_dataclass_inputs(tracker: Tracker) -> None:
    """Pydantic models and dataclasses are stored as their plain dumps."""
    run_id = tracker.log({"judge": Output(score=0.5, explanation="e")}, "qa", Case("q", "a"))
    (row,) = tracker.get_run_results(run_id)
    assert row["evaluation_result"] == {"judge": {"score": 0.5, "explanation": "e"}}
    assert row["data"] == {"question": "q", "expected": "a"}


def test_row_grouped_batch_keeps_each_rows_list(tracker: Tracker) -> None:
    """Row-grouped results (gllm-evals 0.1.x) come back as each row's list; metrics merge."""
    results = [
        [{"geval": {"score": 0.5}}, {"ragas": {"score": 1}}],
        [{"geval": {"score": 0.1}}, {"ragas": {"score": 0}}],
    ]
    run_id = tracker.log_batch_sync(results, "qa", [{"id": 1}, {"id": 2}])
    rows = tracker.get_run_results(run_id)
    assert [r["evaluation_result"] for r in rows] == results
    (run,) = tracker.get_experiment_history()
    assert run["metrics"]["geval.score"]["mean"] == pytest.approx(0.3)
    assert run["metrics"]["ragas.score"]["max"] == 1.0


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda t: t.log([1], "qa", {}), TypeError, "evaluation_result"),
        (lambda t: t.log({"m": 1}, 3, {}), TypeError, "dataset_name"),
        (lambda t: t.log({"m": object()}, "qa", {}), TypeError, "evaluation_result.m"),
        (lambda t: t.log({"m": {1: "x"}}, "qa", {}), TypeError, "evaluation_result.m[1]"),
        (lambda t: t.log({"m": "\ud800"}, "qa", {}), ValueError, "evaluation_result.m"),
        (lambda t: t.log({"m": 1}, "qa", {}, metadata=[1]), TypeError, "metadata"),
        (lambda t: t.log_batch_sync([], "qa", []), ValueError, "empty"),
        (lambda t: t.log_batch_sync([{"m": 1}], "qa", [{}, {}]), ValueError, "lengths must match"),
        (lambda t: t.log_batch_sync([{"m": 1}, 5], "qa", [{}, {}]), TypeError, "row 1"),
        (
            lambda t: t.log_batch_sync([{"m": 1}, {"m": 2}], "qa", [{}, "x"]),
            TypeError,
            "data (row 1)",
        ),
    ],
)
def test_bad_input_names_the_field(
    tracker: Tracker, call: Any, error: type[Exception], message: str
) -> None:
    """Bad input raises TypeError/ValueError naming the field (and row)."""
    with pytest.raises(error, match=re.escape(message)):
        call(tracker)


def test_rejected_batch_stores_nothing(tracker: Tracker, memory: InMemorySpanExporter) -> None:
    """A batch with one bad row in the middle emits no span at all."""
    results: list[Any] = [{"m": i} for i in range(100)]
    results[57] = {"m": object()}
    with pytest.raises(TypeError, match=r"evaluation_result\.m \(row 57\)"):
        tracker.log_batch_sync(results, "qa", [{"i": i} for i in range(100)], run_id="bad")
    tracker.flush()
    assert logged_spans(memory) == ()
    assert tracker.get_run_results("bad") == []


def test_attribute_cap_is_counted_not_silent(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the metric-attribute cap, flat attributes are omitted and counted; ids survive."""
    monkeypatch.setenv("EVALTRACE_MAX_METRIC_ATTRIBUTES", "10")
    memory = InMemorySpanExporter()
    result = {f"m{i:03}": float(i) for i in range(300)}
    with Tracker("proj", store=store_path, exporters=[memory]) as tracker:
        run_id = tracker.log(result, "qa", {"q": 1})
        (row,) = tracker.get_run_results(run_id)
        assert tracker.stats.metric_attributes_omitted == 290
    (span,) = logged_spans(memory)
    attrs = span.attributes or {}
    assert sum(k.startswith("eval.metric.") for k in attrs) == 10
    assert attrs["eval.omitted.metric_attributes"] == 290
    assert attrs["eval.run_id"] == run_id
    assert row["evaluation_result"] == result


def test_small_user_provider_limit_evicts_metrics_first(tmp_path: Path) -> None:
    """With an app provider capped at 20 attributes, identifiers survive and the loss is counted."""
    from opentelemetry.sdk.trace import SpanLimits

    memory = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=20))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    adapter = evaltrace.InMemoryQueryAdapter(memory)
    tracker = Tracker("proj", tracer_provider=provider, query=adapter)
    run_id = tracker.log({f"m{i}": i for i in range(40)}, "qa", {"q": 1})
    (row,) = tracker.get_run_results(run_id)
    assert row["evaluation_result"]["m39"] == 39
    (span,) = logged_spans(memory)
    assert (span.attributes or {})["eval.run_id"] == run_id
    assert tracker.stats.metric_attributes_omitted == 40
    assert tracker.stats.attributes_dropped_by_sdk == 0


def test_user_provider_is_used_and_global_untouched(tmp_path: Path) -> None:
    """The tracker never installs a global provider; a given provider receives the spans."""
    from opentelemetry import trace

    before = trace.get_tracer_provider()
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracker = Tracker(
        "proj", tracer_provider=provider, query=evaltrace.InMemoryQueryAdapter(memory)
    )
    tracker.log({"m": 1}, "qa", {"q": 1})
    assert len(logged_spans(memory)) == 1
    assert trace.get_tracer_provider() is before
    assert not (tmp_path / ".evaltrace").exists()


def test_reader_only_tracker_creates_no_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tracker given only query= reads without creating a local store."""
    monkeypatch.chdir(tmp_path)
    Tracker("proj", query=evaltrace.InMemoryQueryAdapter(InMemorySpanExporter())).close()
    assert not (tmp_path / ".evaltrace").exists()


def test_default_store_path_and_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No configuration writes ./.evaltrace/evaltrace.db; EVALTRACE_STORE overrides it."""
    monkeypatch.chdir(tmp_path)
    with Tracker("proj") as tracker:
        tracker.log({"m": 1}, "qa", {"q": 1})
    assert (tmp_path / ".evaltrace" / "evaltrace.db").exists()
    monkeypatch.setenv("EVALTRACE_STORE", str(tmp_path / "elsewhere.db"))
    with Tracker("proj") as tracker:
        tracker.log({"m": 1}, "qa", {"q": 1})
    assert (tmp_path / "elsewhere.db").exists()


def test_closed_tracker_refuses_to_log(store_path: Path) -> None:
    """Logging after close() raises instead of dropping the result; close() is idempotent."""
    tracker = Tracker("proj", store=store_path)
    tracker.close()
    tracker.close()
    with pytest.raises(evaltrace.TrackerClosedError, match="closed"):
        tracker.log({"m": 1}, "qa", {"q": 1})


def test_export_failures_are_counted(store_path: Path) -> None:
    """A span exporter that refuses spans shows up in stats, not only in a log line."""
    from collections.abc import Sequence

    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Refusing(SpanExporter):
        """Refuses every batch, like an unreachable OTLP endpoint."""

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.FAILURE

    with Tracker("proj", store=store_path, exporters=[Refusing()]) as tracker:
        tracker.log_batch_sync([{"m": i} for i in range(5)], "qa", [{"i": i} for i in range(5)])
        tracker.flush()
        # 5 results + the batch span, and the run's summary flush() sent
        assert tracker.stats.spans_failed_to_export == 7


def _shape(span: Any) -> tuple[Any, ...]:
    """What an exporter sees of a span, ids and the resource aside."""
    return (
        span.name,
        dict(span.attributes or {}),
        [(e.name, dict(e.attributes or {}), e.timestamp - span.start_time) for e in span.events],
        [(link.context.trace_id, link.context.span_id) for link in span.links],
        span.end_time - span.start_time,
        span.kind,
        span.status.status_code,
        span.instrumentation_scope.name if span.instrumentation_scope else None,
        span.parent is None,
    )


@pytest.mark.parametrize("batch", [False, True])
def test_own_provider_spans_equal_the_sdk_spans_of_an_app_provider(batch: bool) -> None:
    """The tracker's own provider makes finished spans directly (no processor to see them);
    they carry exactly what the SDK's spans carry through an application's provider."""
    direct_memory, app_memory = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(app_memory))
    direct = Tracker("proj", store=False, exporters=[direct_memory])
    app = Tracker("proj", tracer_provider=provider)
    results = [NESTED, {"m": 0.5, "ok": True, "label": "x"}, {"m": [1, 2]}]
    rows = [
        {"question": f"q{i}", "traceparent": f"00-{'a' * 31}{i}-{'b' * 16}-01"} for i in range(3)
    ]
    for tracker in (direct, app):
        if batch:
            tracker.log_batch_sync(results, "qa", rows, run_id="r", metadata={"k": 1})
        else:
            for result, row in zip(results, rows, strict=True):
                tracker.log(result, "qa", row, run_id="r", metadata={"k": 1})
        tracker.close()

    def shapes(memory: InMemorySpanExporter) -> list[tuple[Any, ...]]:
        out = []
        for span in logged_spans(memory):
            shape = _shape(span)
            attrs = dict(shape[1])
            for generated in ("eval.seq", "eval.batch.id", "eval.writer"):  # per tracker
                attrs.pop(generated, None)
            if "eval.record" in attrs:  # it holds both: compare the rest of it
                record = json.loads(attrs["eval.record"])
                attrs["eval.record"] = record[:2] + record[3:9] + record[10:]
            duration = shape[4] if shape[0] == "evaltrace.result" else None  # a root: timing
            out.append((shape[0], attrs, shape[2], shape[3], duration, *shape[5:]))
        return sorted(out, key=repr)

    direct_spans, app_spans = logged_spans(direct_memory), logged_spans(app_memory)
    assert len(direct_spans) == len(app_spans) == (4 if batch else 3)
    assert shapes(direct_memory) == shapes(app_memory)
    for spans in (direct_spans, app_spans):  # children share their root's trace
        roots = {s.context.span_id: s for s in spans if s.parent is None}
        for span in spans:
            if span.parent is not None:
                assert span.parent.span_id in roots
                assert span.context.trace_id == roots[span.parent.span_id].context.trace_id
    assert all(s.context.trace_flags.sampled for s in direct_spans)


def test_an_application_sampler_loses_no_result_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Spans an application's sampler does not record never reach its processors; the store
    and ``exporters=`` still get every span, as recorded copies, counted and warned once."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    app_memory, own_memory = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider(sampler=ALWAYS_OFF)
    provider.add_span_processor(SimpleSpanProcessor(app_memory))
    tracker = Tracker(
        "proj", tracer_provider=provider, store=tmp_path / "s.db", exporters=[own_memory]
    )
    with caplog.at_level("WARNING", logger="evaltrace"):
        for i in range(3):
            tracker.log({"m": i}, "qa", {"q": i}, run_id="r")
        tracker.log_batch_sync(
            [{"m": 10 + i} for i in range(5)], "qa", [{"q": i} for i in range(5)], run_id="r"
        )
    assert app_memory.get_finished_spans() == ()
    spans = logged_spans(own_memory)
    assert len(spans) == 3 + 1 + 5
    assert all(s.context.trace_flags.sampled and s.end_time for s in spans)
    root = next(s for s in spans if s.name == "evaltrace.batch")
    children = [s for s in spans if s.parent is not None]
    assert len(children) == 5
    assert all(s.parent.span_id == root.context.span_id for s in children)  # type: ignore[union-attr]
    assert all(s.context.trace_id == root.context.trace_id for s in children)
    results = tracker.get_run_results("r")
    assert [r["evaluation_result"]["m"] for r in results] == [0, 1, 2, 10, 11, 12, 13, 14]
    assert {r["span_id"] for r in results} == {
        f"{s.context.span_id:016x}" for s in spans if s.name == "evaltrace.result"
    }
    assert tracker.stats.spans_sampled_out == 9
    warned = [r for r in caplog.records if "sampler" in r.getMessage()]
    assert len(warned) == 1 and "AlwaysOffSampler" in warned[0].getMessage()
    tracker.close()


def test_a_sampler_that_leaves_no_destination_is_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through an application's provider alone, a sampled-out result reaches no backend:
    that is logged as an error and counted, never silent."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    tracker = Tracker("proj", tracer_provider=TracerProvider(sampler=ALWAYS_OFF))
    with caplog.at_level("WARNING", logger="evaltrace"):
        tracker.log({"m": 1}, "qa", {"q": 1}, run_id="r")
    assert tracker.stats.spans_sampled_out == 1
    (error,) = [r for r in caplog.records if "sampler" in r.getMessage()]
    assert error.levelname == "ERROR" and "reach no backend" in error.getMessage()
    tracker.close()


def test_a_ratio_sampler_splits_spans_and_keeps_traces_whole() -> None:
    """Every span is either recorded by the application's provider or counted as sampled out,
    a batch trace wholly one or the other, and ``exporters=`` get them all."""
    from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

    app_memory, own_memory = InMemorySpanExporter(), InMemorySpanExporter()
    provider = TracerProvider(sampler=TraceIdRatioBased(0.5))
    provider.add_span_processor(SimpleSpanProcessor(app_memory))
    tracker = Tracker("proj", tracer_provider=provider, exporters=[own_memory])
    tracker.log_batch_sync(
        [{"m": i} for i in range(40)], "qa", [{"q": i} for i in range(40)], run_id="r"
    )
    for i in range(40):
        tracker.log({"m": i}, "qa", {"q": i}, run_id="r")
    app, own = logged_spans(app_memory), logged_spans(own_memory)
    assert len(own) == tracker.stats.spans_emitted == 1 + 40 + 40  # a root, 40 children, 40 logs
    assert len(app) + tracker.stats.spans_sampled_out == len(own)
    assert {s.context.span_id for s in app} <= {s.context.span_id for s in own}
    recorded = {s.context.trace_id for s in app}
    for span in own:  # a trace is recorded whole or not at all
        assert (span.context.trace_id in recorded) == any(
            s.context.span_id == span.context.span_id for s in app
        )
    tracker.close()
