"""ragas's own evaluate(), offline with its non-LLM metrics, logged through evaltrace and read
back exactly (make test-frameworks: ragas 0.4.3)."""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

os.environ["RAGAS_DO_NOT_TRACK"] = "true"  # before ragas is imported: no analytics

with warnings.catch_warnings():  # 0.4 moves these to ragas.metrics.collections (LLM-typed)
    warnings.simplefilter("ignore", DeprecationWarning)
    import ragas
    from ragas import EvaluationDataset, evaluate
    from ragas.metrics import (
        BleuScore,
        ExactMatch,
        NonLLMStringSimilarity,
        RougeScore,
        StringPresence,
    )

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace.integrations.ragas import log_evaluation

pytestmark = [
    pytest.mark.frameworks,
    pytest.mark.filterwarnings("ignore:.*evaluate.. is deprecated:DeprecationWarning"),
]

ROWS = [
    {
        "user_input": "Where is the Eiffel Tower?",
        "response": "The Eiffel Tower is in Paris, France.",
        "reference": "The Eiffel Tower is in Paris, France.",
        "retrieved_contexts": ["The Eiffel Tower stands in Paris."],
    },
    {
        "user_input": "What is 2+2?",
        "response": "The answer is five.",
        "reference": "The answer is four.",
    },
]


def run_ragas() -> Any:
    """ragas's evaluate() with metrics that need no LLM, no embeddings and no download."""
    metrics = [ExactMatch(), StringPresence(), NonLLMStringSimilarity(), BleuScore(), RougeScore()]
    return evaluate(EvaluationDataset.from_list(ROWS), metrics=metrics, show_progress=False)


def test_evaluate_result_reads_back_exactly(tmp_path: Path) -> None:
    """Every score of every sample, and the sample's fields, come back as ragas gave them."""
    result = run_ragas()
    with OpenTelemetryExperimentTracker("rag", store=tmp_path / "s.db") as tracker:
        run_id = log_evaluation(result, tracker, dataset_name="tour-v1")
        records = tracker.get_run_results(run_id)
    assert [r["evaluation_result"] for r in records] == result.scores
    with SQLiteQueryAdapter(tmp_path / "s.db") as reader:  # the metrics, at ragas's version
        evaluators = (reader.run_provenance(run_id) or {})["evaluators"]
    assert evaluators == dict.fromkeys(result.scores[0], ragas.__version__)
    assert [r["data"] for r in records] == ROWS
    first, second = records
    assert first["evaluation_result"]["exact_match"] == 1.0
    assert second["evaluation_result"]["exact_match"] == 0.0
    assert 0 < second["evaluation_result"]["non_llm_string_similarity"] < 1
    assert set(first["evaluation_result"]) == {
        "exact_match",
        "string_present",
        "non_llm_string_similarity",
        "bleu_score",
        "rouge_score(mode=fmeasure)",
    }
    assert first["metadata"]["framework"] == "ragas"
    history = tracker_history(tmp_path / "s.db")
    assert history["rouge_score(mode=fmeasure)"]["count"] == 2


def tracker_history(store: Path) -> dict[str, Any]:
    """The one run's score summaries, as `evaltrace runs` shows them."""
    with OpenTelemetryExperimentTracker("rag", store=store) as tracker:
        [run] = tracker.get_experiment_history()
    return dict(run["metrics"])


def test_a_score_ragas_could_not_compute_is_none(tmp_path: Path) -> None:
    """NaN (ragas's mark of a failed metric) is stored as None: JSON has no NaN."""
    result = run_ragas()
    result.scores[1]["bleu_score"] = math.nan
    with OpenTelemetryExperimentTracker("rag", store=tmp_path / "s.db") as tracker:
        records = tracker.get_run_results(log_evaluation(result, tracker, dataset_name="tour"))
    assert records[1]["evaluation_result"]["bleu_score"] is None
