"""Exact quantiles from a value→count map: what history shows while a metric has few
distinct values (a 0/1 score, a judge's 1–5), in place of the sketch's approximation.

The definition is numpy's default (``numpy.quantile(values, q)``, ``method="linear"``,
Hyndman & Fan's type 7): the sorted values' virtual index ``h = (n−1)·q``, interpolated
between the elements at ⌊h⌋ and ⌊h⌋+1 with numpy's own arithmetic, so that the figures are
numpy's to the last bit (tests/test_history.py holds numpy as the oracle).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["EXACT_LIMIT", "decode_counts", "encode_counts", "linear_quantile", "merge_counts"]

EXACT_LIMIT: Final = 1024
"""Most distinct values a metric's exact map holds; past it only the sketch is kept."""


def merge_counts(
    into: Counter[float] | None, other: Mapping[float, int] | None
) -> Counter[float] | None:
    """``into`` plus ``other``; None (no exact map) when either is None or the union holds
    more than ``EXACT_LIMIT`` distinct values. A union only grows, so the outcome is the same
    in any order and any split."""
    if into is None or other is None:
        return None
    into.update(other)
    return into if len(into) <= EXACT_LIMIT else None


def encode_counts(counts: Counter[float] | None) -> list[list[float | int]] | None:
    """``[[value, count], ...]`` sorted by value (JSON-able, the same text in any order)."""
    return None if counts is None else [[v, n] for v, n in sorted(counts.items())]


def decode_counts(encoded: Iterable[list[float | int]] | None) -> Counter[float] | None:
    """``encode_counts`` back (None stays None: an aggregate without an exact map)."""
    if encoded is None:
        return None
    return Counter({float(v): int(n) for v, n in encoded})


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's ``_lerp``; a convex combination where ``b − a`` passes the double range."""
    diff = b - a
    if not math.isfinite(diff):
        return a * (1 - t) + b * t
    return b - diff * (1 - t) if t >= 0.5 else a + diff * t


def linear_quantile(counts: Mapping[float, int], q: float) -> float:
    """numpy's linear quantile ``q`` of the values ``counts`` holds (each ``count`` times)."""
    n = sum(counts.values())
    h = (n - 1) * q
    below = math.floor(h)
    want = (below, below + 1) if h < n - 1 else (n - 1, n - 1)
    found: list[float] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while len(found) < 2 and want[len(found)] < seen:
            found.append(value)
        if len(found) == 2:
            break
    a, b = found
    return a if a == b else _lerp(a, b, h - below)
