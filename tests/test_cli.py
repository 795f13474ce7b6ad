"""The evaltrace command against stores the real tracker wrote."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest
from click.testing import CliRunner, Result
from pydantic import BaseModel

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace._compare import compare_runs
from evaltrace.cli import main

from .gllm_shapes import generation, llm_test_case

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
    """runs shows every run of every project, with score means."""
    out = cli(store, "runs", env={"COLUMNS": "200"})
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
    assert header.split() == ["#", "sample_id", "qa.passed", "qa.f1.score"]
    assert [line.split() for line in lines] == [
        ["0", "s1", "false", "0.200"],
        ["1", "s2", "true", "0.800"],
        ["2", "s3", "true", "0.500"],
    ]


def test_results_json_is_the_library_output(store: Path) -> None:
    """results --json prints exactly the dicts get_run_results returns, one per line."""
    out = cli(store, "results", "run-b", "--json")
    lines = out.stdout.splitlines()
    assert [json.loads(line) for line in lines] == library_results(store, "run-b")


def test_compare_strict_fails_on_any_drop(store: Path) -> None:
    """--strict keeps the old gate: a mean drop fails, though two pairs prove nothing."""
    args = ["compare", "run-a", "run-b", "--fail-on-regression", "--allow-missing", "1"]
    assert cli(store, *args).exit_code == 0  # inconclusive: 1 better, 1 worse of 2
    out = cli(store, *args, "--strict")
    assert out.exit_code == 1 and "gate: FAIL" in out.stdout
    assert "FAIL: qa.passed dropped (--strict)" in out.stderr


def test_compare_passes_without_regression(store: Path) -> None:
    """compare --fail-on-regression exits 0 when no mean drops (B against itself or better)."""
    gate = ["--fail-on-regression", "--allow-missing", "1", "--strict"]
    assert cli(store, "compare", "run-b", "run-a", *gate).exit_code == 0
    assert cli(store, "compare", "run-a", "run-a", "--fail-on-regression").exit_code == 0


def test_compare_threshold_tolerates_small_drops(store: Path) -> None:
    """With --strict only drops larger than --threshold (--min-effect's old name) fail."""
    args = ["compare", "run-a", "run-b", "--fail-on-regression", "--allow-missing", "1"]
    args += ["--strict", "--threshold"]
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
    assert "family: 4 scores, Holm correction" in out.stdout
    assert "logging baseline" in out.stderr
    runs = json.loads(cli(store, "runs", "--json").stdout)
    assert [r["num_results"] for r in runs] == [20, 20]


def test_big_export_shows_progress_on_stderr_only(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large export reports progress on stderr and leaves stdout exactly the data."""
    monkeypatch.setattr("evaltrace.cli.PROGRESS_EVERY", 1)
    out = cli(store, "export", "run-a", "--format", "jsonl")
    assert "exporting run-a" in out.stderr
    assert [json.loads(line) for line in out.stdout.splitlines()] == library_results(store, "run-a")


def test_small_export_leaves_stderr_empty(store: Path) -> None:
    """A small export writes nothing but the data: no progress label on stderr."""
    out = cli(store, "export", "run-a", "--format", "csv")
    assert out.exit_code == 0 and out.stderr == "" and out.stdout.count("\n") == 4


class LLMTestCase(BaseModel):
    """gllm-evals' test case as a model: no id field, as in gllm-evals."""

    input: str
    actual_output: str
    expected_output: str
    retrieved_context: list[str]
    expected_context: list[str]


def cases(answer: str, n: int = 20, start: int = 0) -> list[LLMTestCase]:
    """n id-less test cases whose generated answer is ``answer``."""
    return [
        LLMTestCase(
            **{
                k: v
                for k, v in llm_test_case(i, f"{answer} {i}").items()
                if v is not None and k != "attachments"
            }
        )
        for i in range(start, start + n)
    ]


@pytest.fixture
def gllm_store(tmp_path: Path) -> Path:
    """gllm-evals-shaped runs over 20 id-less rows; each run's answers differ.

    g-base: verbosity 0.17; g-again: same scores; g-verbose: verbosity 0.90;
    g-nocomp: the completeness metric dropped; g-few: 5 rows; g-other: another dataset.
    """
    path = tmp_path / "gllm.db"
    without_completeness = generation(0.8, 0.17)
    del without_completeness[0]["generation"]["completeness"]
    runs = {
        "g-base": ("faq", [generation(0.8, 0.17)] * 20, cases("base")),
        "g-again": ("faq", [generation(0.8, 0.17)] * 20, cases("again")),
        "g-verbose": ("faq", [generation(0.8, 0.90)] * 20, cases("verbose")),
        "g-nocomp": ("faq", [without_completeness] * 20, cases("nocomp")),
        "g-few": ("faq", [generation(0.8, 0.17)] * 5, cases("few", n=5)),
        "g-other": ("legal", [generation(0.8, 0.17)] * 20, cases("other", start=100)),
    }
    with OpenTelemetryExperimentTracker("gllm", store=path) as tracker:
        for run_id, (dataset, results, data) in runs.items():
            tracker.log_batch_sync(results, dataset, data, run_id=run_id)
    return path


def gate(store: Path, a: str, b: str, *args: str) -> Result:
    """compare A B --fail-on-regression, with any further options."""
    return cli(store, "compare", a, b, "--fail-on-regression", *args)


def test_id_less_rows_pair_though_answers_differ(gllm_store: Path) -> None:
    """Rows without an id pair by their inputs: all 20 pair, nothing regressed, exit 0."""
    out = gate(gllm_store, "g-base", "g-again", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["samples"]["paired"] == 20 and data["gate"] == {"passed": True, "reasons": []}


def test_lower_is_better_flag_in_the_result_fails_a_rise(gllm_store: Path) -> None:
    """verbosity (higher_is_better: false) 0.17 -> 0.90 is a regression, not an improvement."""
    out = gate(gllm_store, "g-base", "g-verbose")
    assert out.exit_code == 1
    assert (
        "FAIL: generation.verbosity.score regressed: 0.170 -> 0.900, paired +0.730 "
        "[+0.730, +0.730], p 0.001 (holm over 6), lower is better"
    ) in out.stderr.splitlines()
    assert "generation.completeness.score" not in out.stderr


def test_vanished_metric_fails(gllm_store: Path) -> None:
    """A score in every baseline row and in no candidate row fails with one line naming it."""
    out = gate(gllm_store, "g-base", "g-nocomp")
    assert out.exit_code == 1
    tail = "vanished: in 20 results of g-base, in none of g-nocomp"
    assert out.stderr.splitlines() == [
        f"FAIL: generation.completeness.score {tail}",
        f"FAIL: generation.completeness.success {tail}",
    ]


def test_missing_baseline_samples_fail_unless_allowed(gllm_store: Path) -> None:
    """15 of 20 baseline rows missing from the candidate fail; --allow-missing 15 lets it pass."""
    out = gate(gllm_store, "g-base", "g-few")
    assert out.exit_code == 1
    [line] = out.stderr.splitlines()
    assert line.startswith("FAIL: 15 of 20 samples of g-base are missing from g-few")
    assert gate(gllm_store, "g-base", "g-few", "--allow-missing", "15").exit_code == 0
    assert gate(gllm_store, "g-base", "g-few", "--allow-missing", "14").exit_code == 1


def test_runs_of_different_datasets_fail(gllm_store: Path) -> None:
    """Nothing pairs across datasets: the gate fails whatever --allow-missing says."""
    out = gate(gllm_store, "g-base", "g-other", "--allow-missing", "1000")
    assert out.exit_code == 1 and out.stderr.startswith("FAIL: no sample pairs")


def test_without_the_flag_compare_reports_and_exits_0(gllm_store: Path) -> None:
    """Without --fail-on-regression, the report states the verdict and the command exits 0."""
    out = cli(gllm_store, "compare", "g-base", "g-nocomp")
    assert out.exit_code == 0 and out.stderr == ""
    assert "\nvanished      generation.completeness.score" in out.stdout
    assert "gate: FAIL (2 reasons)" in out.stdout


def test_lower_is_better_option(store: Path) -> None:
    """--lower-is-better PATTERN makes f1's drop an improvement and keeps pass rate's regression."""
    args = ["--json", "--allow-missing", "1", "--lower-is-better", "qa.f1.*", "--strict"]
    data = json.loads(cli(store, "compare", "run-a", "run-b", *args).stdout)
    directions = {m["metric"]: m["direction"] for m in data["metrics"]}
    assert directions == {"qa.f1.score": "lower", "qa.passed": "higher"}
    assert [r.split(" ")[0] for r in data["gate"]["reasons"]] == ["qa.passed"]


def test_compare_metrics_option_limits_the_gate(gllm_store: Path) -> None:
    """--metrics compares matching scores only; one matching nothing fails the gate."""
    assert gate(gllm_store, "g-base", "g-verbose", "--metrics", "*completeness*").exit_code == 0
    out = gate(gllm_store, "g-base", "g-verbose", "--metrics", "nothing.*")
    assert out.exit_code == 1 and "no scores to compare" in out.stderr


def test_compare_json_is_the_library_output(gllm_store: Path) -> None:
    """compare --json prints exactly Comparison.to_dict of the library's own comparison."""
    args = [
        "--json",
        "--threshold",
        "0.1",
        "--allow-missing",
        "3",
        "--lower-is-better",
        "*.aggregate_score",
        "--correction",
        "maxt",
    ]
    out = cli(gllm_store, "compare", "g-base", "g-few", *args)
    expected = compare_runs(
        library_results(gllm_store, "g-base"),
        library_results(gllm_store, "g-few"),
        lower_is_better=["*.aggregate_score"],
        min_effect=0.1,
        correction="maxt",
    ).to_dict(allow_missing=3)
    assert json.loads(out.stdout) == expected


def test_history_metrics_are_scores_only(gllm_store: Path) -> None:
    """get_experiment_history (runs --json) aggregates scores, not thresholds or token counts."""
    [run] = json.loads(cli(gllm_store, "runs", "--json", "--dataset", "legal").stdout)
    assert sorted(run["metrics"]) == [
        "generation.aggregate_score",
        "generation.aggregate_success",
        "generation.completeness.score",
        "generation.completeness.success",
        "generation.verbosity.score",
        "generation.verbosity.success",
    ]


@pytest.mark.parametrize("columns", [60, 80, 132])
def test_runs_table_fits_the_terminal(gllm_store: Path, columns: int) -> None:
    """runs never prints a line wider than the terminal and counts the metrics it hid."""
    out = cli(gllm_store, "runs", env={"COLUMNS": str(columns)})
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    header = lines[0]
    assert header.split()[4].endswith("aggregate_score")  # the aggregate first
    assert not any(word in header for word in ("threshold", "higher_is_better", "rubric", "token"))
    hidden = 6 - (len(header.split()) - 4)  # after run_id dataset started_at n
    assert hidden > 0 and lines[-1] == f"(+{hidden} more metrics; see --metrics or --json)"


def test_runs_metrics_and_until(gllm_store: Path) -> None:
    """runs --metrics picks the columns; --until before every run matches nothing."""
    out = cli(gllm_store, "runs", "--metrics", "*.verbosity.*", env={"COLUMNS": "200"})
    assert out.stdout.splitlines()[0].split()[4:] == [
        "generation.verbosity.score",
        "generation.verbosity.success",
    ]
    none = cli(gllm_store, "runs", "--until", "2000-01-01")
    assert none.exit_code == 0 and none.stdout == "" and "no runs match" in none.stderr


def test_results_table_is_bounded(gllm_store: Path) -> None:
    """results shows --limit rows within the terminal width, and says what it left out."""
    out = cli(gllm_store, "results", "g-base", "--limit", "5", env={"COLUMNS": "100"})
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    assert [line.split()[0] for line in lines[1:6]] == ["0", "1", "2", "3", "4"]
    assert lines[-1] == "(+15 more results; --limit 0 shows all)"
    assert "more score columns" in lines[-2]
    every = cli(gllm_store, "results", "g-base", "--limit", "0", "--metrics", "*.verbosity.score")
    assert every.stdout.splitlines()[0].split() == ["#", "sample_id", "generation.verbosity.score"]
    assert len(every.stdout.splitlines()) == 21


def test_results_cuts_long_cells(tmp_path: Path) -> None:
    """A 300-character label is cut with an ellipsis; the line stays within the terminal."""
    path = tmp_path / "long.db"
    with OpenTelemetryExperimentTracker("p", store=path) as tracker:
        tracker.log(
            {"judge": {"score": 0.5, "label": "x" * 300}}, "d", {"id": "r" * 60}, run_id="r"
        )
    out = cli(path, "results", "r", env={"COLUMNS": "80"})
    [header, line] = out.stdout.splitlines()
    assert header.split() == ["#", "sample_id", "judge.score", "judge.label"]
    assert len(line) <= 80 and line.count("…") == 2


def test_results_json_ignores_the_table_options(gllm_store: Path) -> None:
    """results --json prints every result exactly as the library returns it."""
    out = cli(gllm_store, "results", "g-base", "--json", "--limit", "2", "--metrics", "x")
    assert [json.loads(line) for line in out.stdout.splitlines()] == library_results(
        gllm_store, "g-base"
    )


def test_runs_shows_each_mean_with_its_interval(tmp_path: Path) -> None:
    """runs prints mean±half-width of scipy's 95 % t interval (pass rates: the Wilson
    interval's wider side) within 80 columns, says which interval it is, and --json carries
    se, ci_low, ci_high (null for a single result, never NaN)."""
    import scipy.stats

    store = tmp_path / "s.db"
    values = [(i * 7 % 11) / 10 for i in range(40)]
    with OpenTelemetryExperimentTracker("p", store=store) as tracker:
        tracker.log_batch_sync([{"q": {"score": v}} for v in values], "d", [{}] * 40, run_id="a")
        tracker.log({"q": {"score": 0.5}}, "d", {}, run_id="one")
    out = cli(store, "runs", env={"COLUMNS": "80"})
    sem = scipy.stats.sem(values)
    half = scipy.stats.t.ppf(0.975, 39) * sem
    mean = sum(values) / 40
    assert f"{mean:.3f}±{half:.3f}" in out.stdout
    assert "± 95% CI: t per result" in out.stdout
    assert max(len(line) for line in out.stdout.splitlines()) <= 80
    runs = {r["run_id"]: r for r in json.loads(cli(store, "runs", "--json").stdout)}
    stats = runs["a"]["metrics"]["q.score"]
    assert stats["se"] == pytest.approx(sem, rel=1e-9)
    assert stats["ci_high"] - stats["ci_low"] == pytest.approx(2 * half, rel=1e-9)
    single = runs["one"]["metrics"]["q.score"]
    assert (single["se"], single["ci_low"], single["ci_high"]) == (None, None, None)


@pytest.fixture
def noisy_store(tmp_path: Path) -> Path:
    """run-a, run-b (qa.f1 0.3 lower on every sample, pass flags fall) and run-c (A's
    quality plus zero-mean noise) over 60 samples, each with a passage id."""
    rng = np.random.default_rng(7)
    quality = rng.uniform(0.3, 0.9, 60)
    runs = {
        "run-a": quality,
        "run-b": quality - 0.3,
        "run-c": np.clip(quality + rng.normal(0, 0.05, 60), 0, 1),
    }
    path = tmp_path / "noisy.db"
    with OpenTelemetryExperimentTracker("proj", store=path) as tracker:
        for run_id, scores in runs.items():
            results = [
                {"rag": {"f1": {"score": float(f)}, "passed": bool(f >= 0.5)}} for f in scores
            ]
            data = [{"id": f"q{i:03d}", "passage": f"p{i // 4}"} for i in range(60)]
            tracker.log_batch_sync(results, "qa", data, run_id=run_id)
    return path


def test_compare_text_fits_80_columns_and_leads_with_verdicts(noisy_store: Path) -> None:
    """At 80 columns no line is wider, names are whole, verdicts come first, worst rows first."""
    out = cli(noisy_store, "compare", "run-a", "run-b", env={"COLUMNS": "80"})
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    verdict_at = lines.index("verdict       metric (kind, better)")
    assert lines[verdict_at + 2].startswith("REGRESSED     rag.f1.score (mean, higher better)")
    assert "…" not in out.stdout
    samples_at = next(i for i, line in enumerate(lines) if line.startswith("regressed samples"))
    assert samples_at > verdict_at and "Holm correction" in lines[2]
    deltas = [float(line.split()[-1].replace("−", "-")) for line in lines if "    q0" in line]
    assert deltas == sorted(deltas) and deltas[0] == -1.0  # a flipped pass flag leads


@pytest.mark.parametrize("columns", [40, 60, 80, 132])
def test_compare_text_never_wider_than_the_terminal(gllm_store: Path, columns: int) -> None:
    """compare fits any terminal width from 40 columns, gllm-evals' long names included."""
    out = cli(gllm_store, "compare", "g-base", "g-verbose", env={"COLUMNS": str(columns)})
    assert out.exit_code == 0
    assert max(len(line) for line in out.stdout.splitlines()) <= columns
    assert "generation.verbosity.score" in out.stdout or columns < 50


def test_a_real_drop_fails_and_noise_passes(noisy_store: Path) -> None:
    """The gate fails on a drop on every sample and passes A against A plus noise."""
    out = cli(noisy_store, "compare", "run-a", "run-b", "--fail-on-regression")
    assert out.exit_code == 1 and out.stderr.startswith("FAIL: rag.f1.score regressed")
    out = cli(noisy_store, "compare", "run-a", "run-c", "--fail-on-regression")
    assert out.exit_code == 0, out.stderr


def test_compare_json_is_strict_json_with_every_statistic(noisy_store: Path) -> None:
    """--json parses without NaN/Infinity and carries intervals, p-values and the MDE."""
    out = cli(noisy_store, "compare", "run-a", "run-c", "--json", "--cluster", "passage")
    data = json.loads(out.stdout, parse_constant=lambda name: pytest.fail(name))
    f1 = next(m for m in data["metrics"] if m["metric"] == "rag.f1.score")
    assert f1["test"]["method"] == "clustered t" and f1["test"]["clusters"] == 15
    assert f1["estimate_a"]["method"] == "clustered t"
    assert {"low", "high", "se"} <= set(f1["test"]) and f1["mde"] > 0
    assert data["cluster"] == "passage" and data["family"] == ["rag.f1.score", "rag.passed"]


def test_cluster_field_missing_is_a_clear_error(noisy_store: Path) -> None:
    """--cluster naming a field the rows lack fails with the field and the row, no traceback."""
    out = cli(noisy_store, "compare", "run-a", "run-b", "--cluster", "chapter")
    assert out.exit_code == 1 and "Traceback" not in out.output
    assert "--cluster chapter: result 0 of run run-a (sample q000)" in out.stderr
