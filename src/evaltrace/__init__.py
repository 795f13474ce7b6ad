"""evaltrace: LLM/RAG evaluation results as OpenTelemetry spans, and back.

Public names only; each lives in a private module.
"""

from ._base import BaseExperimentTracker, EvaluationOutput, MetricInput
from ._exceptions import (
    BackendResponseError,
    BackendUnavailableError,
    ConfigurationError,
    EvalTraceError,
    IncompleteResultsError,
    InvalidInputError,
    InvalidInputTypeError,
    QueryError,
    StoreFormatError,
    StoreWriteError,
    TrackerClosedError,
)
from ._review_writer import ReviewWriter
from ._tracker import OpenTelemetryExperimentTracker, TrackerStats
from ._types import ReviewRecord
from .delivery._sqlite_exporter import SQLiteSpanExporter
from .query import (
    ClientOptions,
    HistoryFilter,
    InMemoryQueryAdapter,
    JaegerQueryAdapter,
    QueryAdapter,
    ResultRecord,
    RunCompleteness,
    RunSummary,
    SQLiteQueryAdapter,
    TempoQueryAdapter,
    WriterCount,
)

__version__ = "0.1.0"

__all__ = [
    "BackendResponseError",
    "BackendUnavailableError",
    "BaseExperimentTracker",
    "ClientOptions",
    "ConfigurationError",
    "EvalTraceError",
    "EvaluationOutput",
    "HistoryFilter",
    "InMemoryQueryAdapter",
    "IncompleteResultsError",
    "InvalidInputError",
    "InvalidInputTypeError",
    "JaegerQueryAdapter",
    "MetricInput",
    "OpenTelemetryExperimentTracker",
    "QueryAdapter",
    "QueryError",
    "ResultRecord",
    "ReviewRecord",
    "ReviewWriter",
    "RunCompleteness",
    "RunSummary",
    "SQLiteQueryAdapter",
    "SQLiteSpanExporter",
    "StoreFormatError",
    "StoreWriteError",
    "TempoQueryAdapter",
    "TrackerClosedError",
    "TrackerStats",
    "WriterCount",
    "__version__",
]
