"""Exceptions raised by evaltrace.

Everything evaltrace raises on purpose derives from ``EvalTraceError``. Input errors also
derive from the built-in ``TypeError`` / ``ValueError`` so callers that already catch those
keep working::

    EvalTraceError
    ├── InvalidInputError (ValueError)       a value is wrong: names field and row
    ├── InvalidInputTypeError (TypeError)    a value has the wrong type: names field and row
    ├── ConfigurationError (ValueError)      a constructor argument or EVALTRACE_* is wrong
    │   └── StoreFormatError                 the file is not an evaltrace store (left untouched)
    ├── TrackerClosedError (RuntimeError)    logging after close(): nothing is written
    ├── StoreWriteError (OSError)            the store refused the commit: nothing was stored
    └── QueryError                           reading back failed
        ├── BackendUnavailableError          the backend is unreachable (connect, timeout, TLS)
        ├── BackendResponseError             the backend answered an error; carries its message
        └── IncompleteResultsError           the backend could not return everything; never partial
"""

from __future__ import annotations

__all__ = [
    "BackendResponseError",
    "BackendUnavailableError",
    "ConfigurationError",
    "EvalTraceError",
    "IncompleteResultsError",
    "InvalidInputError",
    "InvalidInputTypeError",
    "QueryError",
    "StoreFormatError",
    "StoreWriteError",
    "TrackerClosedError",
]


class EvalTraceError(Exception):
    """Base class of every error evaltrace raises on purpose."""


class InvalidInputError(EvalTraceError, ValueError):
    """A logged value is not acceptable; the message names the field and row index."""


class InvalidInputTypeError(EvalTraceError, TypeError):
    """A logged value has the wrong type; the message names the field and row index."""


class ConfigurationError(EvalTraceError, ValueError):
    """A constructor argument or environment variable is invalid."""


class StoreFormatError(ConfigurationError):
    """The file is not an evaltrace store of this version; it is left untouched."""


class StoreWriteError(EvalTraceError, OSError):
    """The embedded store could not commit a log call (disk full, read-only, locked too
    long); nothing of the call was stored."""


class TrackerClosedError(EvalTraceError, RuntimeError):
    """A log call on a closed tracker: its pipeline is shut down, nothing would be exported."""


class QueryError(EvalTraceError):
    """Reading results back from a backend failed."""


class BackendUnavailableError(QueryError):
    """The backend could not be reached (connection refused, timeout, TLS failure)."""


class BackendResponseError(QueryError):
    """The backend answered with an error status.

    ``status`` is the HTTP status (int) or gRPC status name; ``message`` the backend's own words.
    """

    def __init__(self, backend: str, status: int | str, message: str) -> None:
        shown = f"HTTP {status}" if isinstance(status, int) else f"gRPC {status}"
        super().__init__(f"{backend} answered {shown}: {message}")
        self.backend = backend
        self.status = status
        self.message = message


class IncompleteResultsError(QueryError):
    """The backend cannot return every result of the query; a partial list is never returned."""
