"""The demo pipeline: deterministic rows, SQuAD-style metrics, two logged runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from evaltrace import SQLiteQueryAdapter
from evaltrace._demo import (
    PIPELINES,
    context_recall,
    exact_match,
    rows_for,
    run_demo,
    score,
    token_f1,
)
from evaltrace.query import HistoryFilter

METRICS = {"qa.exact_match.score", "qa.token_f1.score", "qa.context_recall.score", "qa.passed"}


def test_demo_logs_two_runs_of_n_rows(tmp_path: Path) -> None:
    """run_demo logs N rows per run; history shows both runs with the demo's metric names."""
    out = io.StringIO()
    store = tmp_path / "demo.db"
    run_a, run_b = run_demo(store, rows=300, seed=0, out=out)
    with SQLiteQueryAdapter(store) as reader:
        history = reader.history(HistoryFilter())
        assert len(reader.run_results(run_a)) == len(reader.run_results(run_b)) == 300
    assert {r["run_id"] for r in history} == {run_a, run_b}
    assert all(set(r["metrics"]) == METRICS and r["num_results"] == 300 for r in history)
    assert {r["metadata"]["model"] for r in history} == {p.model for p in PIPELINES}
    report = out.getvalue()
    assert (
        run_a in report and run_b in report and "regressed samples, most regressed first" in report
    )
    assert "improved      qa.context_recall.score" in report  # the candidate is better


def test_demo_results_carry_the_context(tmp_path: Path) -> None:
    """Every demo result carries the pipeline context and a row id to pair runs by."""
    run_a, _ = run_demo(tmp_path / "demo.db", rows=10, seed=1, out=io.StringIO())
    with SQLiteQueryAdapter(tmp_path / "demo.db") as reader:
        results = reader.run_results(run_a)
    assert all(r["context"]["pipeline"] == "demo" for r in results)
    assert [r["sample_id"] for r in results] == [f"q{i:04d}" for i in range(10)]


def test_rows_are_deterministic_per_seed() -> None:
    """A seed always gives the same rows; another seed gives other rows."""
    baseline = PIPELINES[0]
    assert rows_for(baseline, 50, seed=7) == rows_for(baseline, 50, seed=7)
    assert rows_for(baseline, 50, seed=7) != rows_for(baseline, 50, seed=8)


def test_pipelines_share_questions_and_candidate_is_better() -> None:
    """Both pipelines answer the same questions; the candidate scores higher on average."""
    base, cand = (rows_for(p, 300, seed=0) for p in PIPELINES)
    assert [r["question"] for r in base] == [r["question"] for r in cand]

    def mean_f1(rows: list[dict[str, object]]) -> float:
        return sum(float(score(r)["qa"]["token_f1"]["score"]) for r in rows) / len(rows)

    assert mean_f1(cand) > mean_f1(base)
    kinds = {score(r)["qa"]["token_f1"]["score"] for r in base}
    assert 1.0 in kinds and 0.0 in kinds and any(0 < f < 1 for f in kinds)


def test_exact_match_normalizes_case_punctuation_and_articles() -> None:
    """Exact match ignores case, punctuation and articles, as SQuAD does."""
    assert exact_match("The  Japanese Yen.", "the japanese yen") == 1.0
    assert exact_match("yen", "the Japanese yen") == 0.0


@pytest.mark.parametrize(
    ("answer", "reference", "f1"),
    [
        ("Tokyo", "Tokyo", 1.0),
        ("It is Tokyo.", "Tokyo", 0.5),
        ("Japanese", "the Japanese yen", 2 / 3),
        ("Osaka", "Tokyo", 0.0),
        ("", "", 1.0),
    ],
)
def test_token_f1_is_squad_style(answer: str, reference: str, f1: float) -> None:
    """Token F1 is the harmonic mean of token precision and recall after normalization."""
    assert token_f1(answer, reference)[0] == pytest.approx(f1)


def test_context_recall_counts_reference_tokens_found() -> None:
    """Context recall is the fraction of reference tokens present in the contexts."""
    contexts = ["People in Japan pay with the Japanese yen.", "Canberra is in Australia."]
    assert context_recall(contexts, "the Japanese yen") == 1.0
    assert context_recall(contexts, "the Kenyan shilling") == 0.0
    assert context_recall(contexts, "Swahili and English") == 0.0
    assert context_recall(["English is spoken"], "Swahili and English") == pytest.approx(1 / 3)


def test_passed_means_f1_at_least_half() -> None:
    """The passed flag is token F1 >= 0.5."""
    row = {"answer": "It is Tokyo.", "reference": "Tokyo", "contexts": []}
    assert score(row)["qa"]["passed"] is True
    assert score({**row, "answer": "I believe it is Tokyo."})["qa"]["passed"] is False
