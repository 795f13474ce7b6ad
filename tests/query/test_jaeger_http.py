"""JaegerQueryAdapter's HTTP transport (``GET /api/v3/traces``) against an offline Jaeger v2.13
(tests/query/fakes.py): every trace of the service comes back, whatever ``query.attributes``
says, so the adapter's exact re-filtering, paging and completeness are what is pinned here."""

from __future__ import annotations

import json
import time
from datetime import datetime

import httpx
import pytest

import evaltrace
from evaltrace import (
    BackendResponseError,
    BackendUnavailableError,
    HistoryFilter,
    IncompleteResultsError,
    JaegerQueryAdapter,
)

from .fakes import NASTY, SECRET, FakeJaeger, one_and_batch, reference, singles, traces

URL = "http://jaeger:16686"


def jaeger(
    fake: FakeJaeger, url: str = URL, retries: int = 0, **kwargs: object
) -> JaegerQueryAdapter:
    """An HTTP adapter whose network is ``fake``; retries happen at once (backoff 0)."""
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=retries, backoff=0)
    return JaegerQueryAdapter(url, options=options, **kwargs)  # type: ignore[arg-type]


def test_every_trace_of_the_service_is_filtered_exactly() -> None:
    """v2.13 ignores query.attributes: other runs, prefix runs and projects are dropped here."""
    spans = one_and_batch("run")
    others = [t for r in ("run-1", "runx", "RUN", 'run"') for t in traces(one_and_batch(r))]
    fake = FakeJaeger(traces(spans) + others)
    rows = jaeger(fake).run_results("run")
    assert repr(rows) == repr(reference(spans).run_results("run"))
    (request,) = fake.requests
    params = request.url.params
    assert params["query.service_name"] == "evaltrace"
    assert json.loads(params["query.attributes"]) == {"eval.run_id": "run"}
    assert params["query.num_traces"] == "1000" and params["query.raw_traces"] == "true"
    start, end = (
        datetime.fromisoformat(params[k]) for k in ("query.start_time_min", "query.start_time_max")
    )
    assert params["query.start_time_max"].endswith("Z") and start < end


@pytest.mark.parametrize("run_id", list(NASTY), ids=[repr(k) for k in NASTY])
def test_run_ids_are_sent_as_json_and_match_only_their_own(run_id: str) -> None:
    """Quotes, backslashes, newlines and prefixes survive ``query.attributes`` and re-filtering."""
    fake = FakeJaeger([t for other in NASTY for t in traces(singles(other, 1))])
    (row,) = jaeger(fake).run_results(run_id)
    assert row["run_id"] == run_id
    assert json.loads(fake.requests[0].url.params["query.attributes"]) == {"eval.run_id": run_id}


def test_a_full_search_halves_its_window_until_every_answer_is_short() -> None:
    """``search_depth`` traces back means some may be missing: halves are searched instead."""
    now = int(time.time())
    spans = singles("r", 12)
    stored = [t for i, span in enumerate(spans) for t in traces([span], at=now - 600 + 40 * i)]
    fake = FakeJaeger(stored)
    adapter = jaeger(fake, search_depth=5)
    rows = adapter.run_results("r")
    assert [r["evaluation_result"]["i"] for r in rows] == list(range(12))
    assert adapter.searches == len(fake.searches) > 3
    widths = sorted({(end - start).total_seconds() for start, end, _ in fake.searches})
    assert widths[-1] / widths[-2] == pytest.approx(2.0, rel=1e-6)  # halved, not guessed


def test_more_traces_at_one_instant_than_search_depth_raises() -> None:
    """A window that cannot be split further while still full raises IncompleteResultsError."""
    at = int(time.time()) - 60
    fake = FakeJaeger([t for span in singles("r", 3) for t in traces([span], at=at)])
    with pytest.raises(IncompleteResultsError, match="more than 2 traces start within"):
        jaeger(fake, search_depth=2).run_results("r")


def test_no_traces_found_is_an_empty_list() -> None:
    """Jaeger's 404 "No traces found" means no results, as does a service holding other runs."""
    assert jaeger(FakeJaeger()).run_results("r") == []
    assert jaeger(FakeJaeger(traces(singles("other", 2)))).run_results("r") == []


def test_a_client_error_carries_jaegers_message_and_is_not_retried() -> None:
    """A 4xx becomes BackendResponseError with the message of Jaeger's JSON error, tried once."""
    fake = FakeJaeger()
    message = 'malformed parameter query.num_traces: strconv.Atoi: parsing "x": invalid syntax'
    fake.replies.append(httpx.Response(400, json={"error": {"httpCode": 400, "message": message}}))
    with pytest.raises(BackendResponseError) as info:
        jaeger(fake, retries=3).run_results("r")
    assert (info.value.status, info.value.message) == (400, message)
    assert len(fake.requests) == 1


def test_server_and_connection_errors_are_retried_a_bounded_number_of_times() -> None:
    """5xx and connection failures are retried ``retries`` times, then raised as evaltrace's own."""
    spans = singles("r", 1)
    fake = FakeJaeger(traces(spans))
    fake.replies.extend([httpx.Response(503), httpx.ConnectError("[Errno 111] Connection refused")])
    assert len(jaeger(fake, retries=2).run_results("r")) == 1
    fake = FakeJaeger(traces(spans))
    error = {"error": {"httpCode": 500, "message": "search depth exceeds max_traces"}}
    fake.replies.extend([httpx.Response(500, json=error)] * 10)
    with pytest.raises(BackendResponseError, match="search depth exceeds max_traces"):
        jaeger(fake, retries=2).run_results("r")
    assert len(fake.requests) == 3
    fake = FakeJaeger(traces(spans))
    fake.replies.extend([httpx.ConnectError("[Errno 111] Connection refused")] * 10)
    with pytest.raises(BackendUnavailableError, match="Jaeger at http://jaeger:16686"):
        jaeger(fake, retries=2).run_results("r")
    assert len(fake.requests) == 3


def test_a_half_stored_batch_trace_is_incomplete() -> None:
    """A batch trace of this run missing a result raises instead of returning part of the run."""
    spans = one_and_batch("r", n=4)
    first = next(s for s in spans if (s.attributes or {}).get("eval.batch.row") == 0)
    fake = FakeJaeger(traces(spans, drop=lambda s: s is first))
    with pytest.raises(
        IncompleteResultsError, match="holds 3 results but its batch span announces 4"
    ):
        jaeger(fake).run_results("r")


def test_duplicated_spans_count_once() -> None:
    """Jaeger stores a re-sent span twice in the same trace; it is one result."""
    spans = one_and_batch("r")
    fake = FakeJaeger(traces(spans, duplicate=True))
    assert repr(jaeger(fake).run_results("r")) == repr(reference(spans).run_results("r"))


def test_another_runs_broken_trace_does_not_fail_this_run() -> None:
    """Every trace of the service comes back: another run's half-stored batch is not fatal."""
    spans = one_and_batch("r")
    broken = traces(one_and_batch("r2", n=4), drop=lambda s: s.name == "evaltrace.batch")
    fake = FakeJaeger(traces(spans) + broken)
    assert repr(jaeger(fake).run_results("r")) == repr(reference(spans).run_results("r"))
    with pytest.raises(IncompleteResultsError):  # but a history of the project includes it
        jaeger(fake).project_results(HistoryFilter("p"))


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [
        (URL, {"bearer_token": SECRET}),
        (URL, {"basic_auth": ("user", SECRET)}),
        (f"http://user:{SECRET}@jaeger:16686", {}),
    ],
    ids=["bearer", "basic", "url-password"],
)
@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(403, json={"error": {"httpCode": 403, "message": "forbidden"}}),
        httpx.Response(504, text="gateway timeout"),
        httpx.ConnectError("[Errno 111] Connection refused"),
    ],
    ids=["403", "504", "connect"],
)
def test_credentials_never_appear_in_errors_or_reprs(
    url: str, kwargs: dict[str, object], reply: httpx.Response | Exception
) -> None:
    """Bearer tokens, basic-auth and URL passwords are sent, but never shown in errors or reprs."""
    fake = FakeJaeger()
    fake.replies.append(reply)
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0, **kwargs)  # type: ignore[arg-type]
    adapter = JaegerQueryAdapter(url, options=options)
    with pytest.raises(evaltrace.QueryError) as info:
        adapter.run_results("r")
    assert "authorization" in fake.requests[0].headers
    shown = [str(info.value), repr(info.value), repr(adapter), repr(options), repr(adapter._http)]
    assert not [s for s in shown if SECRET in s or "dXNlcjpz" in s], shown
