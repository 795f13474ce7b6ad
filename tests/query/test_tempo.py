"""TempoQueryAdapter against an offline Tempo (tests/query/fakes.py): the documented HTTP API,
answered with OTLP/JSON of spans evaltrace itself wrote."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import (
    BackendResponseError,
    BackendUnavailableError,
    HistoryFilter,
    IncompleteResultsError,
    TempoQueryAdapter,
)

from .fakes import NASTY, SECRET, FakeTempo, one_and_batch, reference, singles, traces

URL = "http://tempo:3200"
WEEK = 168 * 3600


def tempo(fake: FakeTempo, url: str = URL, retries: int = 0, **kwargs: object) -> TempoQueryAdapter:
    """An adapter whose network is ``fake``; retries happen at once (backoff 0)."""
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=retries, backoff=0)
    return TempoQueryAdapter(url, options=options, **kwargs)  # type: ignore[arg-type]


def searches(fake: FakeTempo) -> list[httpx.Request]:
    """The search requests the fake saw."""
    return [r for r in fake.requests if r.url.path == "/api/search"]


def test_search_then_trace_by_id_returns_what_memory_returns() -> None:
    """A TraceQL search, then each whole trace by id: results equal memory's, exactly."""
    spans = one_and_batch("r")
    fake = FakeTempo(traces(spans) + traces(one_and_batch("other")))
    rows = tempo(fake).run_results("r")
    assert len(rows) == 4
    assert repr(rows) == repr(reference(spans).run_results("r"))  # NaN-tolerant, type-exact
    (search, *fetches) = fake.requests
    assert search.url.path == "/api/search"
    assert search.url.params["q"] == '{ span.eval.run_id = "r" }'
    assert search.url.params["limit"] == "1000" and search.url.params["spss"] == "1"
    assert sorted(r.url.path for r in fetches) == sorted(
        f"/api/v2/traces/{t.hex_id}" for t in traces(spans)
    )


def test_trace_ids_without_leading_zeros_are_fetched_in_full() -> None:
    """Tempo's search drops a trace id's leading zeros; the fetch still asks for all 32 digits."""
    spans = singles("r", 1)
    fake = FakeTempo(traces(spans, trace_id=bytes(3) + bytes(range(1, 14))))
    (row,) = tempo(fake).run_results("r")
    assert row["trace_id"] == "000000" + bytes(range(1, 14)).hex()
    assert fake.requests[1].url.path == f"/api/v2/traces/{row['trace_id']}"


def test_default_lookback_fits_tempos_168h_limit() -> None:
    """The default 7-day lookback is sent as windows Tempo accepts (end - start <= 168 h)."""
    fake = FakeTempo(traces(singles("r", 1)))
    assert len(tempo(fake).run_results("r")) == 1
    assert all(end - start <= WEEK for _, start, end, _ in fake.searches)


def test_windows_over_168h_are_split_and_cover_the_range() -> None:
    """A 20-day history is searched in contiguous windows of at most 168 h covering it all."""
    now = int(time.time())
    old = traces(singles("r", 1), at=now - 19 * 86400)
    fake = FakeTempo(old + traces(singles("r", 1), at=now - 3600))
    since, until = datetime.fromtimestamp(now - 20 * 86400, UTC), datetime.fromtimestamp(now, UTC)
    adapter = tempo(fake)
    rows = adapter.project_results(HistoryFilter("p", since=since, until=until))
    assert len(rows) == 2
    windows = sorted((start, end) for _, start, end, _ in fake.searches)
    assert len(windows) == 3
    assert all(end - start <= WEEK for start, end in windows)
    assert windows[0][0] <= since.timestamp() and windows[-1][1] >= until.timestamp()
    assert all(a[1] == b[0] for a, b in itertools.pairwise(windows))  # no gaps
    assert fake.searches[0][0] == {"eval.project": "p"}


def test_full_search_is_paged_by_halving_its_window() -> None:
    """Searches that come back with ``search_limit`` traces are split until every one is short."""
    now = int(time.time())
    spans = singles("r", 12)
    stored = [t for i, span in enumerate(spans) for t in traces([span], at=now - 600 + 40 * i)]
    fake = FakeTempo(stored)
    rows = tempo(fake, search_limit=5).run_results("r")
    assert [r["evaluation_result"]["i"] for r in rows] == list(range(12))
    assert len(fake.searches) > 3
    assert all(end - start >= 1 for _, start, end, _ in fake.searches)


def test_a_full_one_second_window_raises() -> None:
    """More than ``search_limit`` traces in one second cannot be paged: IncompleteResultsError."""
    at = int(time.time()) - 60
    fake = FakeTempo([t for span in singles("r", 3) for t in traces([span], at=at)])
    with pytest.raises(IncompleteResultsError, match="more than 2 traces in one second"):
        tempo(fake, search_limit=2).run_results("r")
    assert min(end - start for _, start, end, _ in fake.searches) == 1


@pytest.mark.parametrize("run_id", list(NASTY), ids=[repr(k) for k in NASTY])
def test_run_ids_are_escaped_for_traceql(run_id: str) -> None:
    """Quotes, backslashes, newlines, control and non-ASCII characters are escaped exactly as
    TraceQL's lexer (Go's strconv.Unquote) reads them back, and match only their own run."""
    stored = [t for other in NASTY for t in traces(singles(other, 1))]
    fake = FakeTempo(stored)
    (row,) = tempo(fake).run_results(run_id)
    assert row["run_id"] == run_id
    assert fake.requests[0].url.params["q"] == "{ span.eval.run_id = " + NASTY[run_id] + " }"
    assert fake.searches[0][0] == {"eval.run_id": run_id}  # what Tempo's parser understood


def test_history_query_has_every_term() -> None:
    """Project and dataset become one TraceQL selector joined by ``&&``."""
    fake = FakeTempo(traces(one_and_batch("r")))
    rows = tempo(fake).project_results(HistoryFilter("p", dataset_name='q"a'))
    assert rows == []  # the dataset is "qa"
    q = fake.requests[0].url.params["q"]
    assert q == '{ span.eval.project = "p" && span.eval.dataset = "q\\"a" }'


def test_history_of_every_project_selects_evaltrace_spans_only() -> None:
    """No project: ``{ span.eval.run_id != nil }``, not ``{ }`` (every span of every service)."""
    spans = one_and_batch("r")
    provider = TracerProvider(resource=Resource({"service.name": "app"}))
    app = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(app))
    with provider.get_tracer("app").start_as_current_span("answer", attributes={"eval.x": "y"}):
        pass
    (app_trace,) = traces(app.get_finished_spans())
    fake = FakeTempo([*traces(spans), app_trace])
    rows = tempo(fake).project_results(HistoryFilter())
    assert repr(rows) == repr(reference(spans).run_results("r"))
    assert fake.requests[0].url.params["q"] == "{ span.eval.run_id != nil }"
    assert f"/api/v2/traces/{app_trace.hex_id}" not in {r.url.path for r in fake.requests}


def test_nothing_found_is_an_empty_list() -> None:
    """An empty search answer and a 404 from the search both mean no results."""
    assert tempo(FakeTempo()).run_results("r") == []
    fake = FakeTempo()
    fake.replies.append(httpx.Response(404, text="404 page not found"))
    assert tempo(fake).run_results("r") == []


def test_a_client_error_carries_tempos_message_and_is_not_retried() -> None:
    """A 4xx becomes BackendResponseError with Tempo's own (plain-text) message, tried once."""
    fake = FakeTempo(max_duration=3600)  # a tenant's max_search_duration override of 1 h
    with pytest.raises(BackendResponseError) as info:
        tempo(fake, retries=3).run_results("r")
    assert info.value.status == 400
    assert info.value.message.startswith("range specified by start and end exceeds 1h0m0s.")
    assert len(fake.requests) == 1


def test_a_tenants_shorter_max_duration_is_honoured_with_max_window() -> None:
    """``max_window`` keeps every search within a tenant's lower ``max_search_duration``."""
    fake = FakeTempo(traces(singles("r", 1)), max_duration=3600)
    assert len(tempo(fake, max_window=timedelta(hours=1)).run_results("r")) == 1
    assert len(fake.searches) == 7 * 24 and all(e - s <= 3600 for _, s, e, _ in fake.searches)


def test_server_errors_are_retried_a_bounded_number_of_times() -> None:
    """5xx answers are retried ``retries`` times: a passing one absorbed, a lasting one raised."""
    spans = singles("r", 1)
    fake = FakeTempo(traces(spans))
    fake.replies.extend([httpx.Response(503, text="upstream unavailable")] * 2)
    assert len(tempo(fake, retries=2).run_results("r")) == 1
    fake = FakeTempo(traces(spans))
    fake.replies.extend([httpx.Response(500, text="internal error: context canceled")] * 10)
    with pytest.raises(BackendResponseError, match="internal error") as info:
        tempo(fake, retries=2).run_results("r")
    assert info.value.status == 500 and len(fake.requests) == 3


def test_connection_errors_are_retried_then_unavailable() -> None:
    """Connection failures are retried ``retries`` times, then BackendUnavailableError."""
    fake = FakeTempo(traces(singles("r", 1)))
    fake.replies.extend([httpx.ConnectError("[Errno 111] Connection refused")] * 10)
    with pytest.raises(BackendUnavailableError, match="Tempo at http://tempo:3200: ConnectError"):
        tempo(fake, retries=2).run_results("r")
    assert len(fake.requests) == 3


def test_a_half_stored_batch_trace_is_incomplete() -> None:
    """A batch trace missing results, or its root, raises instead of returning part of a run."""
    spans = one_and_batch("r", n=5)
    results = [
        s
        for s in spans
        if s.name == "evaltrace.result" and (s.attributes or {}).get("eval.batch.id")
    ]
    missing = {id(results[1]), id(results[3])}
    fake = FakeTempo(traces(spans, drop=lambda s: id(s) in missing))
    with pytest.raises(
        IncompleteResultsError, match="holds 3 results but its batch span announces 5"
    ):
        tempo(fake).run_results("r")
    fake = FakeTempo(traces(spans, drop=lambda s: s.name == "evaltrace.batch"))
    with pytest.raises(IncompleteResultsError, match="root not stored"):
        tempo(fake).run_results("r")


def test_a_trace_tempo_cut_short_is_incomplete() -> None:
    """A trace answered with ``status: PARTIAL`` (over max_bytes_per_trace) is never decoded."""
    stored = traces(singles("r", 1))
    fake = FakeTempo(stored)
    message = "Trace exceeds maximum size of 5000000 bytes, a partial trace is returned"
    fake.partial[stored[0].hex_id] = message
    with pytest.raises(IncompleteResultsError, match=message):
        tempo(fake).run_results("r")


def test_a_trace_found_then_gone_is_incomplete() -> None:
    """A trace the search matched but the fetch cannot find is part of the run missing."""
    stored = traces(singles("r", 2))
    fake = FakeTempo(stored)
    fake.gone.add(stored[0].hex_id)
    with pytest.raises(IncompleteResultsError, match="matched the search but is gone"):
        tempo(fake).run_results("r")


def test_duplicated_spans_count_once() -> None:
    """Spans delivered twice (at-least-once) are one result each; the batch stays complete."""
    spans = one_and_batch("r")
    fake = FakeTempo(traces(spans, duplicate=True))
    assert repr(tempo(fake).run_results("r")) == repr(reference(spans).run_results("r"))


def test_another_runs_broken_trace_does_not_fail_this_run() -> None:
    """A half-stored batch trace of another run in the answer is filtered out, not fatal."""
    spans = one_and_batch("r")
    other = one_and_batch("r-other", n=4)
    broken = traces(other, drop=lambda s: s.name == "evaltrace.batch")
    fake = FakeTempo(traces(spans) + broken, loose=True)  # search answers with every trace
    assert repr(tempo(fake).run_results("r")) == repr(reference(spans).run_results("r"))


@pytest.mark.parametrize(
    ("url", "kwargs"),
    [
        (URL, {"bearer_token": SECRET}),
        (URL, {"basic_auth": ("user", SECRET)}),
        (f"http://user:{SECRET}@tempo:3200", {}),
    ],
    ids=["bearer", "basic", "url-password"],
)
@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(401, text="unauthorized"),
        httpx.Response(502, text="bad gateway"),
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ReadTimeout("timed out"),
    ],
    ids=["401", "502", "connect", "timeout"],
)
def test_credentials_never_appear_in_errors_or_reprs(
    url: str, kwargs: dict[str, object], reply: httpx.Response | Exception
) -> None:
    """Bearer tokens, basic-auth and URL passwords are sent, but never shown in errors or reprs."""
    fake = FakeTempo()
    fake.replies.append(reply)
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0, **kwargs)  # type: ignore[arg-type]
    adapter = TempoQueryAdapter(url, options=options)
    with pytest.raises(evaltrace.QueryError) as info:
        adapter.run_results("r")
    assert "authorization" in fake.requests[0].headers  # the credential was used
    shown = [str(info.value), repr(info.value), repr(adapter), repr(options), repr(adapter._http)]
    shown += [str(a) for a in info.value.args]
    assert not [s for s in shown if SECRET in s or "dXNlcjpz" in s], shown


def test_default_window_is_one_search_ending_after_now() -> None:
    """With no ``until``, one search of exactly 168 h ending after now (just-logged results in)."""
    fake = FakeTempo(traces(singles("r", 1)))
    tempo(fake).run_results("r")
    ((_, start, end, _),) = fake.searches
    assert end > time.time() and end - start == WEEK
