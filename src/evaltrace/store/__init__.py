"""The embedded SQLite span store: a real OpenTelemetry ``SpanExporter`` and its database."""

from ._exporter import SQLiteSpanExporter

__all__ = ["SQLiteSpanExporter"]
