"""The one walk over an evaluation result: flat leaves by dotted path, score events, caps.

``flatten`` (history, compare, score paths) and ``walk_result`` (span attributes) share this
walk, so every reader agrees on a path. It imports nothing of this package but ``_names``, so
``_scores`` and ``_encode`` can both build on it without a cycle.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from opentelemetry.util.types import AttributeValue

from .._codec import MAX_DEPTH
from ._names import (
    ATTR_METRIC_PREFIX,
    ERROR_TYPE,
    GEN_AI_EVALUATION_EXPLANATION,
    GEN_AI_EVALUATION_NAME,
    GEN_AI_EVALUATION_SCORE_LABEL,
    GEN_AI_EVALUATION_SCORE_VALUE,
)

__all__ = ["Limits", "NotPlainError", "flatten"]

_log = logging.getLogger("evaltrace")
_intern = sys.intern
"""Paths and attribute names repeat in every row of a batch: one string each, not one per
row (interned strings are freed with their last use): 1.4 kB less per planned row."""
_ID_TYPES = (str, int, UUID)
_NUMBERS = (int, float)
_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what one span carries, so span limits never evict anything unannounced."""

    max_metric_attributes: int = 96
    max_metric_string: int = 256
    max_events: int = 128


class NotPlainError(Exception):
    """A value holds more than exact dicts (of ``str`` keys), lists, str, int, float, bool,
    None, or is nested past ``MAX_DEPTH``: it has to go through the codec's exact path."""


def _double(number: int | float) -> float | None:
    """A number as an attribute double; None for an int too large for one."""
    try:
        return float(number)
    except OverflowError:
        return None


def _flat_value(leaf: Any, max_string: int) -> AttributeValue | None:
    """The queryable attribute for one leaf, or None when it is not representable."""
    if isinstance(leaf, bool):
        return leaf
    if isinstance(leaf, _NUMBERS):
        return _double(leaf)
    if isinstance(leaf, str):
        return leaf if len(leaf) <= max_string else None
    if isinstance(leaf, list) and leaf:
        if all(isinstance(x, bool) for x in leaf):
            return tuple(leaf)
        if all(isinstance(x, _NUMBERS) and not isinstance(x, bool) for x in leaf):
            doubles = tuple(_double(x) for x in leaf)
            return None if None in doubles else doubles
        if all(isinstance(x, str) and len(x) <= max_string for x in leaf):
            return tuple(leaf)
    return None


def _event(node: dict[str, Any], path: str, score: float, max_string: int) -> dict[str, Any]:
    event: dict[str, AttributeValue] = {
        GEN_AI_EVALUATION_NAME: path or "score",
        GEN_AI_EVALUATION_SCORE_VALUE: score,
    }
    label = node.get("label")
    success = node.get("success")
    if isinstance(label, str) and len(label) <= max_string:
        event[GEN_AI_EVALUATION_SCORE_LABEL] = label
    elif isinstance(success, bool):
        event[GEN_AI_EVALUATION_SCORE_LABEL] = "pass" if success else "fail"
    explanation = node.get("explanation")
    if isinstance(explanation, str) and len(explanation) <= max_string:
        event[GEN_AI_EVALUATION_EXPLANATION] = explanation
    return event


def _error_event(path: str, error: Any, max_string: int) -> dict[str, AttributeValue]:
    """The evaluation event of a metric that failed to evaluate: ``error.type`` is the
    error's ``type`` (or the ``Name`` of a ``"Name: message"`` string), low-cardinality."""
    if isinstance(error, dict):
        kind = error.get("type") or error.get("name") or "error"
    elif isinstance(error, str):
        head, sep, _ = error.partition(":")
        kind = head if sep and head.isidentifier() else error
    else:
        kind = "error"
    text = str(kind)
    return {
        GEN_AI_EVALUATION_NAME: path or "score",
        ERROR_TYPE: text if len(text) <= max_string else text[:max_string],
    }


_warned_paths: set[str] = set()
_WARNED_PATHS = 64
"""Colliding paths warned about per process: one line each, never a flood."""


def _collided(name: str) -> None:
    """Warn once per path that two leaves of a result flatten to one attribute name."""
    if name in _warned_paths or len(_warned_paths) >= _WARNED_PATHS:
        return
    _warned_paths.add(name)
    _log.warning(
        "evaltrace: two leaves of a result flatten to %s (a dotted key beside the nested one, "
        "or an empty key): the flat attribute, history and compare keep the first; eval.result "
        "keeps both; counted in eval.omitted.metric_attributes",
        name,
    )


_EVENTS_ONLY, _ATTRIBUTES, _LEAVES = 0, 1, 2
"""What ``_Walk.node`` keeps of a dict's leaves: nothing (inside lists: a list is one flat
leaf, but dicts in it still carry events), flat attributes, or the raw leaves (row-grouped
results and ``flatten``, merged afterwards)."""


class _Walk:
    """One pass over a result: its flat metric attributes, its evaluation events, whether every
    float is finite, and the proof that it is plain JSON data (else ``NotPlainError``).

    Events: one ``gen_ai.evaluation.result`` per dict with a numeric ``score``, and one per
    bare numeric leaf of a dict without one.
    """

    __slots__ = (
        "attributes",
        "cap",
        "events",
        "finite",
        "leaves",
        "max_string",
        "omitted",
        "taken",
        "with_events",
    )

    def __init__(self, limits: Limits, with_events: bool = True) -> None:
        self.attributes: dict[str, AttributeValue] = {}
        self.leaves: dict[str, Any] = {}
        self.events: list[dict[str, AttributeValue]] = []
        self.omitted = 0
        self.taken: set[str] = set()
        self.finite = True
        self.cap = limits.max_metric_attributes
        self.max_string = limits.max_metric_string
        self.with_events = with_events

    def node(self, node: dict[Any, Any], path: str, mode: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise NotPlainError
        events = self.events
        scored = self.with_events and "score" in node
        unscored = self.with_events and not scored
        if scored:
            score = node["score"]
            if type(score) is float or type(score) is int:
                double = _double(score)
                if double is not None:
                    events.append(_event(node, path, double, self.max_string))
        if self.with_events and "error" in node:
            error = node["error"]
            if error and not (scored and type(node["score"]) in (int, float)):
                events.append(_error_event(path, error, self.max_string))
        keep = mode == _ATTRIBUTES
        if keep:  # hot: the names are built once per node, the counters kept local
            attributes, cap, omitted = self.attributes, self.cap, 0
            prefix = f"{ATTR_METRIC_PREFIX}{path}." if path else ATTR_METRIC_PREFIX
        value: AttributeValue | None
        for key, child in node.items():
            if type(key) is not str:
                raise NotPlainError
            kind = type(child)
            if kind is dict:
                self.node(child, _intern(f"{path}.{key}") if path else key, mode, depth + 1)
                continue
            if kind is float or kind is int:
                if kind is float:
                    value = child
                    if child - child:  # nan for NaN and the infinities
                        self.finite = False
                else:
                    value = _double(child)
                if unscored and value is not None:
                    events.append(
                        {
                            GEN_AI_EVALUATION_NAME: _intern(f"{path}.{key}") if path else key,
                            GEN_AI_EVALUATION_SCORE_VALUE: value,
                        }
                    )
            elif kind is str:
                value = child if len(child) <= self.max_string else None
            elif kind is bool:
                value = child
            elif kind is list:
                self.items(child, f"{path}.{key}" if path else key, depth + 1)
                value = _flat_value(child, self.max_string) if keep else None
            elif child is None:
                value = None
            else:
                raise NotPlainError
            if keep:
                name = _intern(prefix + key) if path or key else ATTR_METRIC_PREFIX + "value"
                # A taken name keeps its first leaf, as ``flatten`` and ``_scores`` do, and the
                # second is counted: {"a.b": {"score": 1}, "a": {"b": {"score": 5}}}, or
                # {"a": 2, "": {"a": 1}}. ``eval.result`` holds both.
                if value is None or len(attributes) >= cap:
                    omitted += 1
                    if value is None:  # an unrepresentable first leaf still takes its name
                        self.taken.add(name)
                elif name in attributes or name in self.taken:
                    omitted += 1
                    _collided(name)
                else:
                    attributes[name] = value
            elif mode == _LEAVES:  # a taken path keeps its first leaf, as attributes do
                self.leaves.setdefault((f"{path}.{key}" if path else key) or "value", child)
        if keep:
            self.omitted += omitted

    def items(self, items: list[Any], path: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise NotPlainError
        for item in items:
            kind = type(item)
            if kind is dict:
                self.node(item, path, _EVENTS_ONLY, depth + 1)
            elif kind is list:
                self.items(item, path, depth + 1)
            elif kind is float:
                if item - item:
                    self.finite = False
            elif kind not in _LEAF_TYPES:
                raise NotPlainError

    def merged_leaves(self, value: list[Any]) -> dict[str, Any]:
        """The leaves of a row-grouped result in one namespace; a key seen twice gets ``#i``
        (its position) appended so nothing is overwritten."""
        flat: dict[str, Any] = {}
        for i, item in enumerate(value):
            self.leaves = {}
            if type(item) is dict:
                self.node(item, "", _LEAVES, 1)
            else:
                self.items([item], "", 1)
                self.leaves["value"] = item
            for key, leaf in self.leaves.items():
                flat[f"{key}#{i}" if key in flat else key] = leaf
        return flat


_LEAF_LIMITS = Limits()


def flatten(value: Any) -> dict[str, Any]:
    """Scalar and list leaves of a decoded evaluation result by dotted path (the same walk that
    encodes spans, so history, compare and flat attributes always agree on a path)."""
    walk = _Walk(_LEAF_LIMITS, with_events=False)
    kind = type(value)
    if kind is dict:
        walk.node(value, "", _LEAVES, 0)
        return walk.leaves
    if kind is list:
        return walk.merged_leaves(value)
    return {"value": value}
