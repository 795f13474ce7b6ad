"""``evaltrace ui`` and ``evaltrace report``: runs, one run and a comparison as web pages.

Needs the ``ui`` extra (``pip install 'evaltrace[ui]'``: Starlette, uvicorn, Jinja2);
``import evaltrace`` never imports this package. Charts are drawn by uPlot, shipped in
``static/`` so no page loads anything from the network.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._config import TraceLinks
from ._report import UnknownRunError, report_html
from ._reviews import ReviewDesk
from ._source import Source

__all__ = ["ReviewDesk", "Source", "UnknownRunError", "open_source", "report_html", "serve"]

REMOTE_HISTORY_TTL = 30.0
"""Seconds the runs page reuses a Jaeger or Tempo history (each reads every result span)."""


def open_source(
    store: str | None = None, jaeger: str | None = None, tempo: str | None = None
) -> Source:
    """A source over exactly one of an embedded store path, a Jaeger URL or a Tempo URL."""
    from .._urls import redact_url
    from ..query import JaegerQueryAdapter, SQLiteQueryAdapter, TempoQueryAdapter

    # The label is every page's header and the report's: never the URL's credentials.
    if jaeger:
        return Source(
            JaegerQueryAdapter(jaeger), f"Jaeger {redact_url(jaeger)}", REMOTE_HISTORY_TTL
        )
    if tempo:
        return Source(TempoQueryAdapter(tempo), f"Tempo {redact_url(tempo)}", REMOTE_HISTORY_TTL)
    if store:
        return Source(SQLiteQueryAdapter(store), f"SQLite store {store}")
    raise ValueError("open_source needs store, jaeger or tempo")


def serve(
    source: Source,
    host: str = "127.0.0.1",
    port: int = 8000,
    allow: Sequence[str] = (),
    reviews: ReviewDesk | None = None,
) -> None:
    """Serve the UI until interrupted (uvicorn, one process); only ``Host`` names it is served
    under are answered (loopback, ``host``, ``allow``); reviews go to ``reviews``."""
    import uvicorn

    from ._app import create_app
    from ._security import allowed_hosts

    app = create_app(source, TraceLinks.from_env(), allowed_hosts(host, allow), reviews)
    uvicorn.run(app, host=host, port=port, log_level="warning")
