"""The sample page and the A/B page through the app, the word diff as a property, and the
run page's where= naming an unknown metric."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.testclient import TestClient

from evaltrace import InMemoryQueryAdapter, OpenTelemetryExperimentTracker
from evaltrace._config import TraceLinks
from evaltrace.ui import Source
from evaltrace.ui._app import create_app
from evaltrace.ui._diff import apply_ops, diff_ops, tokens, word_diff
from evaltrace.ui._sample import sample_view, text

LOCAL = "http://127.0.0.1:8000"
LINKS = TraceLinks("http://jaeger:16686", None)
LONG_CONTEXT = "Paris is the capital of France. " * 40


def _row(qid: str, answer: str, f1: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """A gllm-evals-like result (score, success, explanation) and its RAG data row."""
    result = {
        "rag": {
            "f1": {"score": f1, "success": f1 >= 0.5, "explanation": f"precision {f1:.2f}"},
            "faithfulness": {"score": f1, "threshold": 0.5, "reason": f"grounded {qid}"},
        }
    }
    data = {
        "id": qid,
        "question": f"What is the capital of {qid}?",
        "expected_answer": "Paris",
        "answer": answer,
        "retrieved_contexts": [f"first context of {qid}", LONG_CONTEXT],
        "extra": {"lang": "en", "tags": ["geo", "easy"]},
    }
    return result, data


@pytest.fixture
def client() -> Iterator[TestClient]:
    """Runs A and B in memory: q1 and q2 regress (q2 the most), q3 is repeated in B, one
    answer of A holds markup."""
    exporter = InMemorySpanExporter()
    tracker = OpenTelemetryExperimentTracker("p", store=False, exporters=[exporter])
    a = [
        _row("q1", "The capital is Paris.", 0.9),
        _row("q2", "Paris <script>alert(1)</script>", 1.0),
        _row("q3", "Paris", 0.5),
    ]
    b = [
        _row("q1", "The capital is Lyon.", 0.6),
        _row("q2", "It is Marseille", 0.1),
        _row("q3", "Paris", 0.5),
        _row("q3", "Paris again", 0.7),
    ]
    for run_id, rows in (("A", a), ("B", b)):
        tracker.log_batch_sync(
            [r for r, _ in rows],
            "d",
            [d for _, d in rows],
            run_id=run_id,
            metadata={"model": {"name": "m", "temperature": 0.2}},
        )
    tracker.flush()
    tracker.close()
    yield TestClient(create_app(Source(InMemoryQueryAdapter(exporter), "memory"), LINKS), LOCAL)


def test_sample_page_shows_answers_contexts_explanations_and_its_span(client: TestClient) -> None:
    """Question, expected and generated answers, every context numbered (a long one folded),
    each metric's score and explanation, metadata as a structure, Jaeger on this span."""
    page = client.get("/runs/A/samples/q1")
    assert page.status_code == 200
    text = page.text
    assert "What is the capital of q1?" in text and "The capital is Paris." in text
    assert "<h3>Expected" in text and ">Paris<" in text
    assert "first context of q1" in text and text.count("<li>") >= 2
    assert '<details class="text">' in text  # the 1,280-character context is folded
    assert "precision 0.90" in text and "grounded q1" in text
    assert "rag.f1" in text and "rag.faithfulness" in text and "threshold 0.5" in text
    assert "<dt>temperature</dt>" in text and "{&#39;" not in text and "{'" not in text
    assert re.search(r"http://jaeger:16686/trace/[0-9a-f]{32}\?uiFind=[0-9a-f]{16}", text)


def test_sample_page_shows_each_repeat_and_escapes_answers(client: TestClient) -> None:
    """A sample logged twice in a run shows both results; markup in an answer is text."""
    text = client.get("/runs/B/samples/q3").text
    assert "Result 1 of 2" in text and "Result 2 of 2" in text and "Paris again" in text
    hostile = client.get("/runs/A/samples/q2").text
    assert "<script>alert" not in hostile and "&lt;script&gt;alert(1)" in hostile


def test_unknown_sample_and_run_are_404_pages_that_say_which(client: TestClient) -> None:
    """A mistyped sample id names the run and the id; an unknown run says so."""
    page = client.get("/runs/A/samples/nope")
    assert page.status_code == 404 and "has no result for sample &#39;nope&#39;" in page.text
    assert client.get("/runs/Z/samples/q1").status_code == 404
    assert client.get("/compare/sample?a=A&b=B&id=nope").status_code == 404
    assert client.get("/compare/sample?a=A&b=B").status_code == 400


def test_run_page_labels_samples_by_question_and_links_them(client: TestClient) -> None:
    """The run page names a sample by its question and links it to its sample page."""
    text = client.get("/runs/A").text
    assert '<a href="/runs/A/samples/q1">What is the capital of q1?</a>' in text


def test_compare_links_regressions_to_the_ab_page(client: TestClient) -> None:
    """A regressed row shows the question and opens the A/B page of that sample."""
    text = client.get("/compare?a=A&b=B").text
    regressions = text.split("Regressions by sample")[1].split("Improvements by sample")[0]
    assert "/compare/sample?a=A&amp;b=B&amp;id=q2" in regressions
    assert "What is the capital of q2?" in regressions


def test_ab_page_diffs_answers_and_walks_the_regressions_worst_first(client: TestClient) -> None:
    """Both answers with <del>/<ins>, both runs' explanations, next/prev in compare's order."""
    text = client.get("/compare/sample?a=A&b=B&id=q2").text
    assert "<del>Paris</del>" in text and "Marseille</ins>" in text
    assert "&lt;script&gt;" in text and "<script>alert" not in text
    assert "precision 1.00" in text and "precision 0.10" in text
    assert "regressed sample 1 of 2" in text
    nxt = re.search(r'id="next" rel="next" href="([^"]+)"', text)
    assert nxt and nxt[1].endswith("id=q1")
    second = client.get(nxt[1].replace("&amp;", "&")).text
    assert "regressed sample 2 of 2" in second and 'id="prev"' in second
    assert 'id="next"' not in second


def test_where_with_an_unknown_metric_is_a_400_that_offers_names(client: TestClient) -> None:
    """rag.f1.scor<0.5 says which metric is unknown, the closest name and the known ones."""
    page = client.get("/runs/A?where=rag.f1.scor<0.5")
    assert page.status_code == 400
    assert "unknown metric &#39;rag.f1.scor&#39;; did you mean rag.f1.score" in page.text
    assert "known: " in page.text and "rag.faithfulness.score" in page.text
    assert client.get("/runs/A?where=rag.f1.score<0.7").status_code == 200


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["<script>alert(1)</script>", "a & b < c", '"quoted" it\'s', "same words here"]
)


@given(TEXT, TEXT)
def test_word_diff_ops_rebuild_b_and_never_leak_markup(a: str, b: str) -> None:
    """Applying the diff's ops to A's tokens gives B's; tokens rejoin to the text; the HTML
    halves hold no tag but <del>/<ins> and unescape (markup removed) to A and B."""
    ta, tb = tokens(a), tokens(b)
    assert "".join(ta) == a and "".join(tb) == b
    assert apply_ops(ta, tb, diff_ops(ta, tb)) == tb
    left, right = word_diff(a, b)
    for half, original in ((str(left), a), (str(right), b)):
        tags = set(re.findall(r"</?([a-zA-Z]+)", half))
        assert tags <= {"del", "ins"}
        plain = re.sub(r"</?(del|ins)>", "", half)
        assert "<" not in plain and ">" not in plain
        unescaped = (
            plain.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#34;", '"')
            .replace("&#39;", "'")
            .replace("&amp;", "&")
        )
        assert unescaped == original


def test_a_gllm_evals_result_reads_as_metrics_config_and_links() -> None:
    """gllm-evals' shape (LLMTestCase fields, nested evaluator config, one context string,
    a log_context link): answers found, explanations beside scores, the config a structure,
    and both the result's span and the linked app span linked in Jaeger."""
    record = {
        "run_id": "g",
        "project_name": "p",
        "dataset_name": "d",
        "evaluation_result": {
            "classical_retrieval_evals": {
                "map@1": {"score": 1.0, "success": True, "explanation": "precision 1.00"},
                "evaluator_parameters": {"metric": {"_value_": "map", "_sort_order_": 0}},
            },
            "exact": {"score": 0.0, "reason": "differs"},
        },
        "data": {
            "input": "Who wrote Hamlet?",
            "actual_output": "Marlowe",
            "expected_output": "Shakespeare",
            "retrieved_context": "Hamlet is a tragedy by William Shakespeare.",
        },
        "metadata": {"model": "m"},
        "context": {},
        "sample_id": "9f2c",
        "timestamp": "2026-01-01T00:00:00+00:00",
        "trace_id": "a" * 32,
        "span_id": "b" * 16,
        "link": {"trace_id": "c" * 32, "span_id": "d" * 16},
    }
    view = sample_view([record], "9f2c", LINKS)
    assert view is not None and view["label"] == "Who wrote Hamlet?"
    shown = view["occurrences"][0]
    assert shown["answer"]["text"] == "Marlowe" and shown["expected"]["text"] == "Shakespeare"
    assert [c["text"] for c in shown["contexts"]] == [record["data"]["retrieved_context"]]
    rows = {m["metric"]: m for m in shown["metrics"]}
    assert rows["classical_retrieval_evals.map@1"]["scores"] == [
        ("score", "1.000"),
        ("success", "true"),
    ]
    assert rows["classical_retrieval_evals.map@1"]["notes"][0][1]["text"] == "precision 1.00"
    assert rows["exact"]["notes"][0] == ("reason", text("differs"))
    enum = rows["classical_retrieval_evals.evaluator_parameters.metric"]
    assert ("_value_", text("map")) in enum["notes"]
    assert shown["span"] == {"Jaeger": f"http://jaeger:16686/trace/{'a' * 32}?uiFind={'b' * 16}"}
    assert shown["app"] == {"Jaeger": f"http://jaeger:16686/trace/{'c' * 32}?uiFind={'d' * 16}"}
    assert sample_view([record], "nope", LINKS) is None
