"""``JaegerQueryAdapter``: reads results from Jaeger v2 through its ``/api/v3`` HTTP API only."""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from .._exceptions import BackendResponseError, ConfigurationError, IncompleteResultsError
from .._urls import redact_url
from ..schema import ATTR_SUMMARY_KIND, REVIEW_KIND, REVIEW_SPAN, SUMMARY_KIND, SUMMARY_SPAN
from ._base import SpanView
from ._http import ClientOptions, HttpBackend
from ._jaeger_grpc import JaegerGrpc
from ._otlp_json import span_views
from ._search import SearchQueryAdapter

__all__ = ["JaegerQueryAdapter"]


def _operation(terms: Mapping[str, str]) -> str:
    """The span name a search may also ask for: ``evaltrace.run_summary`` for history,
    ``evaltrace.review`` for reviews.

    v2.13's HTTP gateway ignores the attributes but honours the span name, so history fetches
    the summary spans only, not every trace of the service (4 spans instead of 917 for a
    service holding 4 runs). Over gRPC the memory store then skips the attribute match of
    every other span: a 30 x 2,000-result service answered in ~7 ms instead of ~26-33 ms.
    """
    kind = terms.get(ATTR_SUMMARY_KIND)
    return {SUMMARY_KIND: SUMMARY_SPAN, REVIEW_KIND: REVIEW_SPAN}.get(kind or "", "")


MAX_WINDOW: Final = timedelta(days=60)
"""The longest window one search covers (~60 index names: ~2 kB of a request line)."""


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class JaegerQueryAdapter(SearchQueryAdapter):
    """Finds a run's traces through Jaeger's API v3; pages by splitting the time window.

    ``base_url`` picks the transport: ``grpc://host:16685`` (``grpcs://`` for TLS) uses
    ``jaeger.api_v3.QueryService/FindTraces``, which matches attributes server-side;
    ``http://host:16686`` uses ``GET /api/v3/traces``, whose gateway in Jaeger v2.13 ignores
    ``query.attributes`` and so returns every trace of the service in the window (correct,
    filtered here, but it reads far more): prefer gRPC with such versions.

    Jaeger returns at most ``search_depth`` traces per search (``query.num_traces``; at most
    the storage's own cap, e.g. the memory store's ``max_traces``). A search that comes back
    full may have left traces out, so its window is halved and both halves searched until
    every window comes back short of the cap; a window that cannot be split further raises
    ``IncompleteResultsError`` instead of returning part of a run. Jaeger v2.13's HTTP gateway
    ignores ``query.attributes``, so spans are matched again here, exactly, on run id,
    project and dataset: a run id that is a prefix of another, or holds quotes, braces or
    newlines, can neither widen nor break the query.

    ``history`` reads run-summary spans only (never results), searched over
    ``summary_lookback`` (365 days by default; storage must keep spans that long: OpenSearch's
    ``es.max-span-age``/index cleaner, the memory store's ``max_traces``).
    """

    def __init__(
        self,
        base_url: str,
        *,
        service_name: str = "evaltrace",
        search_depth: int = 1000,
        lookback: timedelta = timedelta(days=7),
        summary_lookback: timedelta = timedelta(days=365),
        headers: Mapping[str, str] | None = None,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        timeout: float = 30.0,
        options: ClientOptions | None = None,
    ) -> None:
        options = options or ClientOptions(
            headers=headers,
            bearer_token=bearer_token,
            basic_auth=basic_auth,
            verify=verify,
            timeout=timeout,
        )
        self.service_name = service_name
        self.search_depth = search_depth
        self.lookback = lookback
        self.summary_lookback = summary_lookback
        self.searches = 0
        scheme, _, target = base_url.partition("://")
        self._grpc: JaegerGrpc | None = None
        self._http: HttpBackend | None = None
        if scheme in ("grpc", "grpcs"):
            if "@" in target.partition("/")[0]:
                raise ConfigurationError(
                    f"JaegerQueryAdapter({redact_url(base_url)!r}): a gRPC URL cannot carry "
                    "credentials (gRPC would take them as part of the host name); pass "
                    "basic_auth=(user, password) or bearer_token= instead"
                )
            self._grpc = JaegerGrpc(
                target.rstrip("/"),
                secure=scheme == "grpcs",
                options=options,
            )
        else:
            self._http = HttpBackend("Jaeger", base_url, options)

    def _http_params(self, terms: dict[str, str], start: datetime, end: datetime) -> dict[str, Any]:
        """Query parameters of ``GET /api/v3/traces`` for one search."""
        params = {
            "query.service_name": self.service_name,
            "query.start_time_min": _rfc3339(start),
            "query.start_time_max": _rfc3339(end),
            "query.num_traces": self.search_depth,
            "query.raw_traces": "true",  # no clock-skew adjustment: values exactly as stored
            # The same in the names newer Jaeger reads first (the snake_case ones are
            # deprecated aliases, to be removed in v2.20); v2.13 ignores these.
            "query.serviceName": self.service_name,
            "query.startTimeMin": _rfc3339(start),
            "query.startTimeMax": _rfc3339(end),
            "query.searchDepth": self.search_depth,
            "query.rawTraces": "true",
            # Honoured by Jaeger versions whose HTTP gateway maps it (v2.13 ignores it, so
            # results are always filtered again client-side).
            "query.attributes": json.dumps(terms, ensure_ascii=False),
        }
        operation = _operation(terms)
        if operation:
            params["query.operation_name"] = params["query.operationName"] = operation
        return params

    def _search(self, terms: dict[str, str], start: datetime, end: datetime) -> list[SpanView]:
        self.searches += 1
        if self._grpc is not None:
            return self._grpc.find(
                self.service_name, terms, start, end, self.search_depth, _operation(terms)
            )
        if self._http is None:  # pragma: no cover - one of the two is always set
            raise RuntimeError("JaegerQueryAdapter has no transport")
        status, body = self._http.get_json("/api/v3/traces", self._http_params(terms, start, end))
        if status == 404:
            return []
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise BackendResponseError(
                "Jaeger", status, "the answer is not an OTLP/JSON trace list"
            )
        return list(span_views(result.get("resourceSpans") or []))

    def _collect(self, terms: dict[str, str], start: datetime, end: datetime) -> list[SpanView]:
        spans = self._search(terms, start, end)
        if len({s.trace_id for s in spans}) < self.search_depth:
            # Delivery is at-least-once (a collector re-sends after a timeout or a restart), and
            # Jaeger stores a re-sent span again (memory store, OpenSearch: no document id);
            # a trace is found again by each half of a split window too: the readers keep one
            # copy of each (trace id, span id) (``unique``), once, over everything found.
            return spans
        if end - start <= timedelta(microseconds=2):
            raise IncompleteResultsError(
                f"Jaeger: more than {self.search_depth} traces start within {start.isoformat()}; "
                "raise search_depth (and the storage's max_traces)"
            )
        middle = start + (end - start) / 2
        return self._collect(terms, start, middle) + self._collect(terms, middle, end)

    def _spans(self, terms: dict[str, str], start: datetime, end: datetime) -> list[SpanView]:
        """The window searched in steps of at most ``MAX_WINDOW``: Jaeger's Elasticsearch /
        OpenSearch reader names every daily index of the window in one request line, and
        OpenSearch refuses a line over 4 kB (``too_long_http_line_exception``: measured with
        the 365 days of ``summary_lookback``)."""
        spans: list[SpanView] = []
        while start < end:
            step = min(end, start + MAX_WINDOW)
            spans += self._collect(terms, start, step)
            start = step
        return spans

    def close(self) -> None:
        """Close the HTTP client or gRPC channel."""
        if self._grpc is not None:
            self._grpc.close()
        if self._http is not None:
            self._http.close()
