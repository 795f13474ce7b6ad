"""Hostile values for the fuzz and regression tests, and the oracle that says what evaltrace must
store for each (or where it must refuse it)."""

from __future__ import annotations

import dataclasses
import enum
import math
import sys
import uuid
from collections.abc import Mapping
from typing import Any

import pydantic

from evaltrace._codec import MAX_DEPTH
from evaltrace._validate import safe_repr

INT_DIGITS = sys.get_int_max_str_digits()


class Boom(Exception):
    """What the hostile objects raise."""


class Hostile:
    """An object whose every dunder a serializer might call raises."""

    def __repr__(self) -> str:
        raise Boom("repr")

    def __str__(self) -> str:
        raise Boom("str")

    def __eq__(self, other: object) -> bool:
        raise Boom("eq")

    def __hash__(self) -> int:
        raise Boom("hash")


class HostileKey(str):
    """A str subclass usable as a key (str's hash) whose repr, str and == raise."""

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        raise Boom("repr")

    def __str__(self) -> str:
        raise Boom("str")

    def __eq__(self, other: object) -> bool:
        raise Boom("eq")


class SubStr(str):
    """A plain str subclass."""


class HostileInt(int):
    """An int subclass whose repr and str raise."""

    def __repr__(self) -> str:
        raise Boom("repr")

    __str__ = __repr__


class Verdict(enum.Enum):
    """An enum stored as its value."""

    PASS = "pass"
    SCORE = 0.5
    NESTED = ("a", (1, 2))


class Level(enum.IntEnum):
    """An int enum (an int subclass)."""

    HIGH = 3


class Model(pydantic.BaseModel):
    """A pydantic model holding anything."""

    x: Any = None


@dataclasses.dataclass
class Record:
    """A dataclass holding anything."""

    x: Any = None


class Bad(Exception):
    """The oracle's verdict: JSON cannot carry the value at ``path`` exactly."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def expected(value: Any, path: str, depth: int = 0) -> Any:
    """What reading ``value`` back must give; raises ``Bad`` naming where it must be refused."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = str.__str__(value)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise Bad(path) from None
        return text
    if isinstance(value, int):
        number = int.__int__(value)
        if abs(number) >= 10**INT_DIGITS:
            raise Bad(path)
        return number
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, enum.Enum):
        return expected(value.value, path, depth)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, pydantic.BaseModel):
        try:
            dumped = value.model_dump(mode="json")
        except Exception:
            raise Bad(path) from None
        return expected(dumped, path, depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        return expected(fields, path, depth)
    if isinstance(value, list | tuple | Mapping) and depth > MAX_DEPTH:
        raise Bad(path)
    if isinstance(value, list | tuple):
        return [expected(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise Bad(f"{path}[{safe_repr(key)}]")
            name = str.__str__(key)
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise Bad(f"{path}[{safe_repr(key)}]") from None
            if name in out:
                raise Bad(f"{path}[{safe_repr(name)}]")
            out[name] = expected(item, f"{path}.{name}", depth + 1)
        return out
    raise Bad(path)


def same(a: Any, b: Any) -> bool:
    """Deep equality that also requires equal types and treats NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def nest(depth: int, leaf: Any, as_list: bool) -> Any:
    """``leaf`` inside ``depth`` dicts (``{"a": ...}``) or lists."""
    value = leaf
    for _ in range(depth):
        value = [value] if as_list else {"a": value}
    return value
