"""Turning what users pass (mappings, pydantic models, dataclasses) into plain JSON values.

Kept apart from the span schema: this module knows Python objects, ``_schema`` knows spans.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

from ._exceptions import InvalidInputError, InvalidInputTypeError

__all__ = ["dumps", "finite", "is_record_like", "loads", "where"]


def where(field: str, row: int | None) -> str:
    """Name a field for an error message: ``data[3].question`` style."""
    return field if row is None else f"{field} (row {row})"


def is_record_like(value: object) -> bool:
    """True for what evaltrace accepts as one result or data row."""
    return (
        isinstance(value, Mapping)
        or callable(getattr(value, "model_dump", None))
        or (dataclasses.is_dataclass(value) and not isinstance(value, type))
    )


def _plain(value: object) -> Any:
    """``json.dumps`` default hook: the three kinds of object users hand us, nothing else."""
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(type(value).__name__)


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=True, separators=(",", ":"), default=_plain
)


def _bad_path(value: Any, path: str) -> tuple[str, str] | None:
    """Find the first value JSON cannot carry exactly; slow path, used only to explain errors."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "a string that is not valid UTF-8 (lone surrogate)"
        return None
    if value is None or isinstance(value, bool | int | float):
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _bad_path(item, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path}[{key!r}]", f"a {type(key).__name__} key (keys must be strings)"
            found = _bad_path(item, f"{path}.{key}")
            if found:
                return found
        return None
    try:
        return _bad_path(_plain(value), path)
    except TypeError:
        return path, f"an object of type {type(value).__name__} that is not JSON-serializable"


def _check_keys(value: Any) -> bool:
    """True when every dict key is a string: ``json`` would silently turn ``1`` into ``"1"``."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return False
                if isinstance(child, dict | list | tuple):
                    stack.append(child)
        elif isinstance(item, list | tuple):
            stack.extend(c for c in item if isinstance(c, dict | list | tuple))
    return True


def dumps(value: Any, field: str, row: int | None) -> str:
    """Encode ``value`` as compact JSON that decodes back to an equal value of equal types.

    Raises a ``TypeError``/``ValueError`` naming the field and row for anything that would not
    round-trip: unknown objects, non-string keys, lone surrogates. Tuples become lists.
    """
    try:
        text = _ENCODER.encode(value)
        if _check_keys(value):
            text.encode("utf-8")
            return text
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError):
        pass
    try:
        found = _bad_path(value, field)
    except RecursionError:
        found = (field, "a circular reference")
    path, reason = found if found else (field, "a value that cannot be encoded as JSON")
    message = f"{where(path, row)}: {reason}"
    if "string" in reason and "key" not in reason:
        raise InvalidInputError(message)
    raise InvalidInputTypeError(message)


def loads(text: str) -> Any:
    """Decode what ``dumps`` wrote (``NaN``/``Infinity`` included)."""
    return json.loads(text)


def finite(value: float) -> bool:
    """True for numbers that aggregate meaningfully."""
    return not (math.isnan(value) or math.isinf(value))
