"""gllm-evals-shaped results and rows, written out by hand from gllm-evals 0.1.41's types.

``MetricResult`` (score, explanation, rubric_score, success, threshold, strict_mode,
higher_is_better, token_usage, decision, error when it failed) inside an ``EvaluatorOutput``
(aggregate_success, aggregate_score, aggregate_explanation, evaluator_token_usage, one extra
field per metric), row-grouped as ``[{evaluator: output}]``; ``LLMTestCase`` rows have no id.
"""

from __future__ import annotations

from typing import Any


def metric(score: float | None, *, higher_is_better: bool = True, **extra: Any) -> dict[str, Any]:
    """One gllm-evals ``MetricResult`` dump; ``score=None`` is an errored metric."""
    out: dict[str, Any] = {
        "score": score,
        "explanation": "the answer covers the reference",
        "rubric_score": None if score is None else round(score * 3),
        "success": score is not None and (score >= 0.5) == higher_is_better,
        "threshold": 0.5,
        "strict_mode": False,
        "higher_is_better": higher_is_better,
        "token_usage": {"gpt-4o-mini": {"input_tokens": 812, "output_tokens": 64}},
        "decision": None,
    }
    if score is None:
        out["error"] = {"code": "JUDGE_TIMEOUT", "message": "timed out", "children": []}
    out.update(extra)
    return out


def generation(completeness: float | None, verbosity: float | None) -> list[dict[str, Any]]:
    """A row-grouped gllm-evals result: one ``generation`` evaluator, two metrics."""
    return [
        {
            "generation": {
                "aggregate_success": completeness is not None and completeness >= 0.5,
                "aggregate_score": completeness if completeness is not None else 0.0,
                "aggregate_explanation": "aggregated over 2 metrics",
                "evaluator_token_usage": {
                    "gpt-4o-mini": {"input_tokens": 1624, "output_tokens": 128}
                },
                "completeness": metric(completeness),
                "verbosity": metric(verbosity, higher_is_better=False),
            }
        }
    ]


def llm_test_case(i: int, answer: str) -> dict[str, Any]:
    """An ``LLMTestCase`` dump: no id; ``actual_output`` is what the pipeline generated."""
    return {
        "input": f"What does clause {i} say?",
        "actual_output": answer,
        "expected_output": f"Clause {i} says {i * 7}.",
        "retrieved_context": [f"chunk {i}", f"chunk {i + 1}"],
        "expected_context": [f"chunk {i}"],
        "agent_trajectory": None,
        "expected_agent_trajectory": None,
        "tools_called": None,
        "expected_tools": None,
        "is_refusal": None,
        "attachments": {},
    }
