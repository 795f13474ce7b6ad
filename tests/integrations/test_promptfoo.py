"""promptfoo's results file (`promptfoo eval -o results.json`) imported as one run, exactly.

The file-based tests run everywhere on a results file promptfoo 0.121.20 wrote (committed
beside its config in promptfoo/); the `frameworks` one runs promptfoo itself (npm, offline,
its echo provider) from the copy `make test-frameworks` installs with `npm ci`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace.cli import main
from evaltrace.integrations.promptfoo import convert_results, entry_id

HERE = Path(__file__).parent / "promptfoo"
RESULTS = HERE / "results-0.121.20.json"


def imported(results: Path, store: Path) -> tuple[str, list[Any]]:
    """`evaltrace import promptfoo FILE`: the run id printed and the run read back."""
    outcome = CliRunner().invoke(main, ["import", "promptfoo", str(results), "--store", str(store)])
    assert outcome.exit_code == 0, outcome.output
    run_id = outcome.output.strip()
    with SQLiteQueryAdapter(str(store)) as reader:
        return run_id, reader.run_results(run_id)


def check_exact(document: dict[str, Any], records: list[Any]) -> None:
    """Each entry's grading, vars, prompt and output come back as promptfoo wrote them."""
    entries = document["results"]["results"]
    assert len(records) == len(entries)
    for entry, record in zip(entries, records, strict=True):
        result, data = record["evaluation_result"], record["data"]
        assert result["success"] == entry["success"]
        assert result["score"] == entry["score"]
        grading = dict(entry["gradingResult"])
        assert data.get("grading_token_usage") == grading.pop("tokensUsed", None)
        assert result["gradingResult"] == grading
        assert data.get("failure_reason") == entry.get("failureReason")
        assert result.get("error") == entry.get("error")
        assert data["vars"] == entry["vars"]
        assert data["prompt"] == entry["prompt"]["raw"]
        assert data["prompt_label"] == entry["prompt"]["label"]
        assert data["provider"] == entry["provider"]["id"]
        assert data["output"] == entry["response"]["output"]
        assert data.get("description") == entry["testCase"].get("description")


def test_results_file_reads_back_exactly(tmp_path: Path) -> None:
    """Prompts, vars, outputs and every assertion's pass, score and reason are kept."""
    document = json.loads(RESULTS.read_text(encoding="utf-8"))
    run_id, records = imported(RESULTS, tmp_path / "s.db")
    assert run_id == f"promptfoo_{document['evalId']}"
    check_exact(document, records)
    failed = records[1]["evaluation_result"]
    assert failed["gradingResult"]["componentResults"][0]["assertion"] == {
        "type": "contains",
        "value": "five",
    }
    assert failed["error"] == 'Expected output to contain "five"'
    assert records[0]["dataset_name"] == "evaltrace echo test"
    assert records[0]["metadata"]["framework_version"] == "0.121.20"
    with OpenTelemetryExperimentTracker("promptfoo", store=tmp_path / "s.db") as tracker:
        [run] = tracker.get_experiment_history()
    assert sorted(run["metrics"]) == [  # token counts are no scores
        "gradingResult.pass",
        "gradingResult.score",
        "score",
        "success",
    ]


def test_the_assertion_types_and_promptfoo_version_are_the_runs_evaluators(
    tmp_path: Path,
) -> None:
    """Each assertion type promptfoo graded by is an evaluator at promptfoo's version."""
    run_id, _ = imported(RESULTS, tmp_path / "s.db")
    with SQLiteQueryAdapter(str(tmp_path / "s.db")) as reader:
        provenance = reader.run_provenance(run_id) or {}
    assert provenance["evaluators"] == {
        "promptfoo:contains": "0.121.20",
        "promptfoo:equals": "0.121.20",
    }


def test_importing_twice_adds_nothing(tmp_path: Path) -> None:
    """The second import of a file is refused, naming the run; the store keeps one copy."""
    run_id, records = imported(RESULTS, tmp_path / "s.db")
    again = CliRunner().invoke(
        main, ["import", "promptfoo", str(RESULTS), "--store", str(tmp_path / "s.db")]
    )
    assert again.exit_code == 1
    assert f"run {run_id!r} is already in the store" in again.output
    with SQLiteQueryAdapter(str(tmp_path / "s.db")) as reader:
        assert len(reader.run_results(run_id)) == len(records)


def broken(tmp_path: Path, document: Any) -> str:
    """The CLI's output for a results file holding ``document`` (must fail cleanly)."""
    path = tmp_path / "results.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    outcome = CliRunner().invoke(
        main, ["import", "promptfoo", str(path), "--store", str(tmp_path / "s.db")]
    )
    assert outcome.exit_code == 1
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
    return str(outcome.output)


def test_bad_files_are_one_line_errors_naming_file_and_entry(tmp_path: Path) -> None:
    """Not JSON, not a results file, a bad entry: each named, never a traceback."""
    path = tmp_path / "results.json"
    assert f"{path}: not readable as JSON" in broken(tmp_path, "{nope")
    assert f"{path}: results: expected an object" in broken(tmp_path, {"evalId": "e"})
    good = json.loads(RESULTS.read_text(encoding="utf-8"))
    good["results"]["results"][1] = ["not", "an", "entry"]
    assert f"{path}: results.results[1]: expected an object" in broken(tmp_path, good)
    good["results"]["results"][1] = {"prompt": "a string, not an object"}
    assert f"{path}: results.results[1]: not a promptfoo result" in broken(tmp_path, good)
    del good["evalId"]
    assert f"{path}: evalId" in broken(tmp_path, good)
    assert not (tmp_path / "s.db").exists() or "Traceback" not in broken(tmp_path, good)


TEXT = st.text(max_size=30)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def entries(draw: st.DrawFn) -> dict[str, Any]:
    """A promptfoo result entry with arbitrary vars, outputs, grading and metadata."""
    test_vars = draw(st.dictionaries(TEXT, JSONISH, max_size=3))
    passed = draw(st.booleans())
    return {
        "success": passed,
        "score": draw(st.floats(0, 1)),
        "namedScores": draw(st.dictionaries(TEXT, st.floats(0, 1), max_size=2)),
        "gradingResult": {
            "pass": passed,
            "score": draw(st.floats(0, 1)),
            "reason": draw(TEXT),
            "componentResults": draw(st.lists(st.dictionaries(TEXT, JSONISH), max_size=2)),
        },
        "prompt": {"raw": draw(TEXT), "label": draw(TEXT)},
        "provider": {"id": draw(TEXT)},
        "response": {"output": draw(JSONISH)},
        "testCase": {"description": draw(TEXT), "vars": test_vars, "metadata": {}},
        "vars": test_vars,
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entries(), min_size=1, max_size=4))
def test_any_results_file_round_trips(
    tmp_path_factory: pytest.TempPathFactory, batch: list[Any]
) -> None:
    """Whatever vars, outputs and grading a file holds, the run reads back exactly."""
    document = {"evalId": "eval-x", "results": {"version": 3, "results": batch}}
    store = tmp_path_factory.mktemp("pf") / "s.db"
    with OpenTelemetryExperimentTracker("promptfoo", store=store) as tracker:
        converted = convert_results(document)
        run_id = tracker.log_batch_sync(
            converted.results, converted.dataset_name, converted.rows, run_id="r"
        )
        records = tracker.get_run_results(run_id)
    for entry, record in zip(batch, records, strict=True):
        entry.setdefault("error", None)
        expected = {k: entry[k] for k in ("success", "score", "namedScores", "gradingResult")}
        if not entry["namedScores"]:
            del expected["namedScores"]
        assert record["evaluation_result"] == expected
        assert record["data"]["vars"] == entry["vars"]
        assert record["data"].get("output") == entry["response"]["output"]
        assert record["sample_id"] == entry_id(
            entry["provider"]["id"],
            entry["prompt"]["label"],
            entry["vars"],
            entry["testCase"]["description"],
        )


@pytest.mark.frameworks
def test_promptfoo_itself_offline_reads_back_exactly(tmp_path: Path) -> None:
    """promptfoo eval (npm 0.121.20, echo provider, no network) -o results.json, imported."""
    binary = os.environ.get("EVALTRACE_PROMPTFOO")
    if not binary:
        if os.environ.get("EVALTRACE_REQUIRE_FRAMEWORKS") == "1":
            pytest.fail(
                "EVALTRACE_PROMPTFOO (the promptfoo binary) is required: make test-frameworks"
            )
        pytest.skip("promptfoo not installed: make test-frameworks installs it")
    out = tmp_path / "results.json"
    env = os.environ | {
        "PROMPTFOO_DISABLE_TELEMETRY": "1",
        "PROMPTFOO_DISABLE_UPDATE": "1",
        "PROMPTFOO_CONFIG_DIR": str(tmp_path / "promptfoo-home"),
    }
    ran = subprocess.run(
        [
            binary,
            "eval",
            "-c",
            str(HERE / "promptfooconfig.yaml"),
            "-o",
            str(out),
            "--no-cache",
            "--no-write",
            "--no-progress-bar",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert ran.returncode in (0, 100), ran.stderr  # 100: some assertion failed, as planned
    document = json.loads(out.read_text(encoding="utf-8"))
    _, records = imported(out, tmp_path / "s.db")
    check_exact(document, records)
    assert [r["evaluation_result"]["success"] for r in records] == [True, False]
