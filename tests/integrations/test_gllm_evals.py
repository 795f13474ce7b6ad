"""gllm-evals' own evaluate() logs through evaltrace (runs in benchmarks/.venv-peers)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.gllm

if os.environ.get("CI", "").lower() != "true":
    pytest.importorskip("gllm_evals", reason="gllm-evals is not installed (make test-gllm)")
os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")


def test_evaluate_logs_every_row(tmp_path: Path) -> None:
    """evaluate(..., experiment_tracker=evaltrace) stores each row's evaluator output and case."""
    from gllm_evals.evaluate import evaluate
    from gllm_evals.evaluator.evaluator import BaseEvaluator
    from gllm_evals.types import EvaluatorOutput, LLMTestCase

    from evaltrace.integrations.gllm_evals import gllm_evals_tracker

    class Exact(BaseEvaluator):  # type: ignore[misc]
        """Scores 1.0 when the answer equals the expected output."""

        def __init__(self) -> None:
            super().__init__(name="exact")

        async def _evaluate(self, data: Any) -> dict[str, Any]:
            ok = data.actual_output == data.expected_output
            return {
                self.name: EvaluatorOutput(
                    aggregate_success=ok, aggregate_score=float(ok), aggregate_explanation="-"
                )
            }

    rows = [
        LLMTestCase(input=f"q{i}", actual_output="a" if i % 2 else "b", expected_output="a")
        for i in range(6)
    ]
    with gllm_evals_tracker("gllm", store=tmp_path / "g.db") as tracker:
        result = asyncio.run(
            evaluate(rows, [Exact()], experiment_tracker=tracker, dataset_name="t")
        )
        (run,) = tracker.get_experiment_history()
        logged = tracker.get_run_results(run["run_id"])
    assert run["num_results"] == 6
    assert [r["data"]["input"] for r in logged] == [f"q{i}" for i in range(6)]
    assert all(isinstance(r["evaluation_result"], list) for r in logged)  # row-grouped, as sent
    assert "exact.aggregate_score" in run["metrics"]
    assert run["run_id"] in (result.experiment_uris.run_uri or "")
