"""Links into the trace UIs people already use: a trace in Jaeger, a TraceQL search in
Grafana Explore. Spelled once for the web UI, the report and the gllm-evals bridge."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

__all__ = ["grafana_explore", "jaeger_trace"]


def jaeger_trace(base: str, trace_id: str) -> str:
    """The Jaeger UI page of one trace."""
    return f"{base.rstrip('/')}/trace/{trace_id}"


def grafana_explore(base: str, query: str, limit: int | None = None) -> str:
    """Grafana Explore running ``query`` (a trace id or TraceQL) on the Tempo data source named
    by ``?datasource=UID`` on ``base`` (default uid ``tempo``), over the last week."""
    parts = urlsplit(base)
    uid = parse_qs(parts.query).get("datasource", ["tempo"])[0]
    target: dict[str, object] = {
        "refId": "A",
        "datasource": {"type": "tempo", "uid": uid},
        "queryType": "traceql",
        "query": query,
    }
    if limit is not None:
        target["limit"] = limit
    pane = {"datasource": uid, "queries": [target], "range": {"from": "now-7d", "to": "now"}}
    encoded = urlencode({"schemaVersion": "1", "panes": json.dumps({"evaltrace": pane})})
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rstrip("/") + "/explore", encoded, "")
    )
