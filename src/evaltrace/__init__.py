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
    TrackerClosedError,
)
from ._tracker import OpenTelemetryExperimentTracker, TrackerStats
from .query.base import QueryAdapter
from .query.jaeger import JaegerQueryAdapter
from .query.memory import InMemoryQueryAdapter
from .query.sqlite import SQLiteQueryAdapter
from .query.tempo import TempoQueryAdapter
from .store import SQLiteSpanExporter

__version__ = "0.1.0"

__all__ = [
    "BackendResponseError",
    "BackendUnavailableError",
    "BaseExperimentTracker",
    "ConfigurationError",
    "EvalTraceError",
    "EvaluationOutput",
    "InMemoryQueryAdapter",
    "IncompleteResultsError",
    "InvalidInputError",
    "InvalidInputTypeError",
    "JaegerQueryAdapter",
    "MetricInput",
    "OpenTelemetryExperimentTracker",
    "QueryAdapter",
    "QueryError",
    "SQLiteQueryAdapter",
    "SQLiteSpanExporter",
    "TempoQueryAdapter",
    "TrackerClosedError",
    "TrackerStats",
    "__version__",
]
