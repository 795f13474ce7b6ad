"""Inspect AI's own eval() (offline, on mockllm/model) logged by evaltrace's hook and imported
from its log file, read back exactly (make test-frameworks: inspect-ai 0.3.285)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import inspect_ai
import pytest
from click.testing import CliRunner
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.log import EvalLog
from inspect_ai.model import ChatMessageSystem, ChatMessageUser, ModelOutput, ModelUsage
from inspect_ai.scorer import Score, Target, match, mean, scorer
from inspect_ai.solver import TaskState, generate, solver

from evaltrace import SQLiteQueryAdapter
from evaltrace.cli import main

pytestmark = pytest.mark.frameworks

SAMPLES = [
    Sample(id="s1", input="1+1?", target="2", metadata={"level": 1}),
    Sample(id="s2", input="Capital of France?", target="Paris"),
]


@scorer(metrics=[mean()])
def length_ratio() -> Any:
    """A numeric score with an explanation and metadata, as custom scorers write them."""

    async def score(state: TaskState, target: Target) -> Score:
        chars = len(state.output.completion)
        return Score(
            value=chars / 10,
            explanation=f"{chars} characters",
            metadata={"chars": chars},
        )

    return score


def answer(messages: list[Any], *_: Any) -> ModelOutput:
    """mockllm's reply: "2" to the sum, "Lyon" to the capital. Usage is set, or mockllm would
    count tokens with tiktoken, which downloads its encoding (no network here)."""
    text = "2" if "1+1" in messages[-1].text else "Lyon"
    output = ModelOutput.from_content("mockllm", text)
    output.usage = ModelUsage(input_tokens=3, output_tokens=1, total_tokens=4)
    return output


def run_eval(log_dir: Path, log_format: str = "eval") -> EvalLog:
    """Inspect's own eval() of a two-sample task, two epochs, on mockllm/model."""
    task = Task(dataset=SAMPLES, solver=generate(), scorer=[match(), length_ratio()], name="arith")
    [log] = eval(
        task,
        model="mockllm/model",
        model_args={"custom_outputs": answer},
        epochs=2,
        log_dir=str(log_dir),
        log_format=log_format,  # type: ignore[arg-type]
        display="none",
    )
    assert log.status == "success", log.error
    return log


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch folder as the working directory, the hook on, its store in the folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVALTRACE_INSPECT", "1")
    monkeypatch.setenv("EVALTRACE_STORE", str(tmp_path / "hook.db"))
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    return tmp_path


def by_trial(store: Path, run_id: str) -> dict[tuple[str, int], Any]:
    """The run's results keyed by (sample id, epoch)."""
    with SQLiteQueryAdapter(str(store)) as reader:
        records = reader.run_results(run_id)
    return {(r["sample_id"], r["data"]["epoch"]): r for r in records}


def test_hook_logs_every_sample_and_epoch_of_a_real_eval(workdir: Path) -> None:
    """Each sample of each epoch is one result: scores, explanation, input, target, output."""
    log = run_eval(workdir / "logs")
    results = by_trial(workdir / "hook.db", f"inspect_{log.eval.eval_id}")
    assert sorted(results) == [("s1", 1), ("s1", 2), ("s2", 1), ("s2", 2)]
    first = results[("s1", 1)]
    assert first["evaluation_result"] == {
        "match": {"score": 1.0, "label": "C", "answer": "2", "explanation": "2"},
        "length_ratio": {"score": 0.1, "explanation": "1 characters", "metadata": {"chars": 1}},
    }
    assert first["data"] == {
        "id": "s1",
        "epoch": 1,
        "input": "1+1?",
        "target": "2",
        "output": "2",
        "metadata": {"level": 1},
    }
    assert results[("s2", 2)]["evaluation_result"]["match"] == {
        "score": 0.0,
        "label": "I",
        "answer": "Lyon",
        "explanation": "Lyon",
    }
    assert results[("s2", 2)]["data"]["output"] == "Lyon"
    assert first["dataset_name"] == "arith"
    assert first["project_name"] == "inspect"
    assert first["metadata"] | {"framework_version": None} == {
        "framework": "inspect_ai",
        "framework_version": None,
        "inspect.task": "arith",
        "inspect.task_version": 0,
        "inspect.model": "mockllm/model",
        "inspect.eval_id": log.eval.eval_id,
        "inspect.run_id": log.eval.run_id,
        "inspect.task_id": log.eval.task_id,
    }


@pytest.mark.parametrize("log_format", ["eval", "json"])
def test_import_reads_the_log_back_as_the_hook_logged_it(workdir: Path, log_format: str) -> None:
    """`evaltrace import inspect LOG` gives the hook's run exactly; a second import adds nothing."""
    log = run_eval(workdir / "logs", log_format)
    run_id = f"inspect_{log.eval.eval_id}"
    args = ["import", "inspect", log.location, "--store", str(workdir / "imported.db")]
    first = CliRunner().invoke(main, args)
    assert first.exit_code == 0, first.output
    assert first.output.strip() == run_id
    hooked = by_trial(workdir / "hook.db", run_id)
    imported = by_trial(workdir / "imported.db", run_id)
    keys = ("evaluation_result", "data", "metadata", "dataset_name", "project_name", "sample_id")
    assert {k: [r[f] for f in keys] for k, r in imported.items()} == {
        k: [r[f] for f in keys] for k, r in hooked.items()
    }
    with SQLiteQueryAdapter(workdir / "imported.db") as reader:  # scorers at Inspect's version
        evaluators = (reader.run_provenance(run_id) or {})["evaluators"]
    assert evaluators and set(evaluators.values()) == {inspect_ai.__version__}
    with SQLiteQueryAdapter(workdir / "hook.db") as reader:  # the hook said the same
        assert (reader.run_provenance(run_id) or {})["evaluators"] == evaluators
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 1
    assert f"run {run_id!r} is already in the store" in again.output
    assert len(by_trial(workdir / "imported.db", run_id)) == 4


def test_hook_is_off_without_its_variable(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installed but not asked for, the hook writes nothing."""
    monkeypatch.delenv("EVALTRACE_INSPECT")
    run_eval(workdir / "logs")
    assert not (workdir / "hook.db").exists()


def test_import_of_a_file_that_is_no_log_names_it(tmp_path: Path) -> None:
    """A file Inspect cannot read is a one-line error naming it, never a traceback."""
    bogus = tmp_path / "not-a-log.json"
    bogus.write_text('{"hello": 1}', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["import", "inspect", str(bogus), "--store", str(tmp_path / "s.db")]
    )
    assert result.exit_code == 1
    assert f"{bogus}: not an Inspect log" in result.output


@solver
def fail_on_boom() -> Any:
    """Raises on the sample whose last message says "boom", as a broken solver would."""

    async def solve(state: TaskState, generate: Any) -> TaskState:
        if "boom" in state.messages[-1].text:
            raise RuntimeError("the solver blew up")
        return await generate(state)

    return solve


def test_chat_inputs_and_errored_samples_are_kept(workdir: Path) -> None:
    """Chat-message inputs are stored as Inspect dumps them; a failed sample logs its error."""
    chat = [ChatMessageSystem(content="Be terse."), ChatMessageUser(content="1+1?")]
    dataset = [
        Sample(id="chat", input=chat, target="2"),
        Sample(id="bad", input="boom", target="x"),
    ]
    task = Task(dataset=dataset, solver=fail_on_boom(), scorer=match(), name="mixed")
    [log] = eval(
        task,
        model="mockllm/model",
        model_args={"custom_outputs": answer},
        log_dir=str(workdir / "logs"),
        fail_on_error=False,
        display="none",
    )
    results = by_trial(workdir / "hook.db", f"inspect_{log.eval.eval_id}")
    stored_input = results[("chat", 1)]["data"]["input"]
    assert [(m["role"], m["content"]) for m in stored_input] == [
        ("system", "Be terse."),
        ("user", "1+1?"),
    ]
    assert stored_input == [m.model_dump(mode="json", exclude_none=True) for m in chat]
    assert "the solver blew up" in results[("bad", 1)]["evaluation_result"]["error"]
