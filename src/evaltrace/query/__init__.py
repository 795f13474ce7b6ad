"""Reading results back: one interface (``QueryAdapter``), one typed contract, one adapter per
backend (each in its private module): the embedded store, Jaeger v2, Tempo, and memory (for
users' own tests). ``OpenSearchEvents`` reads a run's evaluation events (OTLP log records)."""

from .._types import (
    LinkRecord,
    MetricStats,
    ResultRecord,
    ReviewRecord,
    RunCompleteness,
    RunSummary,
    WriterCount,
)
from ..schema._columns import RunScores, ScoreColumn
from ._base import QueryAdapter, SpanView
from ._filter import HistoryFilter
from ._http import ClientOptions
from ._jaeger import JaegerQueryAdapter
from ._memory import InMemoryQueryAdapter
from ._opensearch_logs import EvaluationEvent, OpenSearchEvents
from ._sqlite import SQLiteQueryAdapter
from ._tempo import TempoQueryAdapter

__all__ = [
    "ClientOptions",
    "EvaluationEvent",
    "HistoryFilter",
    "InMemoryQueryAdapter",
    "JaegerQueryAdapter",
    "LinkRecord",
    "MetricStats",
    "OpenSearchEvents",
    "QueryAdapter",
    "ResultRecord",
    "ReviewRecord",
    "RunCompleteness",
    "RunScores",
    "RunSummary",
    "SQLiteQueryAdapter",
    "ScoreColumn",
    "SpanView",
    "TempoQueryAdapter",
    "WriterCount",
]
