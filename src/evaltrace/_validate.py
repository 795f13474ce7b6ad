"""Every argument and input check, and the one policy for unknown keyword arguments.

Errors name the field and, in batches, the row (``evaluation_results (row 57): ...``). The
class says why: ``InvalidInputTypeError`` (a ``TypeError``) for a value of the wrong type,
``InvalidInputError`` (a ``ValueError``) for a value of the right type that is not acceptable.
Unknown keyword arguments are never an error (the seed interface takes ``**kwargs``
everywhere, and gllm-evals passes its own): each name is warned about once per process.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ._exceptions import InvalidInputError, InvalidInputTypeError

__all__ = [
    "check_batch",
    "check_single",
    "instant_arg",
    "is_record_like",
    "is_row_grouped",
    "limit_arg",
    "mapping_arg",
    "safe_repr",
    "text_arg",
    "warn_unknown",
    "where",
]

_log = logging.getLogger("evaltrace")
_WARNED: set[tuple[str, str]] = set()
_WARNED_LOCK = threading.Lock()


def where(field: str, row: int | None) -> str:
    """Name a field for an error message: ``data (row 3).question`` style."""
    return field if row is None else f"{field} (row {row})"


def safe_repr(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to ``width``, or a placeholder when the object's ``__repr__`` raises."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__} whose repr() failed>"
    return text if len(text) <= width else text[: width - 1] + "…"


def warn_unknown(where_: str, kwargs: Collection[str], known: Collection[str] = ()) -> None:
    """Warn once per (call, name) about keyword arguments evaltrace does not use."""
    unknown = [name for name in kwargs if name not in known]
    if not unknown:
        return
    with _WARNED_LOCK:
        fresh = sorted(name for name in unknown if (where_, name) not in _WARNED)
        _WARNED.update((where_, name) for name in fresh)
    if fresh:
        _log.warning("evaltrace: %s ignores keyword argument(s) %s (said once)", where_, fresh)


def text_arg(name: str, value: object, optional: bool = False) -> str | None:
    """Require a non-empty string (or None, when ``optional``); returns it."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InvalidInputTypeError(
            f"{name}: expected a non-empty string, got {type(value).__name__} {safe_repr(value)}"
        )
    if not value:
        raise InvalidInputError(f"{name}: expected a non-empty string, got ''")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no store, span or file takes it
            raise InvalidInputError(
                f"{name}: not valid UTF-8 (a lone surrogate {value[exc.start]!r} at position "
                f"{exc.start}) in {safe_repr(value)}"
            ) from None
    return value


def mapping_arg(name: str, value: object) -> Mapping[str, Any] | None:
    """Require a mapping or None."""
    if value is not None and not isinstance(value, Mapping):
        raise InvalidInputTypeError(f"{name}: expected a mapping, got {type(value).__name__}")
    return value


def metadata_arg(value: object, count_key: str) -> Mapping[str, Any] | None:
    """Require a mapping or None whose ``count_key`` (``evaltrace.shards``), if any, is a
    writer count: a reader waits for that many writers, so a wrong one fails here, not there."""
    metadata = mapping_arg("metadata", value)
    if metadata is not None and count_key in metadata:
        limit_arg(f"metadata[{count_key!r}] (how many writers log this run)", metadata[count_key])
    return metadata


def limit_arg(name: str, value: object) -> int | None:
    """Require a positive integer or None."""
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputTypeError(f"{name}: expected a positive integer, got {safe_repr(value)}")
    if value < 1:
        raise InvalidInputError(f"{name}: expected a positive integer, got {value}")
    return value


def instant_arg(name: str, value: object) -> datetime | None:
    """A datetime (naive ones are UTC) from a datetime or an ISO 8601 string, or None."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(f"{name}: not an ISO 8601 time: {safe_repr(value)}") from None
    if not isinstance(value, datetime):
        raise InvalidInputTypeError(f"{name}: expected a datetime or ISO 8601 string")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def is_record_like(value: object) -> bool:
    """True for what evaltrace accepts as one result or data row."""
    return (
        value.__class__ is dict
        or isinstance(value, Mapping)
        or callable(getattr(value, "model_dump", None))
        or (dataclasses.is_dataclass(value) and not isinstance(value, type))
    )


def is_row_grouped(value: object) -> bool:
    """True for a row-grouped result (gllm-evals 0.1.x): a list of mappings."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | Mapping)


def _record(name: str, value: object) -> None:
    if not is_record_like(value):
        raise InvalidInputTypeError(
            f"{name}: expected a mapping, pydantic model or dataclass, got {type(value).__name__}"
        )


def check_single(result: object, data: object) -> None:
    """One result and its row must be record-like (mapping, pydantic model, dataclass)."""
    _record("evaluation_result", result)
    _record("data", data)


def check_batch(results: object, data: object) -> None:
    """Whole-batch check before any span: lists of equal, non-zero length, one shape for all."""
    for name, value in (("evaluation_results", results), ("data", data)):
        if not is_row_grouped(value):
            raise InvalidInputTypeError(f"{name}: expected a list, got {type(value).__name__}")
    rows: Sequence[Any] = results  # type: ignore[assignment]
    inputs: Sequence[Any] = data  # type: ignore[assignment]
    if not rows:
        raise InvalidInputError("evaluation_results: the batch is empty")
    if len(rows) != len(inputs):
        raise InvalidInputError(
            f"data: {len(inputs)} rows for {len(rows)} evaluation_results; lengths must match"
        )
    grouped = is_row_grouped(rows[0])
    for i, result in enumerate(rows):
        if grouped:
            if not is_row_grouped(result) or not all(is_record_like(item) for item in result):
                raise InvalidInputTypeError(
                    f"{where('evaluation_results', i)}: expected a list of "
                    "{evaluator: output} mappings like row 0 (row-grouped batch)"
                )
        else:
            _record(where("evaluation_results", i), result)
        _record(where("data", i), inputs[i])
