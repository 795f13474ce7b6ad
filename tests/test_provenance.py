"""Provenance: sample fingerprints that stop compare from pairing two dataset versions as if
they were one, and the gate that refuses such a pair unless told otherwise."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace._codec import dumps, loads
from evaltrace._compare import compare_runs
from evaltrace._provenance_diff import diff_fingerprints, diff_provenance
from evaltrace.cli import main
from evaltrace.schema._fingerprint import dataset_fingerprint, sample_fingerprint

from .support.old_stores import as_version_5_layout
from .test_roundtrip import values

rows = st.dictionaries(
    st.sampled_from(["question", "expected_answer", "target", "answer", "retrieved_contexts"]),
    values,
    min_size=1,
)


@given(row=rows, seed=st.integers(0, 2**32))
def test_a_fingerprint_ignores_key_order_and_survives_the_store_s_json(
    row: dict[str, Any], seed: int
) -> None:
    """Shuffled keys, and the row as any backend reads it back (JSON), hash the same."""
    items = list(row.items())
    random.Random(seed).shuffle(items)
    assert sample_fingerprint(dict(items)) == sample_fingerprint(row)
    assert sample_fingerprint(loads(dumps(row, "data", None))) == sample_fingerprint(row)


@given(x=st.floats(allow_nan=False))
def test_a_float_hashes_by_its_value_not_its_spelling(x: float) -> None:
    """A float written and read back in any spelling (1e-1, 0.1000) is the same fingerprint."""
    for spelling in (repr(x), f"{x:.17g}"):
        assert sample_fingerprint({"target": float(spelling)}) == sample_fingerprint({"target": x})


def test_generated_fields_never_change_the_fingerprint() -> None:
    """The answer and retrieved contexts are the system's, not the dataset's."""
    row = {"question": "capital of France?", "expected_answer": "Paris", "answer": "Paris"}
    other = {**row, "answer": "Lyon", "retrieved_contexts": ["..."]}
    assert sample_fingerprint(row) == sample_fingerprint(other)
    assert sample_fingerprint({**row, "expected_answer": "paris"}) != sample_fingerprint(row)
    assert sample_fingerprint({"answer": "x"}) is None
    assert dataset_fingerprint([None]) is None
    assert dataset_fingerprint(["b", "a", "a"]) == dataset_fingerprint(["a", "b"])


def log_runs(
    store: Path, changed: int, total: int = 30, versions: tuple[str, str] | None = None
) -> tuple[str, str]:
    """Two runs of ``total`` questions, B's expected answer changed on ``changed`` of them
    (and its judge at ``versions[1]`` when given, A's at ``versions[0]``)."""
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store) as tracker:
        ids = []
        for (name, edits), version in zip(
            (("a", 0), ("b", changed)), versions or (None, None), strict=True
        ):
            ids.append(
                tracker.log_batch_sync(
                    [{"qa": {"score": 0.5}} for _ in range(total)],
                    "qa",
                    [
                        {
                            "id": f"q{i}",
                            "question": f"question {i}",
                            "expected_answer": f"answer {i}" + (" v2" if i < edits else ""),
                            "answer": f"{name} says {i}",
                        }
                        for i in range(total)
                    ],
                    f"run-{name}",
                    evaluators={"judge": version} if version else None,
                )
            )
    return ids[0], ids[1]


def compare(store: Path, *args: str) -> Any:
    runner = CliRunner()
    return runner.invoke(main, ["compare", *args, "--store", str(store)], catch_exceptions=False)


def test_a_changed_expected_answer_is_named_and_refused_by_the_gate(tmp_path: Path) -> None:
    """7 of 30 expected answers changed: compare says so and --fail-on-regression exits 1."""
    store = tmp_path / "s.db"
    a, b = log_runs(store, changed=7)
    result = compare(store, a, b, "--fail-on-regression")
    assert result.exit_code == 1
    line = "dataset changed: 7 of 30 paired samples have different inputs/expected outputs"
    assert line in result.stdout
    assert f"FAIL: {line} (--allow-dataset-change)" in result.stderr
    data = json.loads(compare(store, a, b, "--json").stdout)
    assert data["dataset"]["changed"] == 7
    assert sorted(data["dataset"]["changed_samples"]) == sorted(f"q{i}" for i in range(7))
    assert data["dataset"]["dataset_a"] != data["dataset"]["dataset_b"]
    assert data["gate"]["passed"] is False


def test_allow_dataset_change_lets_the_gate_pass(tmp_path: Path) -> None:
    """The same pair passes with --allow-dataset-change, the difference still printed."""
    store = tmp_path / "s.db"
    a, b = log_runs(store, changed=7)
    result = compare(store, a, b, "--fail-on-regression", "--allow-dataset-change")
    assert result.exit_code == 0, result.output
    assert "dataset changed: 7 of 30" in result.stdout


def test_same_dataset_passes_and_says_so(tmp_path: Path) -> None:
    """Different answers on the same dataset: no difference, the gate passes."""
    store = tmp_path / "s.db"
    a, b = log_runs(store, changed=0)
    result = compare(store, a, b, "--fail-on-regression")
    assert result.exit_code == 0, result.output
    assert "dataset: same inputs/expected outputs on 30 of 30 paired samples" in result.stdout


def test_unknown_is_said_as_unknown_not_as_a_difference() -> None:
    """Rows without any dataset field have no fingerprint: unknown, and the gate passes."""
    a = [{"run_id": "a", "sample_id": "s1", "evaluation_result": {"m": {"score": 1.0}}}]
    b = [{**a[0], "run_id": "b"}]
    c = compare_runs(a, b)
    assert c.dataset is not None and not c.dataset.differs
    assert c.dataset.summary() == "dataset: unknown (no sample fingerprint to compare)"
    assert c.gate().passed


def test_an_evaluator_version_change_is_named() -> None:
    """faithfulness 1.2 -> 1.3 is a reason of the gate; a run that said nothing is unknown."""
    row = {"run_id": "a", "sample_id": "s1", "evaluation_result": {"m": {"score": 1.0}}}
    a, b = [row], [{**row, "run_id": "b"}]
    c = compare_runs(a, b, evaluators=({"faithfulness": "1.2"}, {"faithfulness": "1.3"}))
    assert "evaluator faithfulness 1.2 -> 1.3 (--allow-dataset-change)" in c.gate().reasons
    assert c.gate(allow_dataset_change=True).passed
    assert compare_runs(a, b, evaluators=({"faithfulness": "1.2"}, None)).gate().passed


def _git_repo(folder: Path) -> str:
    """A git repository with one commit in ``folder``; its commit id."""
    run = lambda *args: subprocess.run(  # noqa: E731
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    )
    run("init", "-q")
    run("commit", "-q", "--allow-empty", "-m", "x")
    return run("rev-parse", "HEAD").stdout.strip()


def test_result_spans_carry_the_provisional_test_attributes_and_provenance(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """test.suite.run.id, test.case.id, the sample's fingerprint, and eval.provenance with
    the evaluators said and the working directory's commit; the store keeps both."""
    sha = _git_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    memory = InMemorySpanExporter()
    row = {"id": "q1", "question": "2+2?", "expected_answer": "4", "answer": "4"}
    store = tmp_path / "s.db"
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store, exporters=[memory]) as t:
        t.log({"qa": {"score": 1.0}}, "ds", row, "r1", evaluators={"faithfulness": "1.3"})
    (span,) = [s for s in memory.get_finished_spans() if s.name == "evaltrace.result"]
    attributes = dict(span.attributes or {})
    assert attributes["test.suite.run.id"] == "r1"
    assert attributes["test.case.id"] == "q1"
    assert attributes["eval.sample.fingerprint"] == sample_fingerprint(row)
    provenance = {"evaluators": {"faithfulness": "1.3"}, "code_version": sha}
    assert json.loads(str(attributes["eval.provenance"])) == provenance
    assert evaltrace.InMemoryQueryAdapter(memory).run_provenance("r1") == provenance
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        assert reader.run_provenance("r1") == provenance
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT fingerprint FROM results").fetchall() == [
            (sample_fingerprint(row),)
        ]


def test_outside_a_repository_there_is_no_code_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No repository, no evaluators: no eval.provenance attribute at all."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    memory = InMemorySpanExporter()
    with evaltrace.OpenTelemetryExperimentTracker("p", store=False, exporters=[memory]) as t:
        t.log({"qa": {"score": 1.0}}, "ds", {"id": "q1"}, "r1")
    (span,) = [s for s in memory.get_finished_spans() if s.name == "evaltrace.result"]
    assert "eval.provenance" not in (span.attributes or {})


def test_evaluators_that_are_not_name_to_version_are_refused(tmp_path: Path) -> None:
    """A clear error naming the argument; nothing logged."""
    with evaltrace.OpenTelemetryExperimentTracker("p", store=tmp_path / "s.db") as t:
        with pytest.raises(evaltrace.InvalidInputTypeError, match="evaluators"):
            t.log({"m": 1}, "ds", {"id": 1}, "r", evaluators={"faithfulness": 1.3})  # type: ignore[dict-item]
        assert t.get_run_results("r") == []


def test_compare_names_an_evaluator_version_change_from_the_store(tmp_path: Path) -> None:
    """faithfulness 1.2 in A, 1.3 in B: compare names it, the gate refuses the pair."""
    store = tmp_path / "s.db"
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store) as t:
        for run, version in (("a", "1.2"), ("b", "1.3")):
            for i in range(5):
                t.log(
                    {"f": {"score": 0.5}},
                    "ds",
                    {"id": i, "question": str(i)},
                    run,
                    evaluators={"faithfulness": version},
                )
    result = compare(store, "a", "b", "--fail-on-regression")
    assert result.exit_code == 1
    assert "evaluator faithfulness 1.2 -> 1.3" in result.stdout
    assert "FAIL: evaluator faithfulness 1.2 -> 1.3 (--allow-dataset-change)" in result.stderr


def test_a_version_5_store_upgrades_keeping_its_data(tmp_path: Path) -> None:
    """A store of layout 5 reads as it is; the next writer upgrades it to 6, every result
    kept, the old ones with no stored fingerprint (unknown), the new ones with one."""
    store = tmp_path / "s.db"
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store) as t:
        t.log_batch_sync([{"m": i} for i in range(4)], "ds", [{"id": i} for i in range(4)], "r")
    as_version_5_layout(store)
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        before = reader.run_results("r")
        assert reader.run_provenance("r") is None
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store) as t:
        t.log({"m": 9}, "ds", {"id": 9}, "r")
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        after = reader.run_results("r")
    assert after[:4] == before and len(after) == 5
    with sqlite3.connect(store) as conn:
        assert conn.execute("SELECT value FROM evaltrace_meta WHERE key='version'").fetchone() == (
            "6",
        )
        prints = [f for (f,) in conn.execute("SELECT fingerprint FROM results ORDER BY id")]
    assert prints[:4] == [None] * 4 and prints[4] == sample_fingerprint({"id": 9})


def test_an_exported_run_keeps_its_fingerprints_and_provenance(tmp_path: Path) -> None:
    """Export then import: the imported store holds the same fingerprints and provenance."""
    store, copy, file = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "run.jsonl"
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store) as t:
        t.log({"m": 1}, "ds", {"id": 1, "question": "q"}, "r", evaluators={"judge": "2"})
    runner = CliRunner()
    assert (
        runner.invoke(
            main, ["export", "r", "--format", "otlp", "-o", str(file), "--store", str(store)]
        ).exit_code
        == 0
    )
    assert runner.invoke(main, ["import", str(file), "--store", str(copy)]).exit_code == 0
    for path in (store, copy):
        with evaltrace.SQLiteQueryAdapter(path) as reader:
            assert (reader.run_provenance("r") or {})["evaluators"] == {"judge": "2"}
    with sqlite3.connect(store) as a, sqlite3.connect(copy) as b:
        sql = "SELECT fingerprint FROM results"
        assert a.execute(sql).fetchall() == b.execute(sql).fetchall() != [(None,)]


@given(
    row=st.dictionaries(
        st.sampled_from(["question", "target", "vars"]),
        st.text() | st.integers() | st.booleans(),
        min_size=1,
    )
)
def test_the_fast_spelling_hashes_as_the_canonical_encoder(row: dict[str, Any]) -> None:
    """Texts, ints and booleans hash as the standard library's canonical JSON of them."""
    import hashlib

    text = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert (
        sample_fingerprint(row) == hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    )


def test_the_compare_page_and_report_say_the_dataset_changed(tmp_path: Path) -> None:
    """The UI's compare page and `evaltrace report --compare` carry the same line."""
    from starlette.testclient import TestClient

    from evaltrace._config import TraceLinks
    from evaltrace.ui import open_source
    from evaltrace.ui._app import create_app

    store = tmp_path / "s.db"
    a, b = log_runs(store, changed=7, versions=("1.2", "1.3"))
    line = "dataset changed: 7 of 30 paired samples have different inputs/expected outputs"
    source = open_source(store=str(store))
    try:
        client = TestClient(create_app(source, TraceLinks(None, None)), base_url="http://127.0.0.1")
        page = client.get(f"/compare?a={a}&b={b}")
        assert page.status_code == 200 and line in page.text
        assert "evaluator judge 1.2 -&gt; 1.3" in page.text
    finally:
        source.close()
    html = tmp_path / "r.html"
    runner = CliRunner()
    args = ["report", b, "--compare", a, "-o", str(html), "--store", str(store)]
    assert runner.invoke(main, args).exit_code == 0
    assert line in html.read_text(encoding="utf-8")
    assert "evaluator judge 1.2 -&gt; 1.3" in html.read_text(encoding="utf-8")


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data_a=st.lists(rows, min_size=1, max_size=6),
    changed=st.lists(st.booleans(), min_size=6, max_size=6),
    old=st.booleans(),
)
def test_the_store_s_kept_fingerprints_say_what_the_results_say(
    tmp_path_factory: pytest.TempPathFactory,
    data_a: list[dict[str, Any]],
    changed: list[bool],
    old: bool,
) -> None:
    """The columnar compare reads the fingerprints the store kept (never the results): the
    dataset difference is the one the results' data rows give, in a layout 5 store too."""
    store = tmp_path_factory.mktemp("fp") / "s.db"
    data_b = [
        {**row, "target": f"changed {i}"} if flip else row
        for i, (row, flip) in enumerate(zip(data_a, changed, strict=False))
    ]
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store) as tracker:
        for run, data in (("a", data_a), ("b", data_b)):
            tracker.log_batch_sync(
                [{"m": {"score": 1.0}}] * len(data),
                "ds",
                [{**row, "id": f"s{i}"} for i, row in enumerate(data)],
                run_id=run,
            )
    if old:
        as_version_5_layout(store)
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        kept = diff_fingerprints(reader.sample_fingerprints("a"), reader.sample_fingerprints("b"))
        read = diff_provenance(reader.run_results("a"), reader.run_results("b"))
    assert kept == read
