"""Links out of the UI: to a sample's trace, and between its own pages (state in the query)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

from .._config import TraceLinks

__all__ = ["href", "run_path", "trace_links"]


def href(path: str, params: Mapping[str, Any], **changes: Any) -> str:
    """``path`` with ``params`` updated by ``changes``; empty and None values are left out,
    so a pasted URL carries only the state that differs from the defaults."""
    merged = {**params, **changes}
    pairs: list[tuple[str, str]] = []
    for key, value in merged.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item is not None and item != "" and item is not False:
                pairs.append((key, "1" if item is True else str(item)))
    return f"{path}?{urlencode(pairs)}" if pairs else path


def run_path(run_id: str) -> str:
    """The run page of ``run_id``."""
    return "/runs/" + quote(run_id, safe="")


def _grafana(base: str, trace_id: str) -> str:
    parts = urlsplit(base)
    uid = parse_qs(parts.query).get("datasource", ["tempo"])[0]
    pane = {
        "datasource": uid,
        "queries": [
            {
                "refId": "A",
                "datasource": {"type": "tempo", "uid": uid},
                "queryType": "traceql",
                "query": trace_id,
            }
        ],
        "range": {"from": "now-7d", "to": "now"},
    }
    query = urlencode({"schemaVersion": "1", "panes": json.dumps({"evaltrace": pane})})
    path = parts.path.rstrip("/") + "/explore"
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def trace_links(links: TraceLinks, trace_id: str) -> dict[str, str]:
    """``{"Jaeger": url, "Grafana": url}`` for the configured UIs (empty when none is)."""
    out: dict[str, str] = {}
    if links.jaeger_ui:
        out["Jaeger"] = f"{links.jaeger_ui.rstrip('/')}/trace/{trace_id}"
    if links.grafana:
        out["Grafana"] = _grafana(links.grafana, trace_id)
    return out
