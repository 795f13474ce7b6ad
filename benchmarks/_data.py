"""The evaluation results every benchmark logs: gllm-evals-like, deterministic, dependency-free.

Peer runners import this module from their own venv, so it must import nothing but the
standard library.
"""

from __future__ import annotations

from typing import Any

__all__ = ["QUESTIONS", "data_row", "result", "results_and_rows"]

QUESTIONS = (
    "What is the maximum recommended daily dose of paracetamol for a healthy adult?",
    "Which river flows through the city of Vienna, and where does it end?",
    "How does a write-ahead log let SQLite readers proceed while a writer commits?",
    "What does the OpenTelemetry BatchSpanProcessor do when its queue is full?",
)

_CONTEXTS = (
    "Paracetamol (acetaminophen) is an analgesic; the usual maximum for adults is 4 g per day.",
    "Overdose can cause severe liver damage; lower limits apply to people with liver disease.",
    "The Danube flows through Vienna on its way from the Black Forest to the Black Sea.",
    "In WAL mode, changes are appended to a separate file; readers keep reading the database.",
)


def _metric(score: int, explanation: str, success: bool) -> dict[str, Any]:
    return {"score": score, "explanation": explanation, "success": success}


def result(i: int) -> dict[str, Any]:
    """One gllm-evals ``EvaluatorResult`` as plain data: ``{evaluator: EvaluatorOutput dump}``.

    The aggregate fields are ``EvaluatorOutput``'s; the scored metrics are its extra fields.
    """
    passed = i % 4 != 0
    return {
        "generation": {
            "aggregate_success": passed,
            "aggregate_score": 1.0 if passed else 0.0,
            "aggregate_explanation": "Complete, grounded and concise."
            if passed
            else ("The answer omits the liver-damage caveat."),
            "evaluator_token_usage": None,
            "completeness": _metric(
                3 - i % 3, "The answer covers the dose and the liver-damage caveat.", i % 3 == 0
            ),
            "groundedness": _metric(3, "Every claim is supported by the retrieved contexts.", True),
            "redundancy": _metric(1, "No statement is repeated.", True),
        }
    }


def data_row(i: int) -> dict[str, Any]:
    """The evaluated input, with gllm-evals' ``LLMTestCase`` field names; ~600 bytes as JSON."""
    return {
        "input": QUESTIONS[i % len(QUESTIONS)],
        "actual_output": (
            f"[{i}] For a healthy adult the maximum is 4 grams per day, taken as 500 mg to 1 g "
            "every four to six hours; people with liver disease should take less."
        ),
        "expected_output": "At most 4 g per day for healthy adults; less with liver disease.",
        "retrieved_context": list(_CONTEXTS[:3]),
    }


def results_and_rows(n: int, offset: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``n`` results and their data rows (fresh objects, as a caller would hold them)."""
    return [result(offset + i) for i in range(n)], [data_row(offset + i) for i in range(n)]
