"""``TempoQueryAdapter``: reads results from Grafana Tempo (TraceQL search + trace by id)."""

from __future__ import annotations

import json
import math
import ssl
from collections.abc import Mapping
from datetime import datetime, timedelta

from .._exceptions import IncompleteResultsError
from ..schema import ATTR_RUN_ID
from ._base import SpanView
from ._http import ClientOptions, HttpBackend
from ._otlp_json import hex_id, span_views
from ._search import SearchQueryAdapter

__all__ = ["TempoQueryAdapter", "traceql"]

_MAX_WINDOW = timedelta(hours=168)
"""Tempo refuses a search whose ``end - start`` exceeds this (the query frontend's
``max_duration``, 168h by default: "range specified by start and end exceeds 168h0m0s")."""


def traceql(terms: Mapping[str, str]) -> str:
    """A TraceQL span selector matching every term exactly.

    Values are written as JSON strings without ASCII escaping: quotes, backslashes and control
    characters are escaped the way TraceQL (Go's ``strconv.Unquote``) reads them, so no value
    can end the string early or widen the query. No terms select every evaltrace span.
    """
    clauses = [f"span.{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in terms.items()]
    # No terms (a history of every project): evaltrace's spans only, not ``{ }``, which matches
    # every span of every service and would fetch each of their traces by id.
    return "{ " + (" && ".join(clauses) or f"span.{ATTR_RUN_ID} != nil") + " }"


class TempoQueryAdapter(SearchQueryAdapter):
    """Finds trace ids with TraceQL, then fetches each whole trace from ``/api/v2/traces``.

    A search that returns ``search_limit`` traces may have left some out: its window is halved
    (Tempo's unit is the second) until every window comes back short; a one-second window that
    is still full raises ``IncompleteResultsError``. Searches span at most ``max_window``
    (Tempo's ``max_duration``, or a tenant's lower ``max_search_duration``). Keep
    ``search_limit`` at or below the querier's ``max_result_limit``: some Tempo versions cap a
    larger limit silently, and a capped answer looks complete. Tested offline against Tempo's
    documented API (tests/query/test_tempo.py), not against a live Tempo: the Go module proxy
    here refuses Tempo's module (see docs/backends.md; tests/backends/test_tempo_live.py runs
    on demand).

    ``history`` reads run-summary spans only (``{ span.eval.kind = "run_summary" && ... }``),
    over ``summary_lookback`` (365 days by default: 53 windows of 168 h), then each summary
    trace by id; never a result trace.
    """

    def __init__(
        self,
        base_url: str,
        *,
        search_limit: int = 1000,
        lookback: timedelta = timedelta(days=7),
        summary_lookback: timedelta = timedelta(days=365),
        max_window: timedelta = _MAX_WINDOW,
        headers: Mapping[str, str] | None = None,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 30.0,
        options: ClientOptions | None = None,
    ) -> None:
        self.search_limit = search_limit
        self.lookback = lookback
        self.summary_lookback = summary_lookback
        self.max_window = max(1, int(max_window.total_seconds()))  # Tempo's unit: the second
        self._http = HttpBackend(
            "Tempo",
            base_url,
            options
            or ClientOptions(
                headers=headers,
                bearer_token=bearer_token,
                basic_auth=basic_auth,
                verify=verify,
                timeout=timeout,
            ),
        )

    def _trace_ids(self, query: str, start: int, end: int) -> set[str]:
        params = {"q": query, "start": start, "end": end, "limit": self.search_limit, "spss": 1}
        status, body = self._http.get_json("/api/search", params)
        traces = (body or {}).get("traces", []) if status != 404 else []
        ids = {hex_id(t["traceID"].rjust(32, "0"), 16) for t in traces}
        if len(traces) < self.search_limit:
            return ids
        if end - start <= 1:
            raise IncompleteResultsError(
                f"Tempo: more than {self.search_limit} traces in one second; raise search_limit"
            )
        middle = (start + end) // 2
        return self._trace_ids(query, start, middle) | self._trace_ids(query, middle, end)

    def _trace(self, trace_id: str) -> list[SpanView]:
        status, body = self._http.get_json(f"/api/v2/traces/{trace_id}")
        if status == 404 or not body:
            # The search has just matched it: a trace that is not there now (a block being
            # flushed, retention) is part of the answer missing, not "nothing".
            raise IncompleteResultsError(f"Tempo: trace {trace_id} matched the search but is gone")
        if body.get("status") == "PARTIAL":
            # Tempo cut the trace (max_bytes_per_trace) or filtered it: never decode part of it.
            raise IncompleteResultsError(
                f"Tempo: trace {trace_id} is partial: {body.get('message') or 'no reason given'}"
            )
        trace = body.get("trace", body)
        return list(span_views(trace.get("resourceSpans") or trace.get("batches") or []))

    def _spans(self, terms: dict[str, str], start: datetime, end: datetime) -> list[SpanView]:
        query = traceql(terms)
        ids: set[str] = set()
        # Whole seconds covering [start, end], walked back in windows of at most max_window.
        # Rounding the end up by a whole second (int(end) + 1) made the default 168 h lookback
        # a 168 h + 1 s window, which Tempo refuses with a 400.
        low = math.floor(start.timestamp())
        high = max(math.ceil(end.timestamp()), low + 1)
        while low < high:
            window_start = max(low, high - self.max_window)
            ids |= self._trace_ids(query, window_start, high)
            high = window_start
        return [span for trace_id in sorted(ids) for span in self._trace(trace_id)]

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()
