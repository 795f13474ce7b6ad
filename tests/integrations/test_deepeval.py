"""DeepEval's own evaluate(), offline with metrics that need no LLM, logged through evaltrace
and read back exactly (make test-frameworks: deepeval 4.3.1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

os.environ["DEEPEVAL_TELEMETRY_OPT_OUT"] = "1"  # before deepeval is imported: no analytics

import deepeval
from deepeval import evaluate
from deepeval.evaluate.configs import AsyncConfig, CacheConfig, DisplayConfig
from deepeval.metrics import BaseMetric
from deepeval.test_case import LLMTestCase

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace.integrations._importing import RunExistsError
from evaltrace.integrations.deepeval import log_evaluation

pytestmark = pytest.mark.frameworks


class ExactMatch(BaseMetric):  # type: ignore[misc]
    """1.0 when the answer equals the expected output, with a reason."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float:
        self.score = float(test_case.actual_output == test_case.expected_output)
        self.reason = "equal" if self.score else f"expected {test_case.expected_output!r}"
        self.success = self.score >= self.threshold
        return self.score

    async def a_measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float:
        return self.measure(test_case)

    def is_successful(self) -> bool:
        return bool(self.success)

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return "Exact Match"


class Length(ExactMatch):
    """The answer's length over 10, strict: passes only at 1.0."""

    def measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float:
        self.score = len(test_case.actual_output or "") / 10
        self.reason = None
        self.success = self.score >= self.threshold
        return self.score

    @property
    def __name__(self) -> str:  # type: ignore[override]
        return "Length"


CASES = [
    LLMTestCase(
        input="Capital of France?",
        actual_output="Paris",
        expected_output="Paris",
        retrieval_context=["Paris is the capital of France."],
        name="capital",
        additional_metadata={"source": "geo"},
    ),
    LLMTestCase(input="2+2?", actual_output="five", expected_output="4", context=["arithmetic"]),
]


def run_deepeval() -> Any:
    """DeepEval's evaluate(): no LLM, no cache file, nothing printed."""
    return evaluate(
        CASES,
        [ExactMatch(), Length(threshold=1.0)],
        async_config=AsyncConfig(run_async=False),
        display_config=DisplayConfig(print_results=False, show_indicator=False),
        cache_config=CacheConfig(write_cache=False, use_cache=False),
    )


def test_evaluate_result_reads_back_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scores, reasons, success, thresholds and test-case fields come back as DeepEval gave them."""
    monkeypatch.chdir(tmp_path)  # DeepEval writes .deepeval/ in the working directory
    result = run_deepeval()
    with OpenTelemetryExperimentTracker("rag", store=tmp_path / "s.db") as tracker:
        run_id = log_evaluation(result, tracker, dataset_name="geo-v1")
        records = tracker.get_run_results(run_id)
    assert records[0]["sample_id"] == "capital"
    with SQLiteQueryAdapter(tmp_path / "s.db") as reader:  # the metrics, at DeepEval's version
        evaluators = (reader.run_provenance(run_id) or {})["evaluators"]
    assert evaluators and set(evaluators.values()) == {deepeval.__version__}
    assert "Exact Match" in evaluators
    first, second = records
    assert first["evaluation_result"] == {
        "Exact Match": {
            "score": 1.0,
            "reason": "equal",
            "success": True,
            "threshold": 0.5,
            "strict_mode": False,
            "flaky": False,
        },
        "Length": {
            "score": 0.5,
            "success": False,
            "threshold": 1.0,
            "strict_mode": False,
            "flaky": False,
        },
        "success": False,
    }
    assert first["data"] == {
        "id": "capital",
        "name": "capital",
        "input": "Capital of France?",
        "actual_output": "Paris",
        "expected_output": "Paris",
        "retrieval_context": ["Paris is the capital of France."],
        "metadata": {"source": "geo"},
        "conversational": False,
        "multimodal": False,
        "index": 0,
    }
    assert second["evaluation_result"]["Exact Match"]["reason"] == "expected '4'"
    assert "id" not in second["data"]  # DeepEval's positional name is no identity
    assert second["data"]["context"] == ["arithmetic"]
    assert first["metadata"]["framework"] == "deepeval"
    for test_result, record in zip(result.test_results, records, strict=True):
        for metric in test_result.metrics_data:
            stored = record["evaluation_result"][metric.name]
            assert (stored["score"], stored.get("reason"), stored["success"]) == (
                metric.score,
                metric.reason,
                metric.success,
            )


def test_each_evaluate_is_a_run_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two results logged by one tracker are two runs; a run id given twice is refused."""
    monkeypatch.chdir(tmp_path)
    result = run_deepeval()
    with OpenTelemetryExperimentTracker("rag", store=tmp_path / "s.db") as tracker:
        first = log_evaluation(result, tracker, dataset_name="geo-v1")
        second = log_evaluation(result, tracker, dataset_name="geo-v1")
        assert first != second
        log_evaluation(result, tracker, dataset_name="geo-v1", run_id="fixed")
        with pytest.raises(RunExistsError, match="'fixed' is already in the store"):
            log_evaluation(result, tracker, dataset_name="geo-v1", run_id="fixed")
        assert len(tracker.get_run_results("fixed")) == 2
