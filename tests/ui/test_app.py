"""The app at its edges: foreign Host names, security headers, extreme scores, hostile queries."""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from evaltrace import InMemoryQueryAdapter, OpenTelemetryExperimentTracker
from evaltrace._config import TraceLinks
from evaltrace.ui import Source, open_source, report_html
from evaltrace.ui._app import create_app
from evaltrace.ui._run import _histogram
from evaltrace.ui._security import HEADERS, allowed_hosts

from .conftest import BASELINE, CANDIDATE

LOCAL = "http://127.0.0.1:8000"
LINKS = TraceLinks(None, None)


def routes(run_id: str = CANDIDATE) -> list[str]:
    """One URL of every route, static files included."""
    return [
        "/",
        f"/runs/{quote(run_id)}",
        f"/compare?a={quote(BASELINE)}&b={quote(run_id)}",
        f"/runs/{quote(run_id)}/samples/s-regressed",
        f"/compare/sample?a={quote(BASELINE)}&b={quote(run_id)}&id=s-regressed",
        "/healthz",
        "/static/evaltrace.js",
        "/no-such-page",
    ]


@pytest.fixture
def client(store: Path) -> Iterator[TestClient]:
    """The app over the UI fixtures' store, as a browser on loopback reaches it."""
    source = open_source(store=str(store))
    try:
        yield TestClient(create_app(source, LINKS), base_url=LOCAL)
    finally:
        source.close()


@pytest.mark.parametrize("host", ["attacker.example:8931", "attacker.example", "127.0.0.1.nip.io"])
def test_a_foreign_host_is_refused_on_every_route(client: TestClient, host: str) -> None:
    """A DNS-rebinding page (its own name in Host) gets 400 and no run data, on every route."""
    for url in routes():
        response = client.get(url, headers={"host": host})
        assert response.status_code == 400, url
        assert CANDIDATE not in response.text


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost"])
def test_loopback_names_are_answered(client: TestClient, host: str) -> None:
    """Every loopback spelling a local browser sends is served."""
    assert client.get("/", headers={"host": host}).status_code == 200


def test_every_route_sends_the_security_headers(client: TestClient) -> None:
    """Pages, static files, errors and refusals all carry CSP, framing, sniffing, referrer."""
    for url in routes():
        for host in ("127.0.0.1:8000", "attacker.example"):
            response = client.get(url, headers={"host": host})
            for name, value in HEADERS:
                expected = value.decode()
                if name == b"referrer-policy" and "/samples/" in url and host != "attacker.example":
                    expected = "same-origin"  # its review form's POST names its Origin
                assert response.headers[name.decode()] == expected, (url, host, name)
    csp = client.get("/").headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp


def test_pages_need_nothing_the_policy_forbids(client: TestClient) -> None:
    """No inline script runs, no style attribute, nothing from another origin: the CSP holds."""
    for url in routes()[:5]:  # the pages
        page = client.get(url).text
        assert 'style="' not in page and not re.search(r"<[^>]+\son[a-z]+=", page)
        for tag in re.findall(r"<script[^>]*>", page):
            assert 'type="application/json"' in tag or 'src="/static/' in tag, tag
        assert not re.search(r"""(src|href)="(https?:)?//""", page)


def test_listening_everywhere_answers_this_machines_names() -> None:
    """--host 0.0.0.0 answers the machine's own names and --allow-host ones; a given host and
    its IPv6 brackets are kept."""
    import socket

    names = allowed_hosts("0.0.0.0", ["evals.internal"])
    assert socket.gethostname().lower() in names and "evals.internal" in names
    assert "0.0.0.0" not in names
    assert {"::1", "[::1]"} <= set(allowed_hosts("127.0.0.1"))
    assert "[fd00::1]" in allowed_hosts("fd00::1")


def test_the_report_allows_exactly_its_inline_assets(store: Path) -> None:
    """The report's meta CSP lists the hash of each inline script and style, and nothing else
    may run or load."""
    source = open_source(store=str(store))
    try:
        page = report_html(source, CANDIDATE, BASELINE, LINKS)
    finally:
        source.close()
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert match, "no CSP meta tag"
    policy = match[1].replace("&#39;", "'")
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    styles = re.findall(r"<style>(.*?)</style>", page, re.S)
    assert len(inline) == 2 and len(styles) == 2
    for text in inline + styles:
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy


def memory_source(scores: list[Any]) -> Source:
    """A source whose run ``r`` holds one result per score (and ``b`` a baseline)."""
    exporter = InMemorySpanExporter()
    tracker = OpenTelemetryExperimentTracker("p", store=False, exporters=[exporter])
    for run_id in ("r", "b"):
        tracker.log_batch_sync(
            [{"m": {"score": s}, "flag": {"passed": i % 2 == 0}} for i, s in enumerate(scores)],
            "d",
            [{"id": f"s{i}"} for i in range(len(scores))],
            run_id=run_id,
        )
    tracker.flush()
    tracker.close()
    return Source(InMemoryQueryAdapter(exporter), "memory")


def test_scores_of_minus_and_plus_1e308_draw_a_page_and_a_report() -> None:
    """−1e308 and 1e308 in one run: the run page answers 200 and the report is written."""
    source = memory_source([-1e308, 1e308, 0.5])
    client = TestClient(create_app(source, LINKS), base_url=LOCAL)
    assert client.get("/runs/r").status_code == 200
    assert "Report: r" in report_html(source, "r", "b", LINKS)


def test_a_page_number_of_5000_digits_shows_the_last_page(client: TestClient) -> None:
    """?page= past int()'s digit limit is the last page, not a server error."""
    response = client.get(f"/runs/{quote(CANDIDATE)}?page={'9' * 5000}&per=25")
    assert response.status_code == 200
    assert "page 3 of 3" in response.text


EXTREME = st.one_of(
    st.sampled_from(
        [1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324, -5e-324, 0.0, -0.0, 2.0**1023]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.booleans(),
)
HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["9" * 5000, "-1", "0", "1e999", "²", "nan", "inf", "%00", "\x00", "٣"]),
)
PARAMS = ("page", "per", "sort", "desc", "q", "where", "config", "threshold", "lower", "metric")
ROUTE_PARAMS = ("project", "dataset", "since", "until", "meta")


def test_histogram_counts_every_finite_value_within_finite_bins() -> None:
    """The instance: the whole float range in one histogram."""
    hist = _histogram([-1e308, 1e308, 1.7976931348623157e308, -1.7976931348623157e308])
    assert sum(hist["y"]) == 4 and all(math.isfinite(x) for x in [*hist["x"], hist["width"]])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30))
def test_histograms_of_any_floats_are_finite_and_count_every_finite_value(
    values: list[float],
) -> None:
    """Any floats: every finite value lands in exactly one bin; bins and centres are finite."""
    hist = _histogram(values)
    assert sum(hist["y"]) == sum(math.isfinite(v) for v in values)
    assert all(math.isfinite(x) for x in hist["x"]) and math.isfinite(hist["width"])
    if len(hist["x"]) > 1:
        assert hist["x"] == sorted(hist["x"])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    scores=st.lists(EXTREME, min_size=1, max_size=6),
    params=st.dictionaries(st.sampled_from(PARAMS + ROUTE_PARAMS), HOSTILE, max_size=4),
)
def test_no_score_and_no_query_string_makes_a_server_error(
    scores: list[Any], params: dict[str, str]
) -> None:
    """Extreme floats and huge ints as scores, hostile query strings on every route: the app
    answers a page or a clear 4xx, never a 500; the report is written."""
    source = memory_source(scores)
    client = TestClient(create_app(source, LINKS), base_url=LOCAL, raise_server_exceptions=False)
    for path in ("/", "/runs/r", "/compare?a=b&b=r", "/runs/nope"):
        sep = "&" if "?" in path else "?"
        query = "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params.items())
        response = client.get(path + sep + query)
        assert response.status_code < 500, (path, params, response.text[-500:])
    report_html(source, "r", "b", LINKS)
