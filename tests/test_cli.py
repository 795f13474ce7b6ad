"""The evaltrace command against stores the real tracker wrote."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace.cli import main

SCORES_A = {"s1": 0.2, "s2": 0.8, "s3": 0.5}
SCORES_B = {"s1": 0.6, "s2": 0.1, "s4": 0.3}
"""run-a -> run-b: f1 mean 0.5 -> 0.333, pass rate 0.667 -> 0.333."""


def rows(scores: dict[str, float]) -> tuple[list[Any], list[Any]]:
    """Evaluation results and data rows for a {sample_id: f1} mapping."""
    results = [
        {"qa": {"f1": {"score": f1, "explanation": 'ok, "quoted"'}, "passed": f1 >= 0.5}}
        for f1 in scores.values()
    ]
    data = [{"id": sid, "question": f"¿qué es {sid}?\nline two"} for sid in scores]
    return results, data


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store with runs run-a and run-b in project proj, and one run in project other."""
    path = tmp_path / "evaltrace.db"
    with OpenTelemetryExperimentTracker("proj", store=path) as tracker:
        for run_id, scores in (("run-a", SCORES_A), ("run-b", SCORES_B)):
            results, data = rows(scores)
            tracker.log_batch_sync(results, "qa", data, run_id=run_id, metadata={"model": run_id})
    with OpenTelemetryExperimentTracker("other", store=path) as tracker:
        tracker.log({"judge": {"score": 1.0}}, "chat", {"id": "c1"}, run_id="run-other")
    return path


def cli(store: Path | None, *args: str, env: dict[str, str] | None = None) -> Result:
    """Invoke evaltrace (with --store when given) and capture stdout and stderr apart."""
    extra = ["--store", str(store)] if store is not None else []
    return CliRunner(env=env).invoke(main, [*args, *extra])


def library_results(store: Path, run_id: str) -> list[dict[str, Any]]:
    """What the library itself returns for a run."""
    with SQLiteQueryAdapter(store) as reader:
        return reader.run_results(run_id)


def test_runs_lists_runs_of_every_project(store: Path) -> None:
    """runs shows every run of every project, with metric means."""
    out = cli(store, "runs")
    assert out.exit_code == 0, out.output
    assert all(run in out.stdout for run in ("run-a", "run-b", "run-other"))
    assert "qa.f1.score" in out.stdout.splitlines()[0]
    assert "0.500" in out.stdout  # run-a's mean f1


def test_runs_json_filters_by_project_and_dataset(store: Path) -> None:
    """runs --json --project/--dataset prints only matching summaries, with every metric."""
    out = cli(store, "runs", "--json", "--project", "proj", "--dataset", "qa", "--limit", "5")
    runs = json.loads(out.stdout)
    assert sorted(r["run_id"] for r in runs) == ["run-a", "run-b"]
    by_id = {r["run_id"]: r for r in runs}
    assert by_id["run-a"]["metrics"]["qa.f1.score"]["mean"] == pytest.approx(0.5)
    assert by_id["run-a"]["metrics"]["qa.passed"]["pass_rate"] == pytest.approx(2 / 3)


def test_runs_since_the_future_is_empty(store: Path) -> None:
    """runs --since filters by start time; nothing matches a future time."""
    out = cli(store, "runs", "--json", "--since", "2200-01-01")
    assert out.exit_code == 0 and json.loads(out.stdout) == []


def test_results_prints_one_line_per_result(store: Path) -> None:
    """results prints a header and one line per result, in logging order."""
    out = cli(store, "results", "run-a")
    assert out.exit_code == 0, out.output
    header, *lines = out.stdout.splitlines()
    assert header.split() == ["#", "sample_id", "qa.f1.score", "qa.passed"]
    assert [line.split()[:3] for line in lines] == [
        ["0", "s1", "0.200"],
        ["1", "s2", "0.800"],
        ["2", "s3", "0.500"],
    ]


def test_results_json_is_the_library_output(store: Path) -> None:
    """results --json prints exactly the dicts get_run_results returns, one per line."""
    out = cli(store, "results", "run-b", "--json")
    lines = out.stdout.splitlines()
    assert [json.loads(line) for line in lines] == library_results(store, "run-b")


def test_compare_fails_on_regression(store: Path) -> None:
    """compare --fail-on-regression exits 1 when a mean drops, naming the metric."""
    out = cli(store, "compare", "run-a", "run-b", "--fail-on-regression")
    assert out.exit_code == 1
    assert "REGRESSION" in out.stdout and "qa.passed" in out.stderr


def test_compare_passes_without_regression(store: Path) -> None:
    """compare --fail-on-regression exits 0 when no mean drops (B against itself or better)."""
    assert cli(store, "compare", "run-b", "run-a", "--fail-on-regression").exit_code == 0
    assert cli(store, "compare", "run-a", "run-a", "--fail-on-regression").exit_code == 0


def test_compare_threshold_tolerates_small_drops(store: Path) -> None:
    """Only drops larger than --threshold are regressions."""
    args = ["compare", "run-a", "run-b", "--fail-on-regression", "--threshold"]
    some = cli(store, *args, "0.2")
    assert some.exit_code == 1
    assert "qa.passed" in some.stderr and "qa.f1.score" not in some.stderr
    assert cli(store, *args, "0.5").exit_code == 0


def test_compare_pairs_samples_by_id(store: Path) -> None:
    """compare --json pairs samples by sample_id and lists those in one run only."""
    out = cli(store, "compare", "run-a", "run-b", "--json")
    data = json.loads(out.stdout)
    samples = data["samples"]
    assert (samples["paired"], samples["only_in_a"], samples["only_in_b"]) == (2, ["s3"], ["s4"])
    moved = {(c["sample_id"], c["metric"]): (c["a"], c["b"]) for c in samples["changes"]}
    assert moved == {
        ("s1", "qa.f1.score"): (0.2, 0.6),
        ("s1", "qa.passed"): (False, True),
        ("s2", "qa.f1.score"): (0.8, 0.1),
        ("s2", "qa.passed"): (True, False),
    }
    assert (samples["improved"], samples["regressed"]) == (1, 1)


def test_export_jsonl_round_trips(store: Path) -> None:
    """export --format jsonl holds exactly what get_run_results returns."""
    out = cli(store, "export", "run-a", "--format", "jsonl")
    assert out.exit_code == 0
    exported = [json.loads(line) for line in out.stdout.splitlines()]
    assert exported == library_results(store, "run-a")


def test_export_csv_has_header_and_a_row_per_result(store: Path, tmp_path: Path) -> None:
    """export --format csv -o FILE writes the fixed columns, metric columns, data and metadata."""
    target = tmp_path / "out.csv"
    out = cli(store, "export", "run-a", "--format", "csv", "-o", str(target))
    assert out.exit_code == 0 and out.stdout == ""
    table = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert list(table[0]) == [
        "run_id", "sample_id", "timestamp", "trace_id", "span_id",
        "qa.f1.score", "qa.f1.explanation", "qa.passed", "data", "metadata",
    ]  # fmt: skip
    assert [(r["sample_id"], float(r["qa.f1.score"])) for r in table] == list(SCORES_A.items())
    expected = library_results(store, "run-a")
    assert [json.loads(r["data"]) for r in table] == [r["data"] for r in expected]
    assert [r["span_id"] for r in table] == [r["span_id"] for r in expected]
    assert table[0]["qa.f1.explanation"] == 'ok, "quoted"' and table[0]["qa.passed"] == "false"


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_documented(command: str) -> None:
    """Every command has a docstring, shown by --help."""
    cmd = main.commands[command]
    assert isinstance(cmd, click.Command) and cmd.help and len(cmd.help.split()) > 5
    out = CliRunner().invoke(main, [command, "--help"])
    assert out.exit_code == 0 and cmd.help.split()[0] in out.stdout


@pytest.mark.parametrize(
    "args", [["results", "nope"], ["export", "nope"], ["compare", "run-a", "nope"]]
)
def test_unknown_run_is_a_clear_error(store: Path, args: list[str]) -> None:
    """An unknown run id exits non-zero with 'no results for run'."""
    out = cli(store, *args)
    assert out.exit_code == 1 and "no results for run 'nope'" in out.stderr


@pytest.mark.parametrize(
    "args", [["runs"], ["results", "r"], ["export", "r"], ["compare", "a", "b"]]
)
def test_missing_store_is_a_clear_error_and_not_created(tmp_path: Path, args: list[str]) -> None:
    """Reading a store that does not exist fails clearly and creates no file."""
    missing = tmp_path / "nowhere" / "evaltrace.db"
    out = cli(missing, *args)
    assert out.exit_code == 1 and "no evaltrace store at" in out.stderr
    assert not missing.parent.exists()


def test_store_comes_from_the_environment(store: Path) -> None:
    """Without --store, EVALTRACE_STORE names the store; 'off' is an error."""
    out = cli(None, "runs", "--json", env={"EVALTRACE_STORE": str(store)})
    assert len(json.loads(out.stdout)) == 3
    off = cli(None, "runs", env={"EVALTRACE_STORE": "off"})
    assert off.exit_code == 1 and "turned off" in off.stderr


def test_bad_since_is_a_clear_error(store: Path) -> None:
    """An unparsable --since is reported, not raised as a traceback."""
    out = cli(store, "runs", "--since", "yesterday")
    assert out.exit_code == 1 and "not an ISO 8601 time" in out.stderr


def test_demo_command_logs_two_runs(tmp_path: Path) -> None:
    """evaltrace demo writes two runs that evaltrace runs then lists."""
    store = tmp_path / "demo.db"
    out = cli(store, "demo", "--rows", "20", "--seed", "3")
    assert out.exit_code == 0, out.output
    assert "regressions (threshold 0)" in out.stdout
    assert "logging baseline" in out.stderr
    runs = json.loads(cli(store, "runs", "--json").stdout)
    assert [r["num_results"] for r in runs] == [20, 20]


def test_big_export_shows_progress_on_stderr_only(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large export reports progress on stderr and leaves stdout exactly the data."""
    monkeypatch.setattr("evaltrace.cli.PROGRESS_FROM", 1)
    out = cli(store, "export", "run-a", "--format", "jsonl")
    assert "exporting run-a" in out.stderr
    assert [json.loads(line) for line in out.stdout.splitlines()] == library_results(store, "run-a")


def test_small_export_leaves_stderr_empty(store: Path) -> None:
    """A small export writes nothing but the data: no progress label on stderr."""
    out = cli(store, "export", "run-a", "--format", "csv")
    assert out.exit_code == 0 and out.stderr == "" and out.stdout.count("\n") == 4
