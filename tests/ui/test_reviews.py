"""Human review in the UI: the sample page's form, who may post it, and where reviews show."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from evaltrace import ReviewWriter, SQLiteQueryAdapter
from evaltrace._config import TraceLinks
from evaltrace.cli import main
from evaltrace.ui import ReviewDesk, Source, report_html
from evaltrace.ui._app import create_app

from ..test_store import immutable_store  # noqa: F401 - a fixture
from .conftest import BASELINE, CANDIDATE, fill

LOCAL = "http://127.0.0.1:8000"
LINKS = TraceLinks(None, None)
SAMPLE = f"/runs/{CANDIDATE}/samples/s-regressed"


def _desk(path: Path) -> tuple[ReviewDesk, ReviewWriter]:
    writer = ReviewWriter(path)
    desk = ReviewDesk(
        read=SQLiteQueryAdapter(path).get_reviews,
        write=writer.review,
        refusal=writer.refusal,
        close=writer.close,
    )
    return desk, writer


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A fresh store with the UI's runs (reviews are written into it)."""
    store = tmp_path / "evaltrace.db"
    fill(store)
    return store


@pytest.fixture
def client(path: Path) -> Iterator[TestClient]:
    """The app on the store, reviews written to it, requests from 127.0.0.1."""
    desk, writer = _desk(path)
    app = create_app(Source(SQLiteQueryAdapter(path), "test store"), LINKS, reviews=desk)
    with TestClient(app, base_url=LOCAL, client=("127.0.0.1", 50000)) as client:
        yield client
    writer.close()


def _token(client: TestClient) -> str:
    page = client.get(SAMPLE)
    assert page.status_code == 200
    found = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert found, "the sample page has no review form"
    return found.group(1)


def _post(client: TestClient, token: str | None, origin: str | None = LOCAL, **fields: str):  # type: ignore[no-untyped-def]
    form = {"run_id": CANDIDATE, "sample_id": "s-regressed", "verdict": "fail", **fields}
    if token is not None:
        form["csrftoken"] = token
    headers = {"Origin": origin} if origin else {}
    return client.post("/reviews", data=form, headers=headers, follow_redirects=False)


def test_a_review_posted_from_the_sample_page_shows_everywhere(client: TestClient) -> None:
    """Sample page (with history), run table, compare, A/B page: the latest verdict stands."""
    done = _post(client, _token(client), note="answers with the wrong city")
    assert done.status_code == 303 and done.headers["location"].endswith(SAMPLE + "#review")
    done = _post(
        client, _token(client), verdict="pass", note="acceptable after all", reviewer="ana"
    )
    assert done.status_code == 303
    answer = client.get(SAMPLE)
    # the form's POST carries this page's Origin; other pages still send no referrer at all
    assert answer.headers["referrer-policy"] == "same-origin"
    assert client.get("/").headers["referrer-policy"] == "no-referrer"
    page = answer.text
    standing = page.split('class="standing"')[1].split("</p>")[0]
    assert "✓ pass" in standing and "acceptable after all" in standing and "ana" in standing
    assert "history (2 reviews" in page and "answers with the wrong city" in page
    run = client.get(f"/runs/{CANDIDATE}").text
    assert '<th title="human review (the latest stands)">review</th>' in run
    assert run.count("review-badge review-pass") == 1
    compare = client.get(f"/compare?a={BASELINE}&b={CANDIDATE}").text
    assert "review B" in compare and "review-badge review-pass" in compare
    ab = client.get(f"/compare/sample?a={BASELINE}&b={CANDIDATE}&id=s-regressed").text
    assert "human review" in ab and "review-badge review-pass" in ab


def test_a_post_without_the_csrf_token_is_refused(client: TestClient, path: Path) -> None:
    """No token (no cookie either) -> 403; a wrong token -> 403; nothing is stored."""
    refused = _post(client, None)
    assert refused.status_code == 403 and "reload the sample page" in refused.text
    _token(client)  # the cookie is set now
    assert _post(client, "forged").status_code == 403
    assert SQLiteQueryAdapter(path).get_reviews(CANDIDATE) == []


def test_a_post_from_another_origin_is_refused(client: TestClient, path: Path) -> None:
    """A page of another site (Origin) or with no Origin nor Referer -> 403, even with a token."""
    token = _token(client)
    refused = _post(client, token, origin="http://evil.example")
    assert refused.status_code == 403 and "did not come from this UI" in refused.text
    assert _post(client, token, origin=None).status_code == 403
    assert SQLiteQueryAdapter(path).get_reviews(CANDIDATE) == []


def test_a_post_from_another_machine_is_refused(path: Path) -> None:
    """Reviews are taken from loopback clients only."""
    desk, writer = _desk(path)
    app = create_app(Source(SQLiteQueryAdapter(path), "s"), LINKS, reviews=desk)
    try:
        with TestClient(app, base_url=LOCAL, client=("10.0.0.7", 50000)) as remote:
            token = _token(remote)
            refused = _post(remote, token)
        assert refused.status_code == 403 and "only from this machine" in refused.text
    finally:
        writer.close()


def test_a_bad_verdict_is_a_clear_400(client: TestClient) -> None:
    """A verdict other than pass/fail names the field; nothing is stored."""
    refused = _post(client, _token(client), verdict="maybe")
    assert refused.status_code == 400 and "verdict" in refused.text


def test_a_read_only_store_shows_reviews_and_takes_none(immutable_store: Path) -> None:  # noqa: F811
    """The form is replaced by the reason; a post is refused with it."""
    desk, writer = _desk(immutable_store)
    app = create_app(Source(SQLiteQueryAdapter(immutable_store), "ro"), LINKS, reviews=desk)
    try:
        with TestClient(app, base_url=LOCAL, client=("127.0.0.1", 50000)) as client:
            page = client.get("/runs/r/samples/0").text
            assert 'name="csrftoken"' not in page and "read-only" in page
            refused = _post(client, None, run_id="r", sample_id="0")
            assert refused.status_code == 403
    finally:
        writer.close()


def test_the_report_shows_samples_whole_and_the_reviews(path: Path) -> None:
    """Report: answers and explanations of the first samples, long texts cut with a marker,
    and the reviews summary."""
    with ReviewWriter(path) as writer:
        writer.review(CANDIDATE, "s-regressed", "fail", "wrong city")
    html = report_html(Source(SQLiteQueryAdapter(path), "s"), CANDIDATE, BASELINE, LINKS)
    samples = html.split('id="report-samples"')[1]
    assert "s-regressed is perhaps not a sample" in samples  # the generated answer
    assert "token overlap 0.10 with the reference" in samples  # its explanation
    assert "1 of 63 samples reviewed" in html and "wrong city" in samples
    long_text = "x" * 1000
    from evaltrace.ui._report import _cut
    from evaltrace.ui._sample import text

    assert _cut(text(long_text))["text"].endswith("… [cut: 600 more characters]")


def test_export_reviews(path: Path) -> None:
    """`evaltrace export RUN --reviews`: every review, oldest first, JSON lines or CSV."""
    with ReviewWriter(path) as writer:
        writer.review(CANDIDATE, "s000", "fail", "too short")
        writer.review(CANDIDATE, "s000", "pass", None)
    done = CliRunner().invoke(main, ["export", CANDIDATE, "--reviews", "--store", str(path)])
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in done.output.splitlines()]
    assert [(r["verdict"], r["note"]) for r in lines] == [("fail", "too short"), ("pass", None)]
    csv = CliRunner().invoke(
        main, ["export", CANDIDATE, "--reviews", "--format", "csv", "--store", str(path)]
    )
    assert csv.output.splitlines()[0].startswith("run_id,sample_id,verdict,note")
    unknown = CliRunner().invoke(main, ["export", "nope", "--reviews", "--store", str(path)])
    assert unknown.exit_code == 1 and "no results for run 'nope'" in unknown.output


def test_with_a_remote_backend_reviews_go_to_the_store_given(tmp_path: Path) -> None:
    """`ui --jaeger URL --store PATH`: a run read from the backend is reviewed into PATH (the
    result named by the backend's ids); the page shows the store's and the backend's reviews."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from evaltrace import InMemoryQueryAdapter, OpenTelemetryExperimentTracker
    from evaltrace.cli import _review_desk

    memory = InMemorySpanExporter()
    with OpenTelemetryExperimentTracker("p", store=False, exporters=[memory]) as tracker:
        tracker.log({"qa": {"score": 0.2}}, "faq", {"id": "q1", "question": "?"}, run_id="remote")
    source = Source(InMemoryQueryAdapter(memory), "memory")
    reviews_at = tmp_path / "reviews.db"
    desk = _review_desk(str(reviews_at), source, remote=True)
    assert not reviews_at.exists()  # made by the first review, not by starting the UI
    try:
        (result,) = source.results("remote")
        made = desk.write("remote", "q1", "fail", "hallucinated", result=result)
        assert made["span_id"] == result["span_id"] and made["trace_id"] == result["trace_id"]
        assert [r["note"] for r in desk.reviews("remote")] == ["hallucinated"]
    finally:
        desk.close()
    assert [r["verdict"] for r in SQLiteQueryAdapter(reviews_at).get_reviews("remote")] == ["fail"]


def test_a_review_of_an_unknown_sample_is_a_404_and_stores_nothing(
    client: TestClient, path: Path
) -> None:
    """A run or sample the source does not hold: said, not stored."""
    refused = _post(client, _token(client), sample_id="nope")
    assert refused.status_code == 404 and "no sample &#39;nope&#39;" in refused.text
    assert SQLiteQueryAdapter(path).get_reviews(CANDIDATE) == []
