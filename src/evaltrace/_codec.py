"""The one JSON codec: what users pass (mappings, pydantic models, dataclasses) to exact JSON and
back.

orjson encodes; the exact path takes over where only it is exact (NaN and the infinities,
which orjson writes as ``null``; ints beyond 64 bits; str-subclass keys; tuples, which orjson
does not count toward its depth limit) or where a value must be refused: ``_copy`` converts the
value to plain JSON data in one walk, refusing by field path, and the standard library encodes
that. Decoding is orjson's too, except where only the standard library is exact: a text with a run
of 19 or more digits (orjson reads an int past 64 bits as a float) and whatever orjson refuses
(``NaN``, ``Infinity``, lone surrogates, nesting past 1,024).
Nothing else in evaltrace configures a JSON encoder: use ``dumps`` / ``loads`` /
``dumps_text`` from here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Final

import orjson

from ._exceptions import InvalidInputError, InvalidInputTypeError
from ._validate import safe_repr, where

__all__ = [
    "MAX_DEPTH",
    "dumps",
    "dumps_plain",
    "dumps_scalars",
    "dumps_text",
    "dumps_vouched",
    "loads",
    "loads_vouched",
    "orjson_exact",
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
        # One level, as asdict gives it for JSON: the encoders convert what is inside as they
        # walk (asdict's own recursion, and its deepcopy, would overflow on deep values).
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return uuid.UUID.__str__(value)  # as the sample id spells it, whatever a subclass says
    raise TypeError(type(value).__name__)


_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
"""Dataclasses and datetimes go through ``default`` (``_converted``), as on the exact path, so
both paths accept and convert exactly the same values."""
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=True, separators=(",", ":"), default=_plain
)
_TEXT_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=True, indent=2)


_SEQUENCES = (list, tuple)
_CONTAINERS = (dict, list, tuple, Mapping)
_PLAIN_TYPES = frozenset({dict, list, str, int, float, bool, type(None)})
_INT_LIMIT = 10**_INT_DIGITS if _INT_DIGITS else 0
"""The first integer too long for ``str`` (and so for ``json``) to write and read back."""


class _Refused(Exception):
    """Why ``_copy`` refuses a value, and where: the path's segments, innermost first, each
    added by its container as the refusal passes up (paths are built only for a refusal)."""

    def __init__(
        self, reason: str, kind: type[InvalidInputError | InvalidInputTypeError], at: str = ""
    ) -> None:
        super().__init__(reason)
        self.reason, self.kind = reason, kind
        self.segments = [at] if at else []

    def error(self, field: str, row: int | None) -> InvalidInputError | InvalidInputTypeError:
        """The error to raise: ``{field}{path} (row {row}): {reason}``."""
        path = field + "".join(reversed(self.segments))
        return self.kind(f"{where(path, row)}: {self.reason}")


_DEEP = f"nesting deeper than {MAX_DEPTH} levels (or a circular reference)"


def _text(value: str, what: str, at: str = "") -> str:
    """``value`` as an exact ``str`` (a subclass's own characters, never its ``__str__``)."""
    text = value if type(value) is str else str.__str__(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Refused(
                f"{what} that is not valid UTF-8 (lone surrogate)", InvalidInputError, at
            ) from None
    return text


def _copy(value: Any, depth: int) -> Any:
    """``value`` as plain JSON data (exact dicts of ``str`` keys, lists, str, int, float, bool,
    None), converted as the fast path converts it; raises ``_Refused`` at the first value JSON
    cannot carry exactly. The exact path's one walk: nothing else decides a refusal."""
    kind = type(value)
    if kind is str:
        return value if value.isascii() else _text(value, "a string")
    if kind is float or value is None or kind is bool:
        return value
    if kind is int and -_INT_LIMIT < value < _INT_LIMIT:
        return value
    if kind is dict or kind is list or isinstance(value, _CONTAINERS):
        if depth > MAX_DEPTH:
            raise _Refused(_DEEP, InvalidInputError)
        sequence = isinstance(value, _SEQUENCES)
        if kind is not dict and kind is not list and kind is not tuple:
            try:  # a user's own container: what its methods give, once
                value = list(value) if sequence else list(value.items())
            except Exception as exc:
                raise _Refused(
                    f"a {kind.__name__} whose own methods raised ({safe_repr(exc)})",
                    InvalidInputError,
                ) from None
        if sequence:
            return _copy_items(value, depth + 1)
        return _copy_pairs(value.items() if kind is dict else value, depth + 1)
    if isinstance(value, str):
        return _text(value, "a string")
    if isinstance(value, int):
        number = int.__int__(value)
        if _INT_LIMIT and not -_INT_LIMIT < number < _INT_LIMIT:
            raise _Refused(f"an integer with more than {_INT_DIGITS} digits", InvalidInputError)
        return number
    if isinstance(value, float):
        return float.__float__(value)
    try:
        converted = _plain(value)
    except TypeError:
        raise _Refused(
            f"an object of type {type(value).__name__} that is not JSON-serializable",
            InvalidInputTypeError,
        ) from None
    except Exception as exc:  # a model_dump (or a user's Mapping) that raises
        raise _Refused(
            f"a {type(value).__name__} that cannot be converted to JSON ({safe_repr(exc)})",
            InvalidInputError,
        ) from None
    return _copy(converted, depth)


def _copy_items(items: Any, depth: int) -> list[Any]:
    out: list[Any] = []
    append = out.append
    for i, item in enumerate(items):
        try:
            append(_copy(item, depth))
        except _Refused as refused:
            refused.segments.append(f"[{i}]")
            raise
    return out


def _copy_pairs(pairs: Iterable[tuple[Any, Any]], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in pairs:
        if type(key) is str and key.isascii():
            name = key
        elif isinstance(key, str):
            name = _text(key, "a key", f"[{safe_repr(key)}]")
        else:
            raise _Refused(
                f"a {type(key).__name__} key (keys must be strings)",
                InvalidInputTypeError,
                f"[{safe_repr(key)}]",
            )
        if name in out:
            raise _Refused(
                "a key given twice (a str subclass)", InvalidInputError, f"[{safe_repr(name)}]"
            )
        try:
            out[name] = _copy(item, depth)
        except _Refused as refused:
            refused.segments.append(f".{name}")
            raise
    return out


def _exact(value: Any, field: str, row: int | None) -> tuple[str, Any]:
    """The standard library's encoding of ``value`` converted to plain JSON data (exact for
    everything JSON can carry), and that data; else the error naming the field path and row."""
    try:
        plain = _copy(value, 0)
    except _Refused as refused:
        raise refused.error(field, row) from None
    except RecursionError:  # the caller's own stack was deep already, or a user's model_dump
        raise InvalidInputError(
            f"{where(field, row)}: nested too deep for Python's recursion limit"
        ) from None
    return _ENCODER.encode(plain), plain


def _converted(value: Any) -> Any:
    """orjson's ``default``: a record converted whole, by ``_copy``: what orjson is handed back
    never holds a tuple (see ``_no_tuples``)."""
    return _copy(_plain(value), 0)


def _fast(value: Any) -> bytes | None:
    """orjson's encoding, or None for what it refuses (ints beyond 64 bits, str-subclass keys,
    nesting past 254, and every error, which the exact path then names)."""
    try:
        return orjson.dumps(value, default=_converted, option=_ORJSON_OPTIONS)
    except Exception:  # JSONEncodeError, or whatever a user's model_dump raised
        return None


_SCAN_BUDGET = 100_000
"""Containers ``_no_tuples`` looks at before it leaves a value to the exact path (a cycle of
dicts or lists, which orjson itself refuses by depth, ends there)."""


def _no_tuples(value: Any) -> bool:
    """True when no tuple is among the dicts and lists of ``value``. orjson counts its depth
    limit in dicts and lists, never tuples: a chain of tuples 100,000 deep crashes the
    interpreter (orjson 3.13.0: heap corruption), so orjson is never handed one. Records met on
    the way are converted by orjson's ``default`` (``_converted``), which leaves no tuple."""
    stack = [value]
    pop, push = stack.pop, stack.append
    budget = _SCAN_BUDGET
    while stack:
        item = pop()
        for child in item.values() if type(item) is dict else item:
            kind = type(child)
            if kind is dict or kind is list:
                budget -= 1
                if not budget:
                    return False
                push(child)
            elif kind is tuple:
                return False
    return True


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
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # Whole, so that nested dataclasses stay on the encoder's fast walk; asdict
            # recurses (RecursionError when deep or circular): then the exact path decides.
            return dataclasses.asdict(value)
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
    return dumps_vouched(value, field, row, finite=finite)[0]


def dumps_vouched(
    value: Any, field: str, row: int | None, *, finite: bool | None = None
) -> tuple[str, bool]:
    """``dumps(value)``, and whether orjson reads the text back exactly (``loads_vouched``
    may then skip ``loads``' scan for long numbers): always when orjson wrote it, else when
    the text has no run of 19 digits."""
    kind = value.__class__
    if kind is dict and not value:
        return "{}", True
    if finite is None and (
        kind is tuple or ((kind is dict or kind is list) and not _no_tuples(value))
    ):
        text = _exact(value, field, row)[0]
        return text, orjson_exact(text)
    fast = _fast(value)
    if fast is not None and (b"null" not in fast or (_finite(value) if finite is None else finite)):
        return fast.decode(), True
    text = _exact(value, field, row)[0]
    return text, orjson_exact(text)


def dumps_plain(value: Any, field: str, row: int | None) -> tuple[str, Any]:
    """``dumps(value)`` by the exact path, and the plain JSON data it encodes (what ``loads``
    of it returns), so that a caller can walk that instead of ``value``."""
    return _exact(value, field, row)


def dumps_text(value: Any, *, indent: bool = False) -> str:
    """JSON for people and files (CLI output, summaries): NaN kept, unicode unescaped."""
    if indent:
        return _TEXT_ENCODER.encode(value)
    return _ENCODER.encode(value)


_DIGITS_TO_ZERO: Final = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER: Final = b"0" * 19
"""The shortest int orjson reads inexactly (past 64 bits) has 19 digits (-2**63 - 1)."""


def _short_numbers(data: bytes) -> bool:
    """No run of 19 digits in ``data``: no int orjson would read inexactly."""
    return _LONG_NUMBER not in data.translate(_DIGITS_TO_ZERO)


def orjson_exact(text: str) -> bool:
    """True when orjson reads ``text`` exactly: it holds no run of 19 digits, so no int past
    64 bits (``"{}"``, the usual metadata, without a scan)."""
    return text == "{}" or _short_numbers(text.encode("utf-8", "surrogatepass"))


def loads_vouched(text: str | bytes) -> Any:
    """``loads`` of a text its writer vouched for (``dumps_vouched``): orjson without the scan
    for long numbers (2 us a 1 kB payload), the standard library for what orjson refuses."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps_scalars(values: list[Any]) -> str:
    """Compact JSON of a list of strings, 64-bit ints, booleans and None (what orjson writes
    exactly, with nothing to convert)."""
    return orjson.dumps(values).decode()


def loads(text: str | bytes) -> Any:
    """Decode what ``dumps`` wrote (``NaN``/``Infinity`` included), exactly.

    orjson when it is exact (3x faster than ``json.loads`` on a result row: 1.4 vs 4.5 us for
    the benchmark's 1.1 kB), else the standard library. The 19-digit check on the UTF-8 bytes
    costs 0.8 us (a regular expression: 13 us); a false alarm (a long number in a string) only
    costs the slower, equally exact path.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if _short_numbers(data):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)
