"""The run, compare, sample and A/B pages read score columns and single samples, never a whole run
(a 1,000,000-result run read whole took 25 s and GBs: ``benchmarks/bench_scale.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from evaltrace._config import TraceLinks
from evaltrace.query import ResultRecord, SQLiteQueryAdapter
from evaltrace.ui import Source, report_html
from evaltrace.ui._app import create_app

from .conftest import BASELINE, CANDIDATE


class _NoWholeRuns(SQLiteQueryAdapter):
    """The store, refusing to read any run whole."""

    def iter_run_results(self, run_id: str) -> Iterator[ResultRecord]:
        raise AssertionError(f"run {run_id} was read whole")

    def read_run(self, run_id: str) -> tuple[list[ResultRecord], None]:
        raise AssertionError(f"run {run_id} was read whole")


@pytest.fixture
def client(store: Path) -> Iterator[TestClient]:
    source = Source(_NoWholeRuns(store), f"SQLite store {store}", columnar_from=1)
    try:
        yield TestClient(create_app(source, TraceLinks(None, None)), base_url="http://127.0.0.1")
    finally:
        source.close()


def test_compare_reads_columns_and_labels_only_the_shown_samples(client: TestClient) -> None:
    """The compare page answers with verdicts and the regressed sample, its label read."""
    page = client.get(f"/compare?a={quote(BASELINE)}&b={quote(CANDIDATE)}")
    assert page.status_code == 200
    assert "s-regressed" in page.text and "regressed" in page.text
    # the per-sample dataset check reads every result's fingerprint: said, not done, here
    assert "dataset: not checked on this page for runs of 1 results or more" in page.text


def test_sample_and_ab_pages_read_their_sample_only(client: TestClient) -> None:
    """A sample page and the A/B page of a sample, found by rowid through the columns."""
    sample = client.get(f"/runs/{quote(CANDIDATE)}/samples/s-regressed")
    assert sample.status_code == 200 and "s-regressed" in sample.text
    ab = client.get(f"/compare/sample?a={quote(BASELINE)}&b={quote(CANDIDATE)}&id=s-regressed")
    assert ab.status_code == 200
    missing = client.get(f"/runs/{quote(CANDIDATE)}/samples/no-such-sample")
    assert missing.status_code == 404
    unknown = client.get("/compare?a=nope&b=" + quote(CANDIDATE))
    assert unknown.status_code == 404 and "nope" in unknown.text


def test_the_run_page_reads_its_columns_and_one_page(client: TestClient) -> None:
    """The run page, sorted and filtered, from the run's columns and its page's results."""
    for query in ("", "?sort=qa.f1.score&desc=1", "?where=qa.f1.score<2"):
        page = client.get(f"/runs/{quote(CANDIDATE)}{query}")
        assert page.status_code == 200, query


def test_the_report_of_a_large_run_reads_its_columns(store: Path) -> None:
    """``evaltrace report --compare`` of a large run: its page and its comparison, neither
    run read whole."""
    source = Source(_NoWholeRuns(store), "store", columnar_from=1)
    try:
        html = report_html(source, CANDIDATE, BASELINE, TraceLinks(None, None))
    finally:
        source.close()
    assert "s-regressed" in html and CANDIDATE in html
    assert "dataset: not checked on this page" in html
