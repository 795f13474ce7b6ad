"""The UI's pure views: data and query parameters in, view-model out."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from evaltrace._config import TraceLinks
from evaltrace.ui._compare import CompareQuery, compare_view, comparison
from evaltrace.ui._links import href, trace_links
from evaltrace.ui._metrics import fmt, main_metrics, order_metrics
from evaltrace.ui._run import RunQuery, SampleTable, parse_where, run_view
from evaltrace.ui._runs import RunsQuery, runs_view

NO_LINKS = TraceLinks(None, None)


def result(sid: str, run: str = "r", i: int = 0, **metrics: Any) -> dict[str, Any]:
    """A result dict shaped as run_results returns it."""
    return {
        "run_id": run,
        "project_name": "p",
        "dataset_name": "d",
        "evaluation_result": metrics,
        "data": {"id": sid, "question": f"question {sid}"},
        "metadata": {"model": "m"},
        "context": {},
        "sample_id": sid,
        "timestamp": f"2026-01-01T00:00:{i % 60:02d}+00:00",
        "trace_id": f"{i:032x}",
        "span_id": f"{i:016x}",
        "link": None,
    }


def test_scores_come_before_config_leaves() -> None:
    """order_metrics puts *.score and passed first, other measurements next, config leaves
    (the library's rule: a cost is not a score) last; main_metrics drops them."""
    paths = ["a.threshold", "a.cost", "a.score", "passed", "a.strict_mode", "a.recall"]
    assert order_metrics(paths) == [
        "passed",  # shallower first: an aggregate before its parts
        "a.score",
        "a.recall",
        "a.cost",
        "a.strict_mode",
        "a.threshold",
    ]
    assert main_metrics(paths, 5) == ["passed", "a.score", "a.recall"]
    gllm = ["r.map@1.score", "r.map@1.success", "r.score", "r.map@3.score"]
    assert order_metrics(gllm)[0] == "r.score"  # the aggregate score first


def test_numbers_are_rounded_for_reading() -> None:
    """Three decimals below 100, one below 1000, thousands separated; NaN spelled out."""
    assert [fmt(0.123456), fmt(123.456), fmt(12345.6), fmt(7), fmt(float("nan")), fmt(None)] == [
        "0.123",
        "123.5",
        "12,346",
        "7",
        "NaN",
        "–",
    ]


def test_direction_from_sibling_flag_or_pattern() -> None:
    """higher_is_better: false beside a score, or a lower= glob, flips direction on the
    compare page (the library's rule, not one of the view's own)."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from evaltrace import InMemoryQueryAdapter, OpenTelemetryExperimentTracker

    memory = InMemorySpanExporter()
    with OpenTelemetryExperimentTracker("p", store=False, exporters=[memory]) as tracker:
        for run, lat, f1, cost in (("a", 2.0, 0.5, 3.0), ("b", 1.0, 0.6, 1.0)):
            result = {
                "lat": {"score": lat, "higher_is_better": False},
                "f1": {"score": f1},
                "cost_usd": {"score": cost},
            }
            for i in range(12):  # 12 pairs moving one way: an exact sign-flip p of 1/2048
                tracker.log(result, "qa", {"id": f"s{i}"}, run_id=run)
    reader = InMemoryQueryAdapter(memory)
    model = comparison(reader.run_results("a"), reader.run_results("b"), lower=["cost_usd.*"])
    rows = {row.metric: row for row in model.metrics}
    assert (rows["lat.score"].higher_is_better, rows["lat.score"].status) == (False, "improved")
    assert (rows["f1.score"].higher_is_better, rows["f1.score"].status) == (True, "improved")
    assert (rows["cost_usd.score"].higher_is_better, rows["cost_usd.score"].status) == (
        False,
        "improved",
    )


def test_href_keeps_state_and_drops_defaults() -> None:
    """Links carry only the parameters that are set."""
    assert href("/runs/x", {"sort": "m", "q": "", "page": None}, page=2) == "/runs/x?sort=m&page=2"
    assert href("/", {"meta": ["a=1", "b=2"]}) == "/?meta=a%3D1&meta=b%3D2"


def test_trace_links_for_jaeger_and_grafana() -> None:
    """Configured UIs get a link each; Grafana's names its Tempo data source."""
    links = trace_links(TraceLinks("http://j:16686/", "http://g:3000?datasource=tp"), "ab" * 16)
    assert links["Jaeger"] == "http://j:16686/trace/" + "ab" * 16
    assert links["Grafana"].startswith("http://g:3000/explore?") and "tp" in links["Grafana"]
    assert trace_links(NO_LINKS, "x") == {}


def test_runs_view_filters_in_view_and_charts_oldest_first() -> None:
    """Dataset and metadata match as text (seed=0 matches 0); trends run oldest to newest."""
    history = [
        {
            "run_id": rid,
            "project_name": "p",
            "dataset_name": ds,
            "started_at": f"2026-01-0{day}T00:00:00+00:00",
            "num_results": 3,
            "metadata": {"seed": seed},
            "metrics": {"f1.score": {"mean": mean}, "f1.threshold": {"mean": 0.5}},
        }
        for rid, ds, day, seed, mean in (
            ("new", "d", 3, 0, 0.9),
            ("old", "d", 1, 0, 0.5),
            ("x", "e", 2, 1, 0.1),
        )
    ]
    view = runs_view(history, RunsQuery(dataset="d", meta=("seed=0",)))
    assert [r["run_id"] for r in view["runs"]] == ["new", "old"]
    assert view["metrics"] == ["f1.score"] and view["datasets"] == ["d", "e"]
    assert view["charts"][0]["series"][0]["values"] == [0.5, 0.9]
    assert view["compare_latest"] == "/compare?a=old&b=new"


def test_run_view_pages_sorts_and_filters_a_100k_run() -> None:
    """A 100k-result run: one page of 50 rows, sorted, filtered, in well under a second a click."""
    results = [
        result(f"q{i:06d}", i=i, f1={"score": (i * 7919 % 1000) / 1000}, ok=i % 3 == 0)
        for i in range(100_000)
    ]
    table = SampleTable.build(results)
    start = time.perf_counter()
    view = run_view(
        table, RunQuery(sort="f1.score", desc=True, where="ok=true", page=3), NO_LINKS, "/runs/r"
    )
    elapsed = time.perf_counter() - start
    assert len(view["rows"]) == 50 and view["matched"] == 33_334 and view["pages"] == 667
    assert view["first"] == 101
    scores = [float(r["cells"][0]) for r in view["rows"]]
    assert scores == sorted(scores, reverse=True) and scores[0] < 0.999  # page 1 holds 0.999
    assert view["next"] == "/runs/r?sort=f1.score&desc=1&where=ok%3Dtrue&page=4"
    assert elapsed < 1.0, elapsed


def test_run_view_reports_bad_where_and_puts_missing_last() -> None:
    """A condition it cannot read is shown; samples without the sorted metric sort last."""
    table = SampleTable.build(
        [result("a", f1={"score": 0.2}), result("b"), result("c", f1={"score": 0.1})]
    )
    view = run_view(
        table, RunQuery(sort="f1.score", desc=True, where="f1.score<<1"), NO_LINKS, "/x"
    )
    assert view["error"] and "f1.score<<1" in view["error"]
    assert [
        r["sample_id"] for r in run_view(table, RunQuery(sort="f1.score"), NO_LINKS, "/x")["rows"]
    ] == ["c", "a", "b"]
    assert parse_where("a>=1,b=false") == ([("a", ">=", 1.0), ("b", "=", False)], None)


def test_histograms_bin_numbers_and_count_booleans() -> None:
    """Twenty bins between min and max; booleans as false/true counts."""
    table = SampleTable.build([result(str(i), s={"score": i / 10}, ok=i > 6) for i in range(11)])
    view = run_view(table, RunQuery(), NO_LINKS, "/x")
    charts = {c["title"]: c for c in view["charts"]}
    assert sum(charts["s.score"]["series"][0]["values"]) == 11 and len(charts["s.score"]["x"]) == 20
    assert charts["ok"]["series"][0]["values"] == [7, 4] and charts["ok"]["xlabels"] == [
        "false",
        "true",
    ]


def test_comparison_applies_direction_and_finds_vanished_metrics() -> None:
    """Lower-is-better flips improved/regressed; a metric only in A is vanished."""
    a = [
        result("s1", "A", f1={"score": 0.9}, lat={"score": 2.0}, old={"score": 1.0}),
        result("s2", "A", f1={"score": 0.5}, lat={"score": 2.0}),
    ]
    b = [
        result("s1", "B", f1={"score": 0.1}, lat={"score": 1.0}),
        result("s3", "B", f1={"score": 0.7}, lat={"score": 1.0}),
    ]
    for i in range(10, 22):  # enough pairs for a verdict
        a.append(result(f"s{i}", "A", f1={"score": 0.9}, lat={"score": 2.0}))
        b.append(result(f"s{i}", "B", f1={"score": 0.5}, lat={"score": 1.5}))
    model = comparison(a, b, lower=["lat.*"])
    status = {m.metric: m.status for m in model.metrics}
    assert status == {"f1.score": "regressed", "lat.score": "improved", "old.score": "vanished"}
    view = compare_view(model, CompareQuery(a="A", b="B", lower=("lat.*",)))
    assert view["regressions"][0]["sample_id"] == "s1"  # the largest drop first
    assert {m["metric"] for m in view["regressions"]} == {"f1.score"}
    assert view["improvements"][0] == {**view["improvements"][0], "sample_id": "s1"}
    assert {m["metric"] for m in view["improvements"]} == {"lat.score"}
    f1 = next(m for m in view["metrics"] if m["metric"] == "f1.score")
    assert "±" in f1["a"] and f1["difference"].startswith("−0.431 [") and f1["p"] != "–"
    assert view["family"] == "2 scores, Holm, alpha 0.05"
    # One chart per score, each on its own scale (small multiples), with A's and B's intervals.
    assert [c["title"] for c in view["charts"]] == ["f1.score", "lat.score"]
    for chart in view["charts"]:
        assert [s["label"] for s in chart["series"]] == ["A", "B"]
        assert all(
            len(s["low"]) == len(s["high"]) == len(s["values"]) == 1 for s in chart["series"]
        )
    assert view["only_in_a"] == ["s2"] and view["only_in_b"] == ["s3"]
    assert view["vanished"] == ["old.score"] and view["regressed_metrics"] == ["f1.score"]
    assert view["swap_href"] == "/compare?a=B&b=A&lower=lat.%2A"


def test_import_evaltrace_stays_light() -> None:
    """import evaltrace (and its CLI) loads none of the ui extra's packages."""
    code = (
        "import sys, evaltrace, evaltrace.cli; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_compare_query_reads_comma_separated_globs_and_bad_thresholds() -> None:
    """lower=a,b and repeated lower= both count; a threshold that is no number reads as 0."""
    query = CompareQuery.from_params(
        {"a": ["A"], "b": ["B"], "lower": ["x.*, y", "z"], "threshold": ["no"]}
    )
    assert query.lower == ("x.*", "y", "z") and query.threshold == 0.0
    assert query.params()["lower"] == ["x.*", "y", "z"]


def _history_row(run_id: str, day: int, values: list[float], oks: list[bool]) -> dict[str, Any]:
    """A history row whose metrics are history's own (metrics_of), intervals included."""
    from evaltrace.query._history_rows import metrics_of

    return {
        "run_id": run_id,
        "project_name": "p",
        "dataset_name": "d",
        "started_at": f"2026-01-0{day}T00:00:00+00:00",
        "num_results": len(values),
        "metadata": {},
        "metrics": metrics_of(
            {"f1": {"score": v}, "ok": o} for v, o in zip(values, oks, strict=True)
        ),
    }


def test_runs_page_shows_each_mean_with_its_interval() -> None:
    """The runs table shows mean ± scipy's 95 % t half-width and pass rate ± Wilson's wider
    side; each trend point carries its interval for the error bars; the page says which
    interval it is; a one-result run shows the bare mean and no bar."""
    import scipy.stats

    from evaltrace.ui._render import render

    values = [(i * 5 % 9) / 8 for i in range(30)]
    oks = [i % 4 != 0 for i in range(30)]
    history = [_history_row("new", 2, values, oks), _history_row("old", 1, [0.5], [True])]
    view = runs_view(history, RunsQuery())
    half = scipy.stats.t.ppf(0.975, 29) * scipy.stats.sem(values)
    wilson = scipy.stats.binomtest(sum(oks), 30).proportion_ci(method="wilson")
    rate = sum(oks) / 30
    wide = max(rate - wilson.low, wilson.high - rate)
    new, old = view["runs"]
    assert new["cells"] == [
        f"{sum(values) / 30:.3f} ± {half:.3f}",
        f"{100 * rate:.1f} % ± {100 * wide:.1f} %",
    ]
    assert old["cells"] == ["0.500", "100.0 % ± 79.3 %"]  # Wilson of 1 in 1: [0.207, 1]
    (f1, _ok) = view["charts"]
    series = f1["series"][0]
    stats = history[0]["metrics"]["f1.score"]
    assert (series["low"], series["high"]) == ([None, stats["ci_low"]], [None, stats["ci_high"]])
    html = render("runs.html", view=view, charts=view["charts"], title="Runs", source="s")
    assert f"± {half:.3f}" in html and "Student t, each result an independent draw" in html


def test_run_page_shows_intervals_and_marks_sketched_quantiles() -> None:
    """The run page's metric table has ± and a title with the 95 % CI; a p50 from the sketch
    (over 1,024 distinct values) is marked ≈ with its bound, an exact one is not."""
    from evaltrace.ui._render import render

    few = [result(f"s{i}", i=i, f1={"score": (i % 5) / 4}) for i in range(40)]
    many = [result(f"s{i}", i=i, f1={"score": 1 + i / 3}) for i in range(1100)]
    exact = run_view(SampleTable.build(few), RunQuery(), NO_LINKS, "/runs/r")
    sketched = run_view(SampleTable.build(many), RunQuery(), NO_LINKS, "/runs/r")
    (m,) = exact["metrics"]
    assert m["pm"].startswith(" ± ") and m["ci"].startswith("95 % CI ")
    assert not m["p50"].startswith("≈") and m["p50_note"] == ""
    (s,) = sketched["metrics"]
    assert s["p50"].startswith("≈") and s["p50_note"] == "sketch: within 1 % relative"
    html = render("run.html", view=exact, charts=exact["charts"], title="r", source="s")
    assert m["pm"] in html and m["ci"] in html
