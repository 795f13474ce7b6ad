"""Argument checks of the log calls: each error names the field and, in batches, the row."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from . import _schema
from ._exceptions import InvalidInputError, InvalidInputTypeError
from ._records import is_record_like, where

__all__ = ["check_batch", "check_single", "text_arg"]


def text_arg(name: str, value: object, optional: bool = False) -> None:
    """Require a non-empty string (or None, when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, str) or not value:
        raise InvalidInputTypeError(
            f"{name}: expected a non-empty string, got {type(value).__name__} {value!r:.60}"
        )


def check_single(result: object, data: object) -> None:
    """One result and its row must be record-like (mapping, pydantic model, dataclass)."""
    if not is_record_like(result):
        raise InvalidInputTypeError(
            f"evaluation_result: expected a mapping, pydantic model or dataclass, "
            f"got {type(result).__name__}"
        )
    if not is_record_like(data):
        raise InvalidInputTypeError(
            f"data: expected a mapping, pydantic model or dataclass, got {type(data).__name__}"
        )


def check_batch(results: object, data: object) -> None:
    """Whole-batch check before any span: lists of equal, non-zero length, one shape for all."""
    for name, value in (("evaluation_results", results), ("data", data)):
        if not isinstance(value, Sequence) or isinstance(value, str | bytes | Mapping):
            raise InvalidInputTypeError(f"{name}: expected a list, got {type(value).__name__}")
    assert isinstance(results, Sequence) and isinstance(data, Sequence)
    if not results:
        raise InvalidInputError("evaluation_results: the batch is empty")
    if len(results) != len(data):
        raise InvalidInputError(
            f"data: {len(data)} rows for {len(results)} evaluation_results; lengths must match"
        )
    grouped = _schema.is_sequence_of_records(results[0])
    for i, result in enumerate(results):
        if grouped:
            if not _schema.is_sequence_of_records(result) or not all(
                is_record_like(item) for item in result
            ):
                raise InvalidInputTypeError(
                    f"{where('evaluation_results', i)}: expected a list of "
                    "{evaluator: output} mappings like row 0 (row-grouped batch)"
                )
        elif not is_record_like(result):
            raise InvalidInputTypeError(
                f"{where('evaluation_results', i)}: expected a mapping, pydantic model or "
                f"dataclass, got {type(result).__name__}"
            )
        if not is_record_like(data[i]):
            raise InvalidInputTypeError(
                f"{where('data', i)}: expected a mapping, pydantic model or dataclass, "
                f"got {type(data[i]).__name__}"
            )
