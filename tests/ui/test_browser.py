"""Each page of ``evaltrace ui``, and the report file, as Chromium shows them."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from click.testing import CliRunner

from evaltrace import SQLiteQueryAdapter
from evaltrace.cli import main

from ..support.otlp_receiver import Receiver
from ..support.wait import wait_for
from .conftest import BASELINE, CANDIDATE, OTHER, Browser, Page, _serve, fill

PAINTED = re.compile(r'data-painted="(\d+)"')


def first_sample(dom: str) -> str:
    """The id in the first row of the samples table."""
    body = dom.split('class="data samples"')[1].split("<tbody>")[1]
    match = re.search(r'class="sid">([^<]+)<', body)
    assert match, "no sample rows"
    return match[1]


def painted_charts(dom: str) -> list[int]:
    """Painted-pixel counts the page's script recorded on each drawn chart."""
    return [int(n) for n in PAINTED.findall(dom)]


def test_runs_page_lists_runs_and_draws_trends(server: str, browser: Browser) -> None:
    """/ shows every run with its scores and a drawn trend chart per metric."""
    dom = browser.dom(server + "/")
    for run_id in (BASELINE, CANDIDATE, OTHER):
        assert run_id in dom
    assert "qa.f1.score" in dom and "qa.latency.score" in dom
    assert "qa.f1.threshold" not in dom  # config leaves are no run summary column
    charts = painted_charts(dom)
    assert charts and all(n > 500 for n in charts), charts
    browser.screenshot(server + "/", "runs.png")


def test_runs_page_filters_by_dataset_and_metadata(server: str, browser: Browser) -> None:
    """?dataset= and ?meta= narrow the table; the filter survives in the URL."""
    dom = browser.dom(server + "/?dataset=faq&meta=model%3Dlarge")
    assert CANDIDATE in dom and BASELINE not in dom.split("<table")[1]
    assert OTHER not in dom.split("<table")[1]
    assert "1 of 3 runs" in dom


def test_run_page_shows_distributions_and_paged_samples(server: str, browser: Browser) -> None:
    """/runs/ID: metric table, drawn histograms, one page of samples with trace links."""
    url = f"{server}/runs/{quote(CANDIDATE)}?sort=qa.f1.score&per=25"
    dom = browser.dom(url)
    assert "samples 1–25 of 63" in dom
    assert "page 1 of 3" in dom
    assert first_sample(dom) == "s-regressed"  # ascending f1: the regressed sample leads
    assert "s-improved" not in dom  # 0.95, on the last page
    assert "http://127.0.0.1:16686/trace/" in dom
    charts = painted_charts(dom)
    assert len(charts) >= 3 and all(n > 200 for n in charts), charts
    browser.screenshot(url, "run.png", height=1600)


def test_run_page_sorts_descending_and_pages(server: str, browser: Browser) -> None:
    """desc=1 puts the best sample first; page=3 is the last page of 25."""
    base = f"{server}/runs/{quote(CANDIDATE)}?sort=qa.f1.score&desc=1&per=25"
    assert first_sample(browser.dom(base)) == "s-improved"
    assert "samples 51–63 of 63" in browser.dom(base + "&page=3")


def test_run_page_where_filter(server: str, browser: Browser) -> None:
    """?where=qa.passed=false keeps only failing samples."""
    dom = browser.dom(f"{server}/runs/{quote(CANDIDATE)}?where=qa.passed%3Dfalse")
    assert "s-regressed" in dom and "s-improved" not in dom
    assert "of 1 matching" in dom


def test_compare_page_shows_direction_regressions_and_vanished(
    server: str, browser: Browser
) -> None:
    """/compare: deltas with direction, the regressed sample, unpaired samples, vanished metric."""
    url = f"{server}/compare?a={quote(BASELINE)}&b={quote(CANDIDATE)}"
    dom = browser.dom(url)
    regressions = dom.split("Regressions by sample")[1].split("Improvements by sample")[0]
    assert "s-regressed" in regressions
    assert "s-improved" in dom.split("Improvements by sample")[1]
    assert "↓ lower" in dom  # qa.latency carries higher_is_better: false
    latency = re.search(r'<tr class="(\w+)"><td><a [^>]+>qa\.latency\.score<', dom)
    assert latency and latency[1] == "improved"  # 2.0 -> 1.0: better when lower is better
    assert "s-only-a" in dom and "s-only-b" in dom
    assert "vanished" in dom and "qa.rouge.score" in dom
    assert painted_charts(dom), "A vs B chart not drawn"
    browser.screenshot(url, "compare.png", height=1400)


def test_unknown_run_is_a_404_page(server: str, browser: Browser) -> None:
    """A mistyped run id says so, inside the same page frame."""
    dom = browser.dom(f"{server}/runs/nope")
    assert "No such run" in dom and "nope" in dom


def test_report_is_self_contained_and_renders_offline(
    store: Path, tmp_path: Path, browser: Browser
) -> None:
    """evaltrace report writes one HTML file with no http(s) reference that draws offline."""
    out = tmp_path / "report.html"
    no_links = {"EVALTRACE_JAEGER_UI_URL": None, "EVALTRACE_GRAFANA_URL": None}
    result = CliRunner(env=no_links).invoke(
        main, ["report", CANDIDATE, "--compare", BASELINE, "-o", str(out), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"https?://", html), re.findall(r".{40}https?://.{40}", html)[:3]
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    dom = browser.dom(out.as_uri())
    assert CANDIDATE in dom and BASELINE in dom and "s-regressed" in dom
    charts = painted_charts(dom)
    assert len(charts) >= 4 and all(n > 200 for n in charts), charts
    shot = browser.screenshot(out.as_uri(), "report.png", height=1800)
    (shot.parent / "report.html").write_text(html, encoding="utf-8")


def test_sample_page_shows_the_answer_contexts_and_explanation(
    server: str, browser: Browser
) -> None:
    """From the run page's link: the question as the title, the answer, each context, the
    explanation of f1, and a Jaeger link that finds this result's span."""
    run = browser.dom(f"{server}/runs/{quote(CANDIDATE)}?sort=qa.f1.score")
    link = re.search(r'<a href="(/runs/[^"]+/samples/s-regressed)">What is s-regressed\?</a>', run)
    assert link, "the run page does not link the sample by its question"
    dom = browser.dom(server + link[1])
    assert "<h1>What is s-regressed?</h1>" in dom
    assert "s-regressed is perhaps not a sample" in dom  # generated
    assert "s-regressed is a sample" in dom  # expected
    assert "s-regressed is described here." in dom and "Samples are rows of a dataset." in dom
    assert "token overlap 0.10 with the reference" in dom
    assert re.search(r"http://127\.0\.0\.1:16686/trace/[0-9a-f]{32}\?uiFind=[0-9a-f]{16}", dom)


def test_ab_page_shows_both_answers_a_diff_and_walks_regressions_with_j(
    server: str, browser: Browser
) -> None:
    """From compare's worst regression: A's and B's answers with <del>/<ins>, both
    explanations; pressing j opens the next regressed sample."""
    compare = browser.dom(f"{server}/compare?a={quote(BASELINE)}&b={quote(CANDIDATE)}")
    regressions = compare.split("Regressions by sample")[1].split("Improvements by sample")[0]
    link = re.search(r'<a href="(/compare/sample[^"]+)">What is s-regressed\?</a>', regressions)
    assert link, "the compare page does not link the regression to its A/B page"
    url = server + link[1].replace("&amp;", "&")
    dom = browser.dom(url)
    assert "<del>surely</del>" in dom and "<ins>perhaps not</ins>" in dom
    assert "token overlap 0.90 with the reference" in dom  # A
    assert "token overlap 0.10 with the reference" in dom  # B
    assert "regressed sample 1 of 2" in dom
    page = Page(browser.binary, url)
    try:
        after = page.press("j")
    finally:
        page.close()
    assert after.endswith("id=s000"), after
    assert "regressed sample 2 of 2" in browser.dom(after)


def test_checking_runs_opens_their_comparison(server: str, browser: Browser) -> None:
    """Ticking two runs on / and pressing "compare selected" opens their A/B page, the older
    run as A."""
    page = Page(browser.binary, server + "/")
    try:
        page.run(
            "document.querySelectorAll('input[name=runs]').forEach(box => {"
            f" if (['{BASELINE}', '{CANDIDATE}'].includes(box.value)) box.click(); }});"
            "document.getElementById('compare-selected').click(); true"
        )
        url = page.wait_for("location.pathname === '/compare' && location.href")
        page.wait_for("document.readyState === 'complete'")
        heading = page.run("document.querySelector('h1').textContent")
    finally:
        page.close()
    assert url == f"{server}/compare?a={BASELINE}&b={CANDIDATE}"
    assert heading == "Compare"


def test_three_runs_on_one_compare_page_with_a_best_mark(
    gllm_server: str, browser: Browser
) -> None:
    """/compare?runs=a,b,c of three gllm-evals runs: a leaderboard row per run, a best or tied
    mark per metric, one drawn chart per metric, the matrix labelled by the question."""
    url = f"{gllm_server}/compare?runs=gllm-baseline,gllm-rerank,gllm-hybrid"
    dom = browser.dom(url)
    board = dom.split('class="data leaderboard"')[1].split("</table>")[0]
    assert all(run in board for run in ("gllm-baseline", "gllm-rerank", "gllm-hybrid"))
    assert 'class="mark best"' in board
    charts = painted_charts(dom)
    assert len(charts) >= 4 and all(n > 200 for n in charts), charts
    assert "Which passage answers question 0 about the tariff?" in dom
    assert re.search(r'class="num cell (pass|fail)', dom)
    browser.screenshot(url, "compare-many.png", height=1500)


def test_gllm_run_page_leads_with_main_scores_and_no_repr(
    gllm_server: str, browser: Browser
) -> None:
    """A gllm-evals run: the aggregate score is the first metric row, config leaves are folded,
    evaluator_parameters is a nested structure (no Python repr), headers keep map@k apart."""
    url = f"{gllm_server}/runs/gllm-rerank"
    dom = browser.dom(url)
    first_row = dom.split('class="data metrics"')[1].split("<tbody>")[1].split("</tr>")[0]
    assert "classical_retrieval_evals.aggregate_score" in first_row
    assert "_value_" not in dom and "'_sort_order_'" not in dom and "{'" not in dom
    assert re.search(r"<summary>\d+ configuration leaves", dom)
    assert "<dt>k_values</dt>" in dom and "<dt>metric_0</dt><dd>map</dd>" in dom
    headers = re.findall(
        r'<th class="num" title="classical_retrieval_evals\.([^"]+)"><a[^>]*>([^<]+)<', dom
    )
    assert ("map@1.score", "map@1.score") in headers and ("map@3.score", "map@3.score") in headers
    assert dom.count("data-chart=") - dom.split("more distributions")[0].count("data-chart=") > 0
    browser.screenshot(url, "run-gllm.png", height=1800)


def test_a_review_made_in_the_page_survives_a_restart_and_reaches_the_collector(
    tmp_path: Path, browser: Browser
) -> None:
    """A person marks a sample failed with a note in the sample page's form; the page shows
    it; after the UI restarts on the same store it is still shown, and the collector got a
    review span under the result's span."""
    store = tmp_path / "evaltrace.db"
    fill(store)
    rx = Receiver()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    }
    path = f"/runs/{quote(CANDIDATE)}/samples/s-regressed"
    try:
        serving = _serve(store, env)
        server = next(serving)
        page = Page(browser.binary, server + path)
        try:
            page.run(
                "document.querySelector('input[name=verdict][value=fail]').click();"
                "document.querySelector('textarea[name=note]').value = 'names the wrong city';"
                "document.querySelector('.review-form button[type=submit]').click(); true"
            )
            standing = page.wait_for(
                "location.hash === '#review' && document.querySelector('.standing')"
                " && document.querySelector('.standing').textContent"
            )
        finally:
            page.close()
        assert "fail" in standing and "names the wrong city" in standing
        next(serving, None)  # stops the server
        serving = _serve(store, env)
        server = next(serving)
        url = server + path
        dom = browser.dom(url)
        assert "names the wrong city" in dom.split('class="standing"')[1].split("</p>")[0]
        run = browser.dom(f"{server}/runs/{quote(CANDIDATE)}")
        assert "review-badge review-fail" in run
        shot = browser.screenshot(url, "sample-review.png", height=1100)
        assert shot.stat().st_size > 10_000
        next(serving, None)
        wait_for(lambda: any(s[2] == "evaltrace.review" for s in rx.spans()), what="review span")
        (sent,) = {s[1]: s for s in rx.spans() if s[2] == "evaltrace.review"}.values()
        result = next(
            r
            for r in SQLiteQueryAdapter(store).run_results(CANDIDATE)
            if r["sample_id"] == "s-regressed"
        )
        assert sent[0] == result["trace_id"]
        assert sent[3]["eval.review.result_span_id"] == result["span_id"]
        assert sent[3]["eval.review.note"] == "names the wrong city"
    finally:
        rx.stop()
