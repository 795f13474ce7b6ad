"""``evaltrace demo``: an offline RAG evaluation, logged as two runs and compared.

Questions about a dozen countries are answered by two simulated pipelines: a ``baseline`` and a
``candidate`` whose retriever and generator are a bit better. Each row is scored with
deterministic metrics (normalized exact match, SQuAD-style token F1, context recall and a
``passed`` flag) and logged through ``log_batch_sync`` in chunks. Everything is drawn from
``random.Random(seed)``, so a seed always gives the same rows and scores.
"""

from __future__ import annotations

import os
import random
import shlex
import string
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import click

from ._cli_format import compare_report, results_table, runs_table
from ._compare import compare_runs
from ._tracker import OpenTelemetryExperimentTracker

__all__ = ["DATASET", "PROJECT", "context_recall", "exact_match", "run_demo", "score", "token_f1"]

PROJECT = "evaltrace-demo"
DATASET = "countries-qa"
CHUNK = 50
"""Rows per ``log_batch_sync`` call."""

# country, capital, official language(s), currency, continent
COUNTRIES = (
    ("France", "Paris", "French", "the euro", "Europe"),
    ("Japan", "Tokyo", "Japanese", "the Japanese yen", "Asia"),
    ("Brazil", "Brasília", "Portuguese", "the Brazilian real", "South America"),
    ("Kenya", "Nairobi", "Swahili and English", "the Kenyan shilling", "Africa"),
    ("Canada", "Ottawa", "English and French", "the Canadian dollar", "North America"),
    ("India", "New Delhi", "Hindi and English", "the Indian rupee", "Asia"),
    ("Egypt", "Cairo", "Arabic", "the Egyptian pound", "Africa"),
    ("Australia", "Canberra", "English", "the Australian dollar", "Oceania"),
    ("Mexico", "Mexico City", "Spanish", "the Mexican peso", "North America"),
    ("Poland", "Warsaw", "Polish", "the Polish złoty", "Europe"),
    ("Vietnam", "Hanoi", "Vietnamese", "the Vietnamese đồng", "Asia"),
    ("Argentina", "Buenos Aires", "Spanish", "the Argentine peso", "South America"),
)
QUESTIONS = (
    "What is the capital of {}?",
    "Which language is official in {}?",
    "What currency is used in {}?",
    "On which continent is {}?",
)
PASSAGE = (
    "{0} lies in {4}. Its capital is {1}; the official language is {2}, and people pay with {3}."
)
HEDGES = ("It is", "The answer is", "I believe it is")
ARTICLES = ("a", "an", "the")


@dataclass(frozen=True, slots=True)
class Pipeline:
    """One simulated RAG pipeline: how often it retrieves the right passage and answers well."""

    name: str
    model: str
    retriever: str
    gold_recall: float
    exact: float
    hedged: float
    partial: float


PIPELINES = (
    Pipeline("baseline", "demo-gen-small", "bm25-k3", 0.70, 0.45, 0.20, 0.15),
    Pipeline("candidate", "demo-gen-large", "hybrid-k3", 0.85, 0.55, 0.20, 0.12),
)


def tokens(text: str) -> list[str]:
    """SQuAD normalization: lower case, no punctuation or articles, split on whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in string.punctuation)
    return [t for t in text.split() if t not in ARTICLES]


def exact_match(answer: str, reference: str) -> float:
    """1.0 when the normalized answer equals the normalized reference."""
    return float(tokens(answer) == tokens(reference))


def token_f1(answer: str, reference: str) -> tuple[float, float, float]:
    """SQuAD token F1 with its precision and recall: ``(f1, precision, recall)``."""
    pred, gold = tokens(answer), tokens(reference)
    if not pred or not gold:
        same = float(pred == gold)
        return same, same, same
    common = sum((Counter(pred) & Counter(gold)).values())
    if not common:
        return 0.0, 0.0, 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall), precision, recall


def context_recall(contexts: list[str], reference: str) -> float:
    """Fraction of the reference's tokens found anywhere in the retrieved contexts."""
    gold = tokens(reference)
    found = {t for context in contexts for t in tokens(context)}
    return sum(t in found for t in gold) / len(gold) if gold else 1.0


def score(row: Mapping[str, Any]) -> dict[str, Any]:
    """The evaluation result of one row, in a gllm-evals-like nested shape."""
    f1, precision, recall = token_f1(row["answer"], row["reference"])
    ctx = context_recall(row["contexts"], row["reference"])
    return {
        "qa": {
            "exact_match": {"score": exact_match(row["answer"], row["reference"])},
            "token_f1": {
                "score": f1,
                "explanation": f"precision {precision:.2f}, recall {recall:.2f}",
            },
            "context_recall": {"score": ctx},
            "passed": f1 >= 0.5,
        }
    }


def _answer(pipeline: Pipeline, reference: str, other: str, draw: float, rng: random.Random) -> str:
    """A generated answer: exact, hedged, partly right or wrong, by where ``draw`` falls."""
    if draw < pipeline.exact:
        return rng.choice((reference, reference + ".", reference.lower()))
    if draw < pipeline.exact + pipeline.hedged:
        return f"{rng.choice(HEDGES)} {reference}."
    if draw < pipeline.exact + pipeline.hedged + pipeline.partial:
        words = [w for w in reference.split() if w not in ARTICLES]
        return " ".join([*words[: max(1, len(words) // 2)], rng.choice(other.split())])
    return other


def rows_for(pipeline: Pipeline, count: int, seed: int) -> list[dict[str, Any]]:
    """The rows one pipeline produces: questions (and how hard each is) shared by all pipelines."""
    shared = random.Random(seed)
    own = random.Random(f"{seed}-{pipeline.name}")
    rows = []
    for i in range(count):
        country = shared.randrange(len(COUNTRIES))
        attribute = shared.randrange(len(QUESTIONS))
        quality, retrieval = shared.random(), shared.random()
        facts = COUNTRIES[country]
        others = [j for j in range(len(COUNTRIES)) if j != country]
        contexts = [PASSAGE.format(*COUNTRIES[j]) for j in own.sample(others, 3)]
        if retrieval < pipeline.gold_recall:
            contexts[own.randrange(3)] = PASSAGE.format(*facts)
        reference = facts[attribute + 1]
        wrong = COUNTRIES[own.choice(others)][attribute + 1]
        rows.append(
            {
                "id": f"q{i:04d}",
                "question": QUESTIONS[attribute].format(facts[0]),
                "reference": reference,
                "contexts": contexts,
                "answer": _answer(pipeline, reference, wrong, quality, own),
            }
        )
    return rows


def _log_run(
    tracker: OpenTelemetryExperimentTracker, pipeline: Pipeline, count: int, seed: int
) -> str:
    rows = rows_for(pipeline, count, seed)
    run_id = f"demo-{pipeline.name}-{os.urandom(4).hex()}"
    metadata = {"model": pipeline.model, "retriever": pipeline.retriever, "seed": seed}
    with click.progressbar(length=count, label=f"logging {pipeline.name}", file=sys.stderr) as bar:
        for start in range(0, count, CHUNK):
            chunk: list[Mapping[str, Any]] = list(rows[start : start + CHUNK])
            scores: list[Mapping[str, Any]] = [score(r) for r in chunk]
            tracker.log_batch_sync(scores, DATASET, chunk, run_id=run_id, metadata=metadata)
            bar.update(len(chunk))
    return run_id


def run_demo(
    store_path: str | os.PathLike[str], rows: int = 300, seed: int = 0, out: TextIO | None = None
) -> tuple[str, str]:
    """Log the baseline and candidate runs to ``store_path``, print them and their comparison.

    Returns the two run ids. Progress goes to stderr, the report to ``out`` (default stdout).
    """
    with OpenTelemetryExperimentTracker(PROJECT, store=store_path) as tracker:
        with tracker.context(pipeline="demo", git_sha="0000000"):
            run_a, run_b = (_log_run(tracker, p, rows, seed) for p in PIPELINES)
        history = tracker.get_experiment_history(limit=10)
        results_a = tracker.get_run_results(run_a)
        results_b = tracker.get_run_results(run_b)
    store = shlex.quote(os.fspath(store_path))
    report = [
        f"runs of project {PROJECT!r} in {store}:",
        runs_table(history),
        "",
        f"first results of {run_a}:",
        results_table(results_a[:5]),
        "",
        compare_report(compare_runs(results_a, results_b), samples=5),
        "",
        f"next: evaltrace compare {run_a} {run_b} --fail-on-regression --store {store}",
    ]
    click.echo("\n".join(report), file=out)
    return run_a, run_b
