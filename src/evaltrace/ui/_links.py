"""Links out of the UI: to a sample's trace, and between its own pages (state in the query)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from .._config import TraceLinks
from .._links import grafana_explore, jaeger_trace

__all__ = ["href", "run_path", "sample_path", "trace_links"]


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


def sample_path(run_id: str, sample_id: str) -> str:
    """The sample page of ``sample_id`` in ``run_id``."""
    return f"{run_path(run_id)}/samples/{quote(sample_id, safe='')}"


def trace_links(links: TraceLinks, trace_id: str, span_id: str = "") -> dict[str, str]:
    """``{"Jaeger": url, "Grafana": url}`` for the configured UIs (empty when none is); with
    ``span_id``, Jaeger opens the trace with that span found (a batch trace has hundreds)."""
    out: dict[str, str] = {}
    if links.jaeger_ui:
        url = jaeger_trace(links.jaeger_ui, trace_id)
        out["Jaeger"] = f"{url}?{urlencode({'uiFind': span_id})}" if span_id else url
    if links.grafana:
        out["Grafana"] = grafana_explore(links.grafana, trace_id)
    return out
