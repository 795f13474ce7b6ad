"""The one JSON codec: what users pass (mappings, pydantic models, dataclasses) to exact JSON and
back.

orjson encodes; the standard library takes over where only it is exact (NaN and the
infinities, which orjson writes as ``null``; ints beyond 64 bits; str-subclass keys) and decodes
everything (orjson reads an int past 64 bits as a float). Nothing else in evaltrace configures
a JSON encoder: use ``dumps`` / ``loads`` / ``dumps_text`` from here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import uuid
from collections.abc import Mapping
from typing import Any, Final

import orjson

from ._exceptions import InvalidInputError, InvalidInputTypeError
from ._validate import safe_repr, where

__all__ = [
    "MAX_DEPTH",
    "dumps",
    "dumps_plain",
    "dumps_text",
    "loads",
    "unwrap",
]

MAX_DEPTH: Final = 254
"""Deepest nesting a logged value may have (orjson's own limit). Deeper values are refused at
write time, so that no stored row can exhaust a reader's recursion limit."""

_INT_DIGITS = sys.get_int_max_str_digits() if hasattr(sys, "get_int_max_str_digits") else 4300


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
_TEXT_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=True, indent=2)


def _bad_path(value: Any, path: str, depth: int = 0) -> tuple[str, str, type[Exception]] | None:
    """The first value JSON cannot carry exactly, why, and which error class says so; the slow
    path, used only to explain a refusal."""
    if depth > MAX_DEPTH:
        return (
            path,
            f"nesting deeper than {MAX_DEPTH} levels (or a circular reference)",
            (InvalidInputError),
        )
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path, "a string that is not valid UTF-8 (lone surrogate)", InvalidInputError
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > _INT_DIGITS * 3.3:
            return path, f"an integer with more than {_INT_DIGITS} digits", InvalidInputError
        return None
    if value is None or isinstance(value, bool | float):
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _bad_path(item, f"{path}[{i}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return (
                    f"{path}[{safe_repr(key)}]",
                    f"a {type(key).__name__} key (keys must be strings)",
                    InvalidInputTypeError,
                )
            found = _bad_path(item, f"{path}.{key}", depth + 1)
            if found:
                return found
        return None
    try:
        return _bad_path(_plain(value), path, depth + 1)
    except Exception:
        return (
            path,
            f"an object of type {type(value).__name__} that is not JSON-serializable",
            InvalidInputTypeError,
        )


_NESTED = (dict, list, tuple)
_SEQUENCES = (list, tuple)
_PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
_REFUSED, _CONVERTED, _PLAIN = 0, 1, 2


def _scan(value: Any) -> int:
    """One walk over the dicts, lists and tuples of ``value``.

    ``_REFUSED`` when a dict key is not a string (``json`` would silently turn ``1`` into
    ``"1"``) or the nesting is deeper than ``MAX_DEPTH`` (which also ends a cycle); else
    ``_PLAIN`` when everything in it is exactly a dict, list, str, int, float, bool or None, so
    it equals its own JSON round trip; else ``_CONVERTED``.
    """
    plain = True
    stack = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        if depth > MAX_DEPTH:
            return _REFUSED
        if plain and type(item) not in _PLAIN_TYPES:
            plain = False
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str:
                    if not isinstance(key, str):
                        return _REFUSED
                    plain = False
                if isinstance(child, _NESTED):
                    push((child, depth + 1))
                elif plain and type(child) not in _PLAIN_TYPES:
                    plain = False
        elif isinstance(item, _SEQUENCES):
            for child in item:
                if isinstance(child, _NESTED):
                    push((child, depth + 1))
                elif plain and type(child) not in _PLAIN_TYPES:
                    plain = False
    return _PLAIN if plain else _CONVERTED


def _refuse(value: Any, field: str, row: int | None) -> InvalidInputError | InvalidInputTypeError:
    """The error naming the field path, the row and the reason a value is refused."""
    try:
        found = _bad_path(value, field)
    except RecursionError:
        found = (field, "a circular reference", InvalidInputError)
    path, reason, kind = (
        found if found else (field, "a value that cannot be encoded as JSON", InvalidInputError)
    )
    error = kind(f"{where(path, row)}: {reason}")
    assert isinstance(error, InvalidInputError | InvalidInputTypeError)
    return error


def _exact(value: Any, field: str, row: int | None) -> tuple[str, bool]:
    """The standard library's encoding (exact for everything JSON can carry), and whether
    ``value`` is plain JSON data already (see ``_scan``); else the error naming the field."""
    try:
        scan = _scan(value)
        if scan != _REFUSED:
            text = _ENCODER.encode(value)
            text.encode("utf-8")
            return text, scan == _PLAIN
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError, OverflowError):
        pass
    except Exception:  # a model_dump or __iter__ of the user's that raises
        pass
    raise _refuse(value, field, row)


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

    Raises ``InvalidInputError`` / ``InvalidInputTypeError`` naming the field path and row for
    anything that would not round-trip: unknown objects, non-string keys, lone surrogates,
    nesting past ``MAX_DEPTH``, cycles. Tuples become lists, enums their values, UUIDs strings.
    ``finite`` is given by a caller that has walked ``value`` and proved it plain JSON data
    (at most ``MAX_DEPTH`` deep): whether all its floats are finite.
    """
    if value.__class__ is dict and not value:
        return "{}"
    fast = _fast(value)
    if fast is not None and (b"null" not in fast or (_finite(value) if finite is None else finite)):
        return fast.decode()
    return _exact(value, field, row)[0]


def dumps_plain(value: Any, field: str, row: int | None) -> tuple[str, Any]:
    """``dumps(value)``, and ``loads`` of it: ``value`` itself when it is plain JSON data
    already (exactly dicts, lists, str, int, float, bool, None), which it then equals."""
    text, plain = _exact(value, field, row)
    return text, (value if plain else loads(text))


def dumps_text(value: Any, *, indent: bool = False) -> str:
    """JSON for people and files (CLI output, summaries): NaN kept, unicode unescaped."""
    if indent:
        return _TEXT_ENCODER.encode(value)
    return _ENCODER.encode(value)


def loads(text: str | bytes) -> Any:
    """Decode what ``dumps`` wrote (``NaN``/``Infinity`` included), exactly."""
    return json.loads(text)
