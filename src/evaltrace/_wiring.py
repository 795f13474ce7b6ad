"""What a tracker is connected to, decided in one function from its arguments and the
environment: which store or spool it writes, whether it forwards over OTLP, whose provider
makes its spans, whether it sends metrics and run summaries, and whether it must refuse.

``resolve`` opens nothing (no SQLite file, no exporter, no socket), so every combination is
table-tested without either (tests/test_wiring.py); the tracker's constructor builds what the
``Wiring`` says.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ._config import Settings, destination_key

__all__ = ["Wiring", "resolve"]


@dataclass(frozen=True, slots=True)
class Wiring:
    """The decisions of one tracker's constructor, before anything is opened."""

    settings: Settings
    reader_only: bool
    """``query=`` without ``store=``, ``otlp_endpoint=`` or ``exporters=``: the tracker only
    reads; a log call raises ``refusal``."""
    owns_provider: bool
    """No ``tracer_provider=``: spans are made on evaltrace's own provider (no processor)."""
    forward: bool
    """Committed spans are forwarded over OTLP to ``settings.otlp_endpoint``."""
    destination: str | None
    """The key (``destination_key``) of the collector the outbox entries are for."""
    store: str | None
    """The store to commit to (a read-only one is found only when opened)."""
    spool: str | None
    """The spool file to commit to: forwarding without a store."""
    metrics: bool
    """Quality metrics over OTLP beside the forwarded spans."""
    summaries: bool
    """Run-summary spans are sent (to the collector or the ``exporters=``)."""
    recover_summaries: bool
    """Summaries a tracker that died left unsent are sent (forwarding only)."""
    query_store: str | None
    """The store read when no ``query=`` is given."""
    refusal: str | None
    """Why a log call would keep nothing (no store, no endpoint, no exporter, no provider of
    the application's), or None. Not reader-only: the constructor raises it."""


def _refusal(kept: bool, reader_only: bool) -> str | None:
    if kept:
        return None
    if reader_only:
        return (
            "this tracker only reads (query= without store=, otlp_endpoint= or exporters=): "
            "pass store=PATH to log"
        )
    return (
        "this tracker would keep nothing: the store is off (store=False or "
        "EVALTRACE_STORE=off) and there is no OTLP endpoint. Set EVALTRACE_STORE=PATH (or "
        "store=PATH), or OTEL_EXPORTER_OTLP_ENDPOINT (or otlp_endpoint=URL), or pass exporters="
    )


def resolve(
    project_name: str,
    *,
    store: str | os.PathLike[str] | bool | None = None,
    spool: str | os.PathLike[str] | bool | None = None,
    otlp_endpoint: str | None = None,
    otlp_protocol: str | None = None,
    capture_content: str | None = None,
    has_provider: bool = False,
    has_exporters: bool = False,
    has_query: bool = False,
) -> Wiring:
    """The wiring of a tracker given these constructor arguments and the environment
    (``Settings.from_env``; raises ``ConfigurationError`` for a value that cannot be right)."""
    reader_only = (  # store=False beside query= says the same: this tracker reads
        has_query and store in (None, False) and otlp_endpoint is None and not has_exporters
    )
    if has_provider and store is None:
        store = False  # the application's provider exports; a store only when asked
    settings = Settings.from_env(
        project_name=project_name,
        store=False if reader_only else store,
        spool=False if reader_only else spool,
        otlp_endpoint=otlp_endpoint,
        otlp_protocol=otlp_protocol,
        capture_content=capture_content,
    )
    forward = bool(settings.otlp_endpoint) and not reader_only
    if has_provider and otlp_endpoint is None:
        forward = False  # OTLP through an application's provider only when asked
    destination = (
        destination_key(settings.otlp_endpoint, settings.otlp_protocol)
        if forward and settings.otlp_endpoint
        else None
    )
    spool_path = settings.spool if forward and not settings.store else None
    kept = bool(settings.store) or forward or has_exporters or has_provider
    return Wiring(
        settings=settings,
        reader_only=reader_only,
        owns_provider=not has_provider,
        forward=forward,
        destination=destination,
        store=settings.store,
        spool=spool_path,
        metrics=forward and settings.metrics,
        summaries=forward or has_exporters,
        recover_summaries=forward,
        query_store=None if has_query else settings.store,
        refusal=_refusal(kept, reader_only),
    )
