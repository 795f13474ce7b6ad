"""Portable runs: `evaltrace export --format otlp` on one store, `evaltrace import FILE` on
another, and the run comes back exactly; files of other services refused; text kept local
stays out of an --as-sent file."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace.cli import main
from evaltrace.delivery._otlp_file import request_lines
from evaltrace.query import HistoryFilter, SQLiteQueryAdapter
from evaltrace.schema._aggregate import encode_aggregates
from evaltrace.store import StoreReader

from .test_roundtrip import rows_data, same, values


def cli(*args: str) -> Any:
    """Run the evaltrace command; its result (exit code, stdout, stderr)."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def export(store: Path, run_id: str, out: Path, *extra: str) -> None:
    result = cli(
        "export", run_id, "--format", "otlp", "-o", str(out), "--store", str(store), *extra
    )
    assert result.exit_code == 0, result.output


def read_back(store: Path, run_id: str) -> tuple[list[Any], list[Any], Any]:
    """The run's results, its history row and its aggregates, as a user reads them."""
    with SQLiteQueryAdapter(str(store)) as reader:
        results = reader.run_results(run_id)
        history = [r for r in reader.history(HistoryFilter()) if r["run_id"] == run_id]
    reader2 = StoreReader(str(store))
    try:
        aggregates = encode_aggregates(reader2.run_aggregates(run_id))
    finally:
        reader2.close()
    return results, history, aggregates


def roots(store: Path) -> list[Any]:
    """The store's batch roots: ids, chunk and times."""
    reader = StoreReader(str(store))
    try:
        return reader._page(
            "SELECT trace_id, span_id, chunk_start, chunk_size, start_ns, end_ns "
            "FROM batch_roots ORDER BY trace_id",
            (),
        )
    finally:
        reader.close()


scores = st.dictionaries(
    st.sampled_from(["faithfulness", "relevance", "judge"]),
    st.fixed_dictionaries(
        {"score": st.floats(allow_nan=False, allow_infinity=False) | st.integers(-5, 5)},
        optional={"success": st.booleans(), "explanation": st.text(max_size=20)},
    ),
    min_size=1,
)
results = st.one_of(scores, st.dictionaries(st.text(max_size=8), values, min_size=1, max_size=4))
calls = st.lists(
    st.tuples(
        st.booleans(),  # a log_batch (else a log)
        st.lists(st.tuples(results, rows_data), min_size=1, max_size=7),
        st.dictionaries(st.text(max_size=8), values, max_size=3),
    ),
    min_size=1,
    max_size=4,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(logged=calls)
def test_any_run_exported_and_imported_reads_back_identically(
    tmp_path_factory: pytest.TempPathFactory, logged: list[Any]
) -> None:
    """Any run (scores, unicode text, nested values, metadata, batches cut into traces) reads
    back from a fresh store that imported its file exactly: results, history row, aggregates."""
    folder = tmp_path_factory.mktemp("portable")
    origin, copy, file = folder / "a.db", folder / "b.db", folder / "run.jsonl"
    run_id = "run-1"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("EVALTRACE_RESULTS_PER_TRACE", "3")  # batches of 4+ rows: several traces
        with evaltrace.OpenTelemetryExperimentTracker("p", store=origin) as tracker:
            for batch, rows, metadata in logged:
                if batch:
                    tracker.log_batch_sync(
                        [r for r, _ in rows], "ds", [d for _, d in rows], run_id, metadata
                    )
                else:
                    for result, data in rows:
                        tracker.log(result, "ds", data, run_id, metadata)
    export(origin, run_id, file)
    imported = cli("import", str(file), "--store", str(copy))
    assert imported.exit_code == 0, imported.output
    assert imported.stdout == f"{run_id}\n"
    want, got = read_back(origin, run_id), read_back(copy, run_id)
    assert len(got[0]) == sum(len(rows) for _, rows, _ in logged)
    assert same(got[0], want[0])
    assert same(got[1], want[1])
    assert got[2] == want[2]
    assert roots(copy) == roots(origin)


@pytest.fixture
def demo_run(tmp_path: Path) -> tuple[Path, str, Path]:
    """A store with one batch run and one logged run, and the batch run exported."""
    store = tmp_path / "a.db"
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store) as tracker:
        run_id = tracker.log_batch_sync(
            [{"qa": {"score": i / 10}} for i in range(10)],
            "ds",
            [{"id": f"s{i}", "question": f"q {i} ✓"} for i in range(10)],
            "batch-run",
        )
        tracker.log({"qa": {"score": 1.0}}, "ds", {"id": "x"}, "other-run")
    file = tmp_path / "run.jsonl"
    export(store, run_id, file)
    return store, run_id, file


def test_the_file_is_otlp_json_as_a_collectors_file_exporter_writes_it(
    demo_run: tuple[Path, str, Path],
) -> None:
    """One ExportTraceServiceRequest per line, hex ids, int64 as strings, private (0600)."""
    store, run_id, file = demo_run
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    lines = file.read_text(encoding="utf-8").splitlines()
    spans = [
        span
        for line in lines
        for resource in json.loads(line)["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
    ]
    with SQLiteQueryAdapter(str(store)) as reader:
        stored = reader.run_results(run_id)
    results = [s for s in spans if s["name"] == "evaltrace.result"]
    assert [(s["traceId"], s["spanId"]) for s in results] == [
        (r["trace_id"], r["span_id"]) for r in stored
    ]
    assert isinstance(results[0]["startTimeUnixNano"], str)
    assert [s["name"] for s in spans].count("evaltrace.batch") == 1
    assert "other-run" not in file.read_text(encoding="utf-8")


def test_importing_twice_adds_nothing(demo_run: tuple[Path, str, Path], tmp_path: Path) -> None:
    """The second import of a file says 0 new and leaves the store's rows as they were."""
    _, _, file = demo_run
    copy = tmp_path / "b.db"
    first = cli("import", str(file), "--store", str(copy))
    assert "10 new" in first.stderr
    second = cli("import", "--store", str(copy), str(file))  # options first work too
    assert second.exit_code == 0
    assert "0 new, 10 already there" in second.stderr
    third = cli("import", "otlp", str(file), "--store", str(copy))
    assert "0 new, 10 already there" in third.stderr
    reader = StoreReader(str(copy))
    try:
        assert reader._page("SELECT count(*) FROM results", ()) == [(10,)]
        assert reader._page("SELECT count(*) FROM batch_roots", ()) == [(1,)]
    finally:
        reader.close()
    with SQLiteQueryAdapter(str(copy)) as adapter:
        (row,) = adapter.history(HistoryFilter())
    assert row["num_results"] == 10


def foreign_line(name: str = "GET /checkout") -> str:
    """A line of another service's spans, as a collector's file exporter writes it."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    provider.get_tracer("shop").start_span(name, attributes={"http.method": "GET"}).end()
    return next(request_lines(memory.get_finished_spans()))


def test_a_file_of_other_services_spans_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    """No evaltrace result in the file: a clear error, no traceback, no store made."""
    file = tmp_path / "collector.jsonl"
    file.write_text(foreign_line() + foreign_line("GET /cart"), encoding="utf-8")
    copy = tmp_path / "b.db"
    result = cli("import", str(file), "--store", str(copy))
    assert result.exit_code == 1
    assert "no evaltrace results to import" in result.stderr
    assert f"{file}: " in result.stderr
    assert "'GET /checkout' on line 1" in result.stderr
    assert "Traceback" not in result.output
    assert not copy.exists()  # no empty store left behind


def test_a_collectors_file_mixing_services_imports_the_evaltrace_spans_and_counts_the_rest(
    demo_run: tuple[Path, str, Path], tmp_path: Path
) -> None:
    """Foreign spans around and between the run's lines are skipped and counted."""
    store, run_id, file = demo_run
    mixed = tmp_path / "collector.jsonl"
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    mixed.write_text(foreign_line() + "".join(lines) + "\n" + foreign_line(), encoding="utf-8")
    copy = tmp_path / "b.db"
    result = cli("import", str(mixed), "--store", str(copy))
    assert result.exit_code == 0, result.output
    assert "skipped 2 spans not evaltrace's" in result.stderr
    assert same(read_back(copy, run_id), read_back(store, run_id))


def test_a_bad_line_names_its_number_and_nothing_is_written(
    demo_run: tuple[Path, str, Path], tmp_path: Path
) -> None:
    """Line 1 is a good request, line 2 is not JSON: the error says line 2; no result stored."""
    store, _, file = demo_run
    bad = tmp_path / "bad.jsonl"
    bad.write_text(file.read_text(encoding="utf-8") + '{"resourceSpans": [\n', encoding="utf-8")
    copy = tmp_path / "b.db"
    result = cli("import", str(bad), "--store", str(copy))
    assert result.exit_code == 1
    assert f"{bad} line 2: not JSON" in result.stderr
    assert not copy.exists()
    other = tmp_path / "other.jsonl"
    export(store, "other-run", other)
    assert cli("import", str(other), "--store", str(copy)).exit_code == 0  # an existing store
    result = cli("import", str(bad), "--store", str(copy))
    assert result.exit_code == 1
    reader = StoreReader(str(copy))
    try:  # kept as it was: nothing of the bad file's good line 1 was added
        assert reader._page("SELECT run_id, count(*) FROM results GROUP BY run_id", ()) == [
            ("other-run", 1)
        ]
    finally:
        reader.close()
    wrong = tmp_path / "wrong.jsonl"
    wrong.write_text('{"resourceLogs": []}\n', encoding="utf-8")
    result = cli("import", str(wrong), "--store", str(copy))
    assert result.exit_code == 1
    assert f"{wrong} line 1: not an OTLP/JSON trace request" in result.stderr


def test_text_kept_local_never_appears_in_an_as_sent_file(tmp_path: Path) -> None:
    """capture_content='local': the default export holds the store's text (and an importing
    store keeps it local); --as-sent holds digests only, as OTLP delivery sends."""
    store = tmp_path / "a.db"
    secret = "the patient's name is Ada"
    with evaltrace.OpenTelemetryExperimentTracker(
        "p", store=store, capture_content="local"
    ) as tracker:
        run_id = tracker.log(
            {"judge": {"score": 0.5, "explanation": secret}},
            "ds",
            {"id": "s1", "question": secret},
            metadata={"note": secret},
        )
    full, sent = tmp_path / "full.jsonl", tmp_path / "sent.jsonl"
    export(store, run_id, full)
    export(store, run_id, sent, "--as-sent")
    assert secret in full.read_text(encoding="utf-8")
    assert "Ada" not in sent.read_text(encoding="utf-8")
    assert '"stringValue":"s1"' in sent.read_text(encoding="utf-8")  # ids still travel
    copy, again = tmp_path / "b.db", tmp_path / "again.jsonl"
    assert cli("import", str(full), "--store", str(copy)).exit_code == 0
    (row,) = read_back(copy, run_id)[0]
    assert row["data"]["question"] == secret  # the local copy holds what the store held
    export(copy, run_id, again, "--as-sent")
    assert "Ada" not in again.read_text(encoding="utf-8")  # and still keeps it local


def test_as_sent_needs_the_otlp_format(demo_run: tuple[Path, str, Path], tmp_path: Path) -> None:
    """--as-sent with jsonl is a usage error, not a silently full file."""
    store, run_id, _ = demo_run
    result = cli("export", run_id, "--as-sent", "--store", str(store))
    assert result.exit_code == 2
    assert "--as-sent applies to --format otlp only" in result.stderr


def test_the_ui_and_report_work_on_an_imported_run(
    demo_run: tuple[Path, str, Path], tmp_path: Path
) -> None:
    """The run page answers and `evaltrace report` writes a page for the imported run."""
    from starlette.testclient import TestClient

    from evaltrace._config import TraceLinks
    from evaltrace.ui import open_source
    from evaltrace.ui._app import create_app

    _, run_id, file = demo_run
    copy = tmp_path / "b.db"
    assert cli("import", str(file), "--store", str(copy)).exit_code == 0
    source = open_source(store=str(copy))
    try:
        page = TestClient(create_app(source, TraceLinks(None, None)), base_url="http://127.0.0.1")
        answer = page.get(f"/runs/{run_id}")
        assert answer.status_code == 200
        assert "s7" in answer.text
    finally:
        source.close()
    html = tmp_path / "report.html"
    result = cli("report", run_id, "-o", str(html), "--store", str(copy))
    assert result.exit_code == 0, result.output
    assert run_id in html.read_text(encoding="utf-8")


def test_base64_ids_and_the_older_scope_name_read_the_same(
    demo_run: tuple[Path, str, Path], tmp_path: Path
) -> None:
    """Some writers spell ids in base64 and scopes as instrumentationLibrarySpans: the same run."""
    store, run_id, file = demo_run
    variant = tmp_path / "variant.jsonl"
    lines = []
    for line in file.read_text(encoding="utf-8").splitlines():
        request = json.loads(line)
        for resource in request["resourceSpans"]:
            resource["instrumentationLibrarySpans"] = resource.pop("scopeSpans")
            for scope in resource["instrumentationLibrarySpans"]:
                for span in scope["spans"]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if span.get(key):
                            span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
        lines.append(json.dumps(request))
    variant.write_text("\n".join(lines) + "\n", encoding="utf-8")
    copy = tmp_path / "b.db"
    assert cli("import", str(variant), "--store", str(copy)).exit_code == 0
    assert same(read_back(copy, run_id), read_back(store, run_id))


def test_a_span_without_a_valid_id_names_its_line(tmp_path: Path) -> None:
    """A malformed span is an error naming the file and line, not a traceback."""
    bad = tmp_path / "bad.jsonl"
    span = {"name": "evaltrace.result", "traceId": "zz", "spanId": "00"}
    bad.write_text(
        json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}) + "\n",
        encoding="utf-8",
    )
    result = cli("import", str(bad), "--store", str(tmp_path / "b.db"))
    assert result.exit_code == 1
    assert f"{bad} line 1: not an OTLP/JSON trace request: span 'evaltrace.result'" in (
        result.stderr
    )
    assert "Traceback" not in result.output
