"""Delivery: what leaves the process, and how.

``_forward`` (memory and the outbox to an OTLP exporter, backoff, acknowledge), ``_otlp``
(building that exporter, port diagnosis), ``_otlp_answer`` (reading the collector's answer),
``_requests`` (packing spans into bounded requests), ``_summary_sender`` (when run-summary spans
are sent), ``_resend`` (``evaltrace sync``: a one-shot re-send of stored spans),
``_metrics_export`` (the quality metrics' periodic OTLP export) and ``_sqlite_exporter`` (an
OpenTelemetry ``SpanExporter`` into the store). The store itself (``store/``) holds rows and
imports no OpenTelemetry.
"""
