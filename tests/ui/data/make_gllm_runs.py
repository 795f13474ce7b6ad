"""Records ``gllm_runs.json``: three real gllm-evals ``evaluate()`` runs
(ClassicalRetrievalEvaluator, k = 1, 3, 5) of retrievers of rising quality over the same 20
questions, logged through evaltrace's gllm-evals tracker and read back. Run in .venv-gllm
(make test-gllm builds it):

    .venv-gllm/bin/python tests/ui/data/make_gllm_runs.py
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")

from gllm_evals.evaluate import evaluate
from gllm_evals.evaluator.classical_retrieval_evaluator import (
    ClassicalRetrievalEvaluator,
)

from evaltrace.integrations.gllm_evals import GllmEvalsTracker
from evaltrace.query import SQLiteQueryAdapter

RUNS = ("gllm-baseline", "gllm-rerank", "gllm-hybrid")


def rows_of(quality: int) -> list[dict[str, Any]]:
    """Quality 0: the two relevant chunks at ranks 4-5; 1: at ranks 2-3 on odd questions;
    2: first."""
    rows = []
    for i in range(20):
        truth = [f"c{i % 7}", f"c{(i + 3) % 7}"]
        others = [f"c{k}" for k in range(7) if f"c{k}" not in truth]
        if quality == 2:
            order = truth + others[:3]
        elif quality == 1 and i % 2:
            order = others[:1] + truth + others[1:3]
        else:
            order = others[:3] + truth
        rows.append(
            {
                "query": f"Which passage answers question {i} about the tariff?",
                "retrieved_chunks": {c: 1.0 - j / 10 for j, c in enumerate(order)},
                "ground_truth_chunk_ids": truth,
            }
        )
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "g.db"
        for quality, run_id in enumerate(RUNS):
            tracker = GllmEvalsTracker("gllm-retrieval", store=store)
            evaluator = ClassicalRetrievalEvaluator(k=[1, 3, 5])
            run = evaluate(
                rows_of(quality),
                [evaluator],
                tracker,
                batch_size=10,
                dataset_name="tariff-qa",
                run_id=run_id,
            )
            asyncio.run(run)
        adapter = SQLiteQueryAdapter(store)
        out = {}
        for run_id in RUNS:
            results = adapter.run_results(run_id)
            out[run_id] = {
                "project": results[0]["project_name"],
                "dataset": results[0]["dataset_name"],
                "metadata": results[0]["metadata"],
                "rows": [
                    {"evaluation_result": r["evaluation_result"], "data": r["data"]}
                    for r in results
                ],
            }
        adapter.close()
    target = Path(__file__).with_name("gllm_runs.json")
    target.write_text(json.dumps(out, separators=(",", ":"), default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
