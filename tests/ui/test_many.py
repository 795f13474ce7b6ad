"""Picking runs and comparing many: the N-run leaderboard (scipy as oracle), the matrix cell
rule, paging of the matrix and of per-sample moves, and never pairing runs across projects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from starlette.testclient import TestClient

from evaltrace import OpenTelemetryExperimentTracker
from evaltrace._config import TraceLinks
from evaltrace.ui import open_source
from evaltrace.ui._app import create_app
from evaltrace.ui._compare import CompareQuery, compare_view, comparison
from evaltrace.ui._many import ManyQuery, cell, many_view, run_samples
from evaltrace.ui._metrics import main_metrics, short_name
from evaltrace.ui._runs import RunsQuery, runs_view


def result(sid: str, run: str, i: int = 0, **metrics: Any) -> dict[str, Any]:
    return {
        "run_id": run,
        "sample_id": sid,
        "project_name": "p",
        "dataset_name": "d",
        "trace_id": "t" * 32,
        "timestamp": f"2026-01-01T00:00:{i % 60:02d}+00:00",
        "data": {"id": sid, "question": f"What is {sid}?"},
        "evaluation_result": metrics,
    }


def scores(run: str, values: list[float]) -> list[dict[str, Any]]:
    return [result(f"s{i}", run, i, f1={"score": v}) for i, v in enumerate(values)]


RNG = np.random.default_rng(7)
LOW = [float(v) for v in RNG.uniform(0.1, 0.3, 40)]
MID = [float(v) for v in RNG.uniform(0.4, 0.6, 40)]
HIGH = [float(v) for v in RNG.uniform(0.8, 1.0, 40)]


def test_leaderboard_means_and_intervals_are_scipys() -> None:
    """Each cell is the run's mean with scipy's t interval (n - 1 df); the clear leader is
    marked best."""
    runs = [run_samples(r, scores(r, v)) for r, v in (("lo", LOW), ("mid", MID), ("hi", HIGH))]
    view = many_view(runs, ManyQuery(runs=("lo", "mid", "hi")))
    [column] = view["columns"]
    assert column["metric"] == "f1.score" and column["mark"] == "best"
    for row, values in zip(view["runs"], (LOW, MID, HIGH), strict=True):
        [c] = row["cells"]
        x = np.asarray(values)
        low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert c["n"] == 40
        assert c["mean"] == pytest.approx(x.mean(), rel=1e-12)
        assert (c["low"], c["high"]) == (
            pytest.approx(low, rel=1e-9),
            pytest.approx(high, rel=1e-9),
        )
        assert c["mark"] == ("best" if row["run_id"] == "hi" else "")


def test_direction_is_compare_s_rule_the_node_flag_or_a_lower_glob() -> None:
    """A score whose node says ``higher_is_better: false`` (or matches ``lower=``) leads
    when lowest; a name alone (``error_rate``) decides nothing, as on the two-run compare."""

    def run(name: str, values: list[float]) -> Any:
        return run_samples(
            name,
            [
                result(
                    f"s{i}",
                    name,
                    i,
                    hall={"score": v, "higher_is_better": False},
                    error_rate={"score": v},
                )
                for i, v in enumerate(values)
            ],
        )

    runs = [run("lo", LOW), run("hi", HIGH)]
    view = many_view(runs, ManyQuery(runs=("lo", "hi")))
    by_metric = {c["metric"]: c for c in view["columns"]}
    assert by_metric["hall.score"]["direction"] == "lower"
    assert by_metric["error_rate.score"]["direction"] == "higher"
    column = [c["metric"] for c in view["columns"]].index("hall.score")
    assert [r["cells"][column]["mark"] for r in view["runs"]] == ["best", ""]
    globbed = many_view(runs, ManyQuery(runs=("lo", "hi"), lower=("error*",)))
    assert {c["metric"]: c["direction"] for c in globbed["columns"]}["error_rate.score"] == "lower"


def test_overlapping_leaders_are_tied_not_best() -> None:
    """When the leader's interval overlaps the runner-up's, the page says tied."""
    close = [v + 0.001 for v in HIGH]
    runs = [run_samples(r, scores(r, v)) for r, v in (("a", HIGH), ("b", close), ("c", LOW))]
    view = many_view(runs, ManyQuery(runs=("a", "b", "c")))
    assert view["columns"][0]["mark"] == "tied"
    assert [r["cells"][0]["mark"] for r in view["runs"]] == ["", "tied", ""]


def test_pass_rates_get_wilson_intervals() -> None:
    """A boolean leaf is a pass rate with scipy's Wilson interval."""
    runs = [
        run_samples(r, [result(f"s{i}", r, i, ok=i < k) for i in range(20)])
        for r, k in (("a", 5), ("b", 10), ("c", 19))
    ]
    view = many_view(runs, ManyQuery(runs=("a", "b", "c")))
    c = view["runs"][2]["cells"][0]
    ci = stats.binomtest(19, 20).proportion_ci(0.95, method="wilson")
    assert c["mean"] == 0.95 and (c["low"], c["high"]) == (ci.low, ci.high)
    assert c["text"].endswith("%")


def test_cell_rule_success_then_threshold_then_heat() -> None:
    """The metric's own success leaf decides first, then its threshold, else a heat cell."""
    both = {"m.score": 0.2, "m.success": True, "m.threshold": 0.5}
    assert cell(both, "m.score")["kind"] == "pass"  # success wins over the threshold
    assert cell({"m.score": 0.7, "m.threshold": 0.5}, "m.score")["kind"] == "pass"
    assert cell({"m.score": 0.3, "m.threshold": 0.5}, "m.score")["kind"] == "fail"
    assert cell({"m.score": 0.3, "m.threshold": 0.5}, "m.score", higher=False)["kind"] == "pass"
    assert cell({"m.score": 0.3, "other.success": True}, "m.score")["kind"] == "heat"
    assert cell({"ok": False}, "ok")["kind"] == "fail"
    assert cell({}, "m.score")["kind"] == "missing"
    gllm = {"e.aggregate_score": 0.7, "e.aggregate_success": False, "e.map@1.success": True}
    assert cell(gllm, "e.aggregate_score")["kind"] == "fail"  # its own success, not another's


def test_matrix_is_paged_on_the_server_and_labelled_by_question() -> None:
    """120 samples: 50 rows a page, the question as label, the id kept."""
    values = [0.5] * 120
    runs = [run_samples(r, scores(r, values)) for r in ("a", "b", "c")]
    first = many_view(runs, ManyQuery(runs=("a", "b", "c")))
    assert len(first["matrix"]) == 50 and first["pages"] == 3 and first["prev"] is None
    assert first["matrix"][0]["label"] == "What is s0?" and first["matrix"][0]["sample_id"] == "s0"
    assert first["next"] == "/compare?runs=a%2Cb%2Cc&page=2"
    last = many_view(runs, ManyQuery(runs=("a", "b", "c"), page=99))
    assert last["page"] == 3 and len(last["matrix"]) == 20 and last["next"] is None


def test_runs_of_different_projects_are_flagged_never_silently_mixed() -> None:
    """An N-run page over two projects says so."""
    other = [{**r, "project_name": "q"} for r in scores("c", LOW)]
    runs = [run_samples("a", scores("a", MID)), run_samples("b", scores("b", HIGH))]
    view = many_view([*runs, run_samples("c", other)], ManyQuery(runs=("a", "b", "c")))
    assert view["mixed"] == ["p / d", "q / d"]


def history(*rows: tuple[str, str, str, int]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": rid,
            "project_name": project,
            "dataset_name": dataset,
            "started_at": f"2026-01-0{day}T00:00:00+00:00",
            "num_results": 3,
            "metadata": {},
            "metrics": {"f1.score": {"mean": 0.5}},
        }
        for rid, project, dataset, day in rows
    ]


def test_compare_latest_pairs_only_runs_of_one_project_and_dataset() -> None:
    """The newest run is compared with the previous run of its own project and dataset, not
    with the newest run of another project."""
    rows = history(("p2-new", "p2", "d", 4), ("p1-new", "p1", "d", 3), ("p2-old", "p2", "d", 1))
    view = runs_view(rows, RunsQuery())
    assert view["compare_latest"] == "/compare?a=p2-old&b=p2-new"
    alone = runs_view(history(("x", "p1", "d", 2), ("y", "p2", "d", 1)), RunsQuery())
    assert alone["compare_latest"] is None


def test_trend_axis_shows_run_numbers_and_names_the_run_in_the_tooltip() -> None:
    """Trend x labels are short run numbers (no overlap); the run and its start in names."""
    rows = history(*((f"r{i}", "p", "d", i) for i in range(9, 0, -1)))
    chart = runs_view(rows, RunsQuery())["charts"][0]
    assert chart["xlabels"] == [f"#{i}" for i in range(1, 10)]
    assert chart["names"][0].startswith("r1 · 2026-01-01")


def test_short_names_keep_the_distinguishing_suffix() -> None:
    """Four gllm-evals columns do not all read classical_retrieval_evals.ma…"""
    paths = [f"classical_retrieval_evals.map@{k}.score" for k in (1, 3, 5, 10)]
    assert [short_name(p, paths) for p in paths] == [f"map@{k}.score" for k in (1, 3, 5, 10)]
    assert short_name("a.x.score", ["a.x.score", "b.x.score"]) == "a.x.score"
    gllm = ["e.aggregate_score", "e.aggregate_success", "e.map@1.score"]
    assert [short_name(p, gllm) for p in gllm] == [
        "aggregate_score",
        "aggregate_success",
        "map@1.score",
    ]


def test_per_sample_moves_are_paged_on_the_server() -> None:
    """60 regressed samples: 25 a page, the second page continues where the first stopped."""
    a = [result(f"s{i:02d}", "A", i, f1={"score": 0.9}) for i in range(60)]
    b = [result(f"s{i:02d}", "B", i, f1={"score": 0.9 - (i + 1) / 100}) for i in range(60)]
    model = comparison(a, b)
    first = compare_view(model, CompareQuery(a="A", b="B"))["regression_page"]
    assert (first["count"], first["pages"], first["first"], first["last"]) == (60, 3, 1, 25)
    assert first["rows"][0]["sample_id"] == "s59"  # the largest drop first
    assert first["next"] == "/compare?a=A&b=B&rpage=2"
    second = compare_view(model, CompareQuery(a="A", b="B", rpage=2))["regression_page"]
    assert second["rows"][0]["sample_id"] == "s34" and second["first"] == 26
    assert not {r["sample_id"] for r in first["rows"]} & {r["sample_id"] for r in second["rows"]}


@pytest.fixture
def three(tmp_path: Path) -> Path:
    """A store with three runs of one project and dataset, and one of another project."""
    path = tmp_path / "evaltrace.db"
    with OpenTelemetryExperimentTracker("proj", store=path) as tracker:
        for run_id, values in (("r1", LOW), ("r2", MID), ("r3", HIGH)):
            tracker.log_batch_sync(
                [{"f1": {"score": v}} for v in values],
                "faq",
                [{"id": f"s{i}", "question": f"q {i}?"} for i in range(len(values))],
                run_id=run_id,
            )
    with OpenTelemetryExperimentTracker("elsewhere", store=path) as tracker:
        tracker.log_batch_sync([{"f1": {"score": 0.5}}], "faq", [{"id": "s0"}], run_id="x1")
    return path


def client_of(path: Path) -> TestClient:
    return TestClient(
        create_app(open_source(store=str(path)), TraceLinks(None, None)),
        base_url="http://127.0.0.1:8000",
    )


def test_picked_runs_open_the_right_page(three: Path) -> None:
    """Two picked runs redirect to the A/B page (older as A); three open the leaderboard;
    one is a clear 400."""
    with client_of(three) as client:
        two = client.get("/compare?runs=r3&runs=r1", follow_redirects=False)
        assert two.status_code == 303 and two.headers["location"] == "/compare?a=r1&b=r3"
        page = client.get("/compare?runs=r1,r2,r3")
        assert page.status_code == 200
        assert page.text.count('class="mark best"') == 1 and "Leaderboard" in page.text
        assert client.get("/compare?runs=r1").status_code == 400
        assert client.get("/compare?runs=r1,r2,nope").status_code == 404


def test_run_page_offers_runs_of_its_own_project_only(three: Path) -> None:
    """'Compare with…' lists r1 and r3 on r2's page, never x1 of another project."""
    with client_of(three) as client:
        text = client.get("/runs/r2").text
    assert 'name="b"' in text and '<option value="r1">' in text and '<option value="r3">' in text
    assert "x1" not in text


def test_runs_page_has_a_checkbox_per_run(three: Path) -> None:
    """Each run row can be ticked into one compare form."""
    with client_of(three) as client:
        text = client.get("/").text
    assert text.count('type="checkbox" name="runs"') == 4 and 'action="/compare"' in text


def test_summaries_show_a_score_not_its_success_twin() -> None:
    """Run summaries and the leaderboard list x.score, not also x.success beside it; a lone
    boolean stays."""
    paths = ["e.aggregate_score", "e.aggregate_success", "e.map@1.score", "e.map@1.success", "ok"]
    assert main_metrics(paths, 10) == ["e.aggregate_score", "e.map@1.score", "ok"]
