"""``sync``: deliver what a store's (or spool's) outbox still holds, then stop.

The same forwarder a tracker runs, on its own: for a pipeline that ended while the collector
was down, or in CI after the job that logged.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from .._config import Settings
from .._exceptions import ConfigurationError
from .._spans import Rebuilder
from ..schema._walk import Limits
from ..store import StoreWriter
from ._forward import Forwarder
from ._log_records import build_log_exporter
from ._otlp import build_exporter, describe, port_hint
from ._summary_sender import Summaries, to_forwarder, writer_id

__all__ = ["SyncReport", "sync"]


@dataclass(frozen=True)
class SyncReport:
    """What one ``sync`` did."""

    destination: str
    pending_before: int
    exported: int
    pending_after: int
    dropped: dict[str, int]
    summaries: int = 0
    """Run-summary spans derived from the store and sent (runs no delivered summary covered)."""
    log_records: int = 0
    """``gen_ai.evaluation.result`` log records sent with the spans (``EVALTRACE_OTLP_LOGS``)."""


def sync(
    path: str,
    *,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 60.0,
    spool: bool = False,
) -> SyncReport:
    """Send the outbox of the store (or spool) at ``path`` to ``endpoint`` within ``timeout``.

    Spans still pending afterwards stay in the outbox; ``SyncReport.pending_after`` says how
    many. The endpoint and protocol default to the ``OTEL_EXPORTER_OTLP_*`` variables.
    """
    settings = Settings.from_env(
        store=path, otlp_endpoint=endpoint, otlp_protocol=protocol, capture_content=None
    )
    if not settings.otlp_endpoint:
        raise ConfigurationError(
            "sync needs an OTLP endpoint: pass --endpoint URL or set OTEL_EXPORTER_OTLP_ENDPOINT"
        )
    writer = StoreWriter(path, keep_delivered=not spool)
    writer.outbox.make_all_due()
    _, before = writer.outbox.pending() or (0, 0)
    destination = describe(settings.otlp_endpoint, settings.otlp_protocol)
    forwarder = Forwarder(
        build_exporter(endpoint, settings.otlp_protocol, headers),
        destination=destination,
        hint=port_hint(settings.otlp_endpoint, settings.otlp_protocol),
        outbox=writer.outbox,
        rebuild=Rebuilder(
            Limits(settings.max_metric_attributes, settings.max_metric_string),
            None if spool else writer_id(writer),
        ),
        memory_spans=settings.queue_size,
        max_spans=settings.outbox_max_spans,
        max_age_s=settings.outbox_max_age,
        max_request_bytes=settings.max_request_bytes,
        log_exporter=build_log_exporter(endpoint, settings.otlp_protocol, headers)
        if settings.logs
        else None,
    )
    try:
        deadline = time.monotonic() + timeout
        # Runs whose latest results no delivered summary covers (a tracker that died, or
        # closed during an outage), and runs no sync closed yet: derived from the store's
        # rows, sent closed (the writer is gone: readers may trust its count), with the outbox.
        summaries = Summaries(
            store=writer, resource_json="{}", every=1, ship=to_forwarder(forwarder)
        )
        unclosed, upto = ([], 0) if spool else writer.unclosed_runs()
        sent = summaries.send(
            set(unclosed) | set([] if spool else writer.pending_summaries()), closed=True
        )
        shipped = summaries.unacked()
        if forwarder.drain(timeout):
            summaries.delivered(shipped)
            if not spool and upto:
                writer.runs_closed(upto)
        forwarder.close(max(0.0, deadline - time.monotonic()))
    finally:
        _, after = writer.outbox.pending() or (0, 0)
        writer.close()
    return SyncReport(
        destination,
        before,
        forwarder.stats.exported,
        after,
        dict(+forwarder.stats.dropped),
        sent,
        forwarder.stats.log_records_exported,
    )
