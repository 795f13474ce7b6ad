"""Turning what users pass (mappings, pydantic models, dataclasses) into plain JSON values.

Kept apart from the span schema: this module knows Python objects, ``_schema`` knows spans.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import uuid
from collections.abc import Mapping
from typing import Any

import orjson

from ._exceptions import InvalidInputError, InvalidInputTypeError

__all__ = ["dumps", "dumps_plain", "is_record_like", "loads", "unwrap", "where"]


def where(field: str, row: int | None) -> str:
    """Name a field for an error message: ``data[3].question`` style."""
    return field if row is None else f"{field} (row {row})"


def is_record_like(value: object) -> bool:
    """True for what evaltrace accepts as one result or data row."""
    return (
        value.__class__ is dict
        or isinstance(value, Mapping)
        or callable(getattr(value, "model_dump", None))
        or (dataclasses.is_dataclass(value) and not isinstance(value, type))
    )


def _plain(value: object) -> Any:
    """The encoders' ``default`` hook: the records users hand us (mappings, pydantic models,
    dataclasses), enums and UUIDs; nothing else."""
    if isinstance(value, Mapping):
        return dict(value)
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(type(value).__name__)


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
"""Dataclasses and datetimes go through ``_plain`` as with the standard library, so both
encoders accept and convert exactly the same values."""
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


_NESTED = (dict, list, tuple)
_SEQUENCES = (list, tuple)
_PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
_BAD_KEY, _CONVERTED, _PLAIN = 0, 1, 2


def _scan(value: Any) -> int:
    """One walk over the dicts, lists and tuples of ``value``.

    ``_BAD_KEY`` when a dict key is not a string (``json`` would silently turn ``1`` into
    ``"1"``); else ``_PLAIN`` when everything in it is exactly a dict, list, str, int, float,
    bool or None, so it equals its own JSON round trip; else ``_CONVERTED``.
    """
    plain = True
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        if plain and type(item) not in _PLAIN_TYPES:
            plain = False
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str:
                    if not isinstance(key, str):
                        return _BAD_KEY
                    plain = False
                if isinstance(child, _NESTED):
                    push(child)
                elif plain and type(child) not in _PLAIN_TYPES:
                    plain = False
        elif isinstance(item, _SEQUENCES):
            for child in item:
                if isinstance(child, _NESTED):
                    push(child)
                elif plain and type(child) not in _PLAIN_TYPES:
                    plain = False
    return _PLAIN if plain else _CONVERTED


def _exact(value: Any, field: str, row: int | None, walked: bool = False) -> tuple[str, bool]:
    """The standard library's encoding (exact for everything JSON can carry), and whether
    ``value`` is plain JSON data already (see ``_scan``); else the error naming the field."""
    try:
        text = _ENCODER.encode(value)
        scan = _PLAIN if walked else _scan(value)
        if scan != _BAD_KEY:
            text.encode("utf-8")
            return text, scan == _PLAIN
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


def _fast(value: Any) -> bytes | None:
    """orjson's encoding, or None for what it refuses (ints beyond 64 bits, str-subclass keys,
    nesting past 254, and every error, which the exact path then names)."""
    try:
        return orjson.dumps(value, default=_plain, option=_ORJSON_OPTIONS)
    except TypeError:
        return None


def _finite(value: Any) -> bool:
    """True when ``value`` is plain JSON data with finite floats only: then a ``null`` in
    orjson's output is a None, never a NaN or an infinity (which orjson writes as null)."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is dict:
            extend(item.values())
        elif kind is list:
            extend(item)
        elif kind is float:
            if item - item:  # nan for NaN and the infinities, 0.0 otherwise
                return False
        elif kind not in _PLAIN_TYPES:
            return False
    return True


def unwrap(value: Any) -> Any:
    """The top of a record as JSON sees it (a pydantic model's JSON-mode dump, a dataclass's
    ``asdict``, a mapping's dict), so that it can be walked; ``value`` itself on any error,
    for the exact path to name."""
    kind = type(value)
    if kind is dict:
        return value
    if kind is list:
        return value if all(type(x) is dict for x in value) else [unwrap(x) for x in value]
    try:
        return _plain(value)
    except Exception:
        return value


def dumps(value: Any, field: str, row: int | None, *, finite: bool | None = None) -> str:
    """Encode ``value`` as compact JSON that decodes back to an equal value of equal types.

    Raises a ``TypeError``/``ValueError`` naming the field and row for anything that would not
    round-trip: unknown objects, non-string keys, lone surrogates. Tuples become lists, enums
    their values, UUIDs strings. orjson encodes; the standard library takes over where only it
    is exact (NaN, infinities, ints beyond 64 bits). ``finite`` is given by a caller that has
    walked ``value`` and proved it plain JSON data: whether all its floats are finite.
    """
    if value.__class__ is dict and not value:
        return "{}"
    fast = _fast(value)
    if fast is not None and (b"null" not in fast or (_finite(value) if finite is None else finite)):
        return fast.decode()
    return _exact(value, field, row, walked=finite is not None)[0]


def dumps_plain(value: Any, field: str, row: int | None) -> tuple[str, Any]:
    """``dumps(value)``, and ``loads`` of it: ``value`` itself when it is plain JSON data
    already (exactly dicts, lists, str, int, float, bool, None), which it then equals."""
    text, plain = _exact(value, field, row)
    return text, (value if plain else loads(text))


def loads(text: str) -> Any:
    """Decode what ``dumps`` wrote (``NaN``/``Infinity`` included), exactly.

    The standard library, not orjson: orjson reads an int past 64 bits as a float.
    """
    return json.loads(text)
