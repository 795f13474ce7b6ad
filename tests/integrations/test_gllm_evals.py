"""gllm-evals' own evaluate() / evaluate_suites() log through evaltrace, and read back as its
JSONExperimentTracker does (make test-gllm: gllm-evals-binary 0.1.41 in .venv-gllm)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

pytestmark = pytest.mark.gllm

os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")

from gllm_evals.evaluate import evaluate  # noqa: E402
from gllm_evals.evaluate_suites import EvalSuite, evaluate_suites  # noqa: E402
from gllm_evals.evaluator.evaluator import BaseEvaluator  # noqa: E402
from gllm_evals.experiment_tracker import JSONExperimentTracker  # noqa: E402
from gllm_evals.experiment_tracker.experiment_tracker import (  # noqa: E402
    BaseExperimentTracker as GllmBase,
)
from gllm_evals.metrics.metric import BaseMetric  # noqa: E402
from gllm_evals.types import LLMTestCase, MetricScore  # noqa: E402

from evaltrace.integrations.gllm_evals import GllmEvalsTracker  # noqa: E402


class Match(BaseMetric):  # type: ignore[misc]
    """1.0 when the answer equals the expected output; raises on the input "boom"."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "match"
        self.required_fields = {"actual_output", "expected_output"}

    async def _evaluate(self, data: Any) -> Any:
        if data.input == "boom":
            raise RuntimeError("boom")
        ok = data.actual_output == data.expected_output
        return MetricScore(score=float(ok), explanation="same" if ok else "differs")


class Brevity(BaseMetric):  # type: ignore[misc]
    """1.0 for answers under three characters."""

    def __init__(self) -> None:
        super().__init__()
        self.name = "brevity"
        self.required_fields = {"actual_output"}

    async def _evaluate(self, data: Any) -> Any:
        return MetricScore(score=float(len(data.actual_output) < 3), explanation="length")


class MetricsEvaluator(BaseEvaluator):  # type: ignore[misc]
    """An LLM-free evaluator running its metrics."""

    async def _evaluate(self, data: Any) -> Any:
        return {metric.name: await metric.evaluate(data) for metric in self.metrics}


def exact() -> MetricsEvaluator:
    return MetricsEvaluator(name="exact", metrics=[Match()])


def brevity() -> MetricsEvaluator:
    return MetricsEvaluator(name="brevity", metrics=[Brevity()])


ROWS = [
    LLMTestCase(input=f"q{i}", actual_output="a" if i % 2 else "bbbb", expected_output="a")
    for i in range(7)
] + [LLMTestCase(input="boom", actual_output="a", expected_output="a")]


class Tee(GllmBase):  # type: ignore[misc]
    """Hands every call of one evaluate() run to both trackers: the same data, once."""

    def __init__(self, first: Any, second: Any) -> None:
        super().__init__("tee")
        self.trackers = (first, second)

    def _validate_connection(self) -> bool:
        return True

    def set_run_aggregators(self, aggregators: list[Any]) -> None:
        for tracker in self.trackers:
            tracker.set_run_aggregators(aggregators)

    def log(self, *args: Any, **kwargs: Any) -> None:
        for tracker in self.trackers:
            tracker.log(*args, **kwargs)

    async def alog(self, *args: Any, **kwargs: Any) -> None:
        for tracker in self.trackers:
            await tracker.alog(*args, **kwargs)

    async def log_batch(self, *args: Any, **kwargs: Any) -> None:
        for tracker in self.trackers:
            await tracker.log_batch(*args, **kwargs)

    def get_batch_summaries(self, run_id: str) -> Any:
        return self.trackers[0].get_batch_summaries(run_id)

    def get_experiment_urls(self, run_id: str, dataset_name: str, **kwargs: Any) -> Any:
        return self.trackers[1].get_experiment_urls(run_id, dataset_name, **kwargs)


def run_side_by_side(tmp_path: Path, how: str) -> tuple[Any, Any, Any]:
    """One real run logged to both JSONExperimentTracker and GllmEvalsTracker."""
    ours = GllmEvalsTracker("gllm", store=tmp_path / "g.db")
    theirs = JSONExperimentTracker("gllm", output_dir=str(tmp_path / "json"))
    tee = Tee(theirs, ours)
    if how == "evaluate":
        run = evaluate(ROWS, [exact(), brevity()], tee, batch_size=3, dataset_name="t", run_id="r1")
    else:
        suites = [
            EvalSuite(data=ROWS[:4], evaluators=[exact(), brevity()], name="a"),
            EvalSuite(data=ROWS[4:], evaluators=[exact()], name="b"),
        ]
        run = evaluate_suites(suites, tee, batch_size=3, dataset_name="t", run_id="r1")
        run = _no_raise(run)
    result = asyncio.run(run)
    return theirs, ours, result


async def _no_raise(run: Any) -> Any:
    try:
        return await run
    except Exception as exc:  # raise_on_error: the "boom" row errored, results are saved
        return exc


def _naive_iso(value: Any) -> None:
    assert isinstance(value, str)
    assert datetime.fromisoformat(value).tzinfo is None


def assert_same_entries(theirs: list[Any], ours: list[Any]) -> None:
    """RunEntry for RunEntry: equal fields of equal types (timestamps: when each logged)."""
    assert len(ours) == len(theirs)
    for a, b in zip(theirs, ours, strict=True):
        assert type(b) is type(a)
        assert type(b.data) is type(a.data)
        assert b.data == a.data
        assert b.metadata == a.metadata
        assert b.dataset_name == a.dataset_name
        assert b.evaluation_results == a.evaluation_results
        for group_a, group_b in zip(a.evaluation_results, b.evaluation_results, strict=True):
            for name, out in group_a.items():
                assert type(group_b[name]) is type(out)
                extra_a, extra_b = out.__pydantic_extra__, group_b[name].__pydantic_extra__
                assert {k: type(v) for k, v in extra_b.items()} == {
                    k: type(v) for k, v in extra_a.items()
                }
        _naive_iso(b.timestamp)


@pytest.mark.parametrize("how", ["evaluate", "evaluate_suites"])
def test_reads_match_json_tracker_side_by_side(tmp_path: Path, how: str) -> None:
    """get_run_results / get_experiment_history / get_batch_summaries equal JSONExperimentTracker's
    for one run (an errored row, two evaluators, batches of 3, and for evaluate_suites two
    suites), also read back by a fresh tracker on the store."""
    theirs, ours, _ = run_side_by_side(tmp_path, how)
    fresh = GllmEvalsTracker("gllm", store=tmp_path / "g.db")
    for reader in (ours, fresh):
        (a,), (b,) = theirs.get_run_results("r1"), reader.get_run_results("r1")
        assert list(b) == list(a)
        assert {k: b[k] for k in b if k != "individual_results"} == {
            k: a[k] for k in a if k != "individual_results"
        }
        assert type(b["average_score"]) is type(a["average_score"])
        assert_same_entries(a["individual_results"], b["individual_results"])

        (ha,), (hb,) = theirs.get_experiment_history(), reader.get_experiment_history()
        assert list(hb) == list(ha)
        assert {k: v for k, v in hb.items() if k != "timestamp"} == {
            k: v for k, v in ha.items() if k != "timestamp"
        }
        _naive_iso(hb["timestamp"])
        assert reader.get_batch_summaries("r1") == theirs.get_batch_summaries("r1") != {}
    assert ha["dataset_names"] == (["t/suite_0"] if how == "evaluate" else ["t/a", "t/b"])
    assert 0 < ha["average_score"] < 1
    unknown = theirs.get_run_results("nope"), fresh.get_run_results("nope")
    assert unknown[1] == unknown[0]
    ours.close()
    fresh.close()


def test_direct_calls_match_json_tracker(tmp_path: Path) -> None:
    """log / alog / log_batch called directly (metadata None or given, no aggregators) read
    back as JSONExperimentTracker's, from a fresh tracker too."""
    theirs = JSONExperimentTracker("p", output_dir=str(tmp_path / "json"))
    row = ROWS[1]
    result = asyncio.run(exact().evaluate(row))
    with GllmEvalsTracker("p", store=tmp_path / "d.db") as ours:
        for tracker in (theirs, ours):
            tracker.log(result, "ds", row, run_id="one", metadata={"k": 1})
            asyncio.run(tracker.alog(result, "ds", row, run_id="one"))
            asyncio.run(tracker.log_batch([[result]], "ds", [row], run_id="one"))
    with GllmEvalsTracker("p", store=tmp_path / "d.db") as fresh:
        (a,), (b,) = theirs.get_run_results("one"), fresh.get_run_results("one")
        assert [e.metadata for e in b["individual_results"]] == [{"k": 1}, None, None]
        assert_same_entries(a["individual_results"], b["individual_results"])
        assert b["average_score"] == a["average_score"] == 1.0
        (ha,), (hb,) = theirs.get_experiment_history(), fresh.get_experiment_history()
        assert {**hb, "timestamp": None} == {**ha, "timestamp": None}
        assert hb["run_aggregators_result"] == {}


def test_evaltrace_records_stay_available(tmp_path: Path) -> None:
    """iter_run_results gives evaltrace's exact per-result records; run_summaries its stats."""
    _, ours, result = run_side_by_side(tmp_path, "evaluate")
    records = list(ours.iter_run_results("r1"))
    assert [r["data"]["input"] for r in records] == [row.input for row in ROWS]
    assert all(isinstance(r["evaluation_result"], list) for r in records)  # row-grouped
    assert records[0]["evaluation_result"] == [
        {name: out.model_dump(mode="json") for name, out in group.items()}
        for group in result.results[0]
    ]
    (summary,) = ours.run_summaries()
    assert summary["num_results"] == len(ROWS)
    assert "exact.aggregate_score" in summary["metrics"]
    ours.close()


def test_the_class_in_evaluate_suites(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """experiment_tracker=GllmEvalsTracker (the class) with store=: every suite's dataset and the
    aggregators' summary are stored, the run URL is the UI's, and evaltrace warns of nothing."""
    store = tmp_path / "cls.db"
    suites = [
        EvalSuite(data=ROWS[:3], evaluators=[exact()], name="a"),
        EvalSuite(data=ROWS[3:6], evaluators=[brevity()], name="b"),
    ]
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        result = asyncio.run(
            evaluate_suites(
                suites,
                experiment_tracker=GllmEvalsTracker,
                dataset_name="faq",
                project_name="rag",
                store=store,
            )
        )
    assert [r.getMessage() for r in caplog.records if r.name == "evaltrace"] == []
    assert result.experiment_uris.run_uri == f"http://127.0.0.1:8000/runs/{result.run_id}"
    with GllmEvalsTracker("rag", store=store) as reader:  # another process, later
        (run,) = reader.get_experiment_history()
        assert run["run_id"] == result.run_id
        assert run["dataset_names"] == ["faq/a", "faq/b"]
        assert run["total_results"] == 6
        assert run["run_aggregators_result"] == result.run_aggregators_result != {}
        assert reader.get_batch_summaries(result.run_id) == result.run_aggregators_result


def test_the_class_in_evaluate(tmp_path: Path) -> None:
    """evaluate(..., experiment_tracker=GllmEvalsTracker): gllm-evals' documented form."""
    result = asyncio.run(
        evaluate(ROWS[:4], [exact()], GllmEvalsTracker, dataset_name="t", store=tmp_path / "e.db")
    )
    with GllmEvalsTracker("default", store=tmp_path / "e.db") as reader:
        (run,) = reader.get_run_results(result.run_id)
    assert run["total_results"] == 4
    assert run["average_score"] == 0.5


def test_experiment_urls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """run_uri opens the run in evaltrace ui (host/port by ui_url= or EVALTRACE_UI_URL);
    Jaeger and Grafana links when their URLs are set."""
    monkeypatch.setenv("EVALTRACE_UI_URL", "http://evals.internal:9000/")
    monkeypatch.setenv("EVALTRACE_JAEGER_UI_URL", "http://127.0.0.1:16686")
    monkeypatch.setenv("EVALTRACE_GRAFANA_URL", "http://127.0.0.1:3000?datasource=tmp")
    with GllmEvalsTracker("rag", store=tmp_path / "u.db") as tracker:
        uris = tracker.get_experiment_urls("rag_t/1", "t", suite_name="a")
    assert uris.run_uri == "http://evals.internal:9000/runs/rag_t%2F1"
    assert uris.leaderboard_uri == "http://evals.internal:9000/?project=rag"
    jaeger = urlsplit(uris.jaeger_uri)
    assert jaeger.path == "/search"
    assert json.loads(parse_qs(jaeger.query)["tags"][0]) == {"eval.run_id": "rag_t/1"}
    assert parse_qs(jaeger.query)["service"] == ["evaltrace"]
    now_us = time.time_ns() // 1000
    start, end = (int(parse_qs(jaeger.query)[k][0]) for k in ("start", "end"))
    assert start < now_us < end
    pane = json.loads(parse_qs(urlsplit(uris.grafana_uri).query)["panes"][0])["evaltrace"]
    assert pane["queries"][0]["query"] == '{ span.eval.run_id = "rag_t/1" }'
    assert pane["datasource"] == "tmp"
    with GllmEvalsTracker("rag", store=tmp_path / "u.db", ui_url="http://0.0.0.0:8001") as tracker:
        assert tracker.get_experiment_urls("r", "t").run_uri == "http://0.0.0.0:8001/runs/r"


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)


def test_importing_evaltrace_never_imports_gllm_evals() -> None:
    """The bridge module loads gllm-evals only when GllmEvalsTracker is asked for."""
    done = _python(
        "import sys, evaltrace, evaltrace.integrations.gllm_evals as g\n"
        "assert 'gllm_evals' not in sys.modules, 'imported early'\n"
        "g.GllmEvalsTracker\n"
        "assert 'gllm_evals' in sys.modules\n"
    )
    assert done.returncode == 0, done.stderr


def test_without_gllm_evals_the_import_says_what_to_install() -> None:
    """Without gllm-evals, the import fails with the pinned install command."""
    done = _python(
        "import sys\nsys.modules['gllm_evals'] = None\n"
        "from evaltrace.integrations.gllm_evals import GllmEvalsTracker\n"
    )
    assert done.returncode == 1
    assert "ImportError: " in done.stderr
    assert "pip install 'gllm-evals-binary[deepeval]==0.1.41'" in done.stderr
