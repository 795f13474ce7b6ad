"""Which leaves of an evaluation result are scores, and which way each one is better.

Evaluators write their configuration beside their scores (gllm-evals' ``MetricResult`` carries
``threshold``, ``strict_mode``, ``higher_is_better``, ``rubric_score`` and ``token_usage`` next
to ``score``), so "every numeric leaf" counts config as metrics: 37 of 77 in one measured
gllm-evals run. Compare, history and the CLI tables take only what ``score_paths`` returns.
The rule is written out in docs/schema.md ("Scores and config leaves"). Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Final, Literal, NamedTuple

from .._codec import MAX_DEPTH
from ._walk import NotPlainError, flatten

__all__ = [
    "CONFIG_KEYS",
    "CONFIG_SUFFIXES",
    "DETAIL_KEYS",
    "Direction",
    "Numeric",
    "Score",
    "ScoreValue",
    "is_config_path",
    "matches_any",
    "numeric_scores",
    "numeric_values",
    "score_list",
    "score_paths",
]

Direction = Literal["higher", "lower"]
Numeric = float | int | bool
ScoreValue = Numeric | str

CONFIG_KEYS: Final = frozenset(
    {
        "threshold",
        "strict_mode",
        "higher_is_better",
        "lower_is_better",
        "include_reason",
        "async_mode",
        "verbose_mode",
        "rubric_score",
        "model",
        "model_id",
        "model_name",
        "evaluation_model",
        "judge_model",
        "k",
        "top_k",
        "weight",
        "seed",
        "temperature",
        "max_tokens",
        "version",
        "cost",
        "latency",
        "duration",
        "tokens",
    }
)
"""Leaf keys that are an evaluator's settings, copies of a score or its cost, never scores
themselves (also any key ending in one of ``CONFIG_SUFFIXES``)."""

DETAIL_KEYS: Final = frozenset(
    {
        "error",
        "errors",
        "token_usage",
        "evaluator_token_usage",
        "usage",
        "decision",
        "config",
        "params",
        "metadata",
        "rubric",
        "rubrics",
    }
)
"""Keys whose whole subtree is bookkeeping: failure records, token usage, a judge's decision
details, settings, rubric copies."""

_SCORE_SUFFIXES: Final = ("_score",)
_PASS_KEYS: Final = frozenset({"success", "passed", "pass"})
_PASS_SUFFIXES: Final = ("_success", "_passed")
_LABEL_KEYS: Final = frozenset({"label"})
CONFIG_SUFFIXES: Final = ("_threshold", "_model", "_cost", "_tokens", "_ms", "_seconds")
"""Config key endings: ``pass_threshold``, ``judge_model``, ``evaluation_cost``,
``input_tokens``, ``latency_ms``: what a run spent, not how good it was."""

# What a key says about its leaf, before its value and siblings are looked at; config and
# detail last, so that ``kind >= _CONFIG`` skips both.
# ``score`` itself (_MAIN) makes its node a score node; ``*_score`` (_SCORE) does not.
_OTHER, _MAIN, _SCORE, _PASS, _LABEL, _CONFIG, _DETAIL = range(1, 8)


class Score(NamedTuple):
    """One score of one result: its value and which way is better."""

    value: ScoreValue
    direction: Direction


_KINDS: dict[Any, int] = {}
"""Kinds of the keys seen so far: results reuse a few dozen keys, so a lookup is a hit."""
_KINDS_MAX: Final = 4096


def _key_kind(key: Any) -> int:
    """Classify a key (cached)."""
    kind = _KINDS.get(key)
    if kind is None:
        kind = _classify(str(key))
        if len(_KINDS) < _KINDS_MAX:  # keys that are ids would grow it without bound
            _KINDS[key] = kind
    return kind


def _classify(key: str) -> int:
    k = key.lower().partition("#")[0]  # ``score#1``: a row-grouped duplicate
    if k in DETAIL_KEYS:
        return _DETAIL
    if k in CONFIG_KEYS or k.endswith(CONFIG_SUFFIXES):
        return _CONFIG
    if k in _PASS_KEYS or k.endswith(_PASS_SUFFIXES):
        return _PASS
    if k == "score":
        return _MAIN
    if k.endswith(_SCORE_SUFFIXES):
        return _SCORE
    if k in _LABEL_KEYS or k.endswith("_label"):
        return _LABEL
    return _OTHER


def is_config_path(path: str) -> bool:
    """True when a dotted path names a config leaf or lies under a detail subtree by this
    module's key rule alone (for views that only have paths, such as history columns)."""
    parts = [part.partition("#")[0].lower() for part in path.split(".")]
    if any(part in DETAIL_KEYS for part in parts[:-1]):
        return True
    return _classify(parts[-1]) >= _CONFIG


def _polarity(node: Mapping[str, Any]) -> Direction | None:
    """The direction a node declares for its numeric scores, as gllm-evals writes it."""
    flag = node.get("higher_is_better")
    if type(flag) is bool:
        return "higher" if flag else "lower"
    flag = node.get("lower_is_better")
    if type(flag) is bool:
        return "lower" if flag else "higher"
    return None


class _Found(list[tuple[str, ScoreValue, Direction | None]]):
    """(path, value, direction): None when neither the node nor the key fixes the direction.

    ``dotted``: a key held a dot or was empty, so two leaves may share a path."""

    dotted = False


def _walk(node: Mapping[str, Any], prefix: str, out: _Found, depth: int = 0) -> None:
    """Append the scores under ``node``; config keys and detail subtrees are skipped whole.

    ``prefix`` is the node's path with its trailing dot ("" at the top). One pass with exact
    type checks, as this runs once per logged result: a bare number is appended at once and
    taken back if a ``score`` key later shows the node to be a score node. Past ``MAX_DEPTH``
    (deeper than the encoder accepts) nothing is a score.
    """
    if depth > MAX_DEPTH:
        return
    declared = _polarity(node) if "higher_is_better" in node or "lower_is_better" in node else None
    scored = False
    bare: list[int] = []
    for key, value in node.items():
        kind = _KINDS.get(key) or _key_kind(key)
        if kind >= _CONFIG:
            # A config *leaf* (latency: 2.1) is a cost; a config-named evaluator
            # (latency: {score, higher_is_better: false}) is still walked for its scores.
            if kind == _DETAIL or type(value) is not dict:
                continue
            kind = _OTHER
        if kind == _MAIN:
            scored = True
        kind_of_value = type(value)
        if kind_of_value not in _PLAIN:
            value = _plain(value)
            kind_of_value = type(value)
        segment = key if type(key) is str else str(key)
        if not segment or "." in segment:
            out.dotted = True
        path = prefix + segment
        if kind_of_value is dict:
            _walk(value, path + "." if path else "", out, depth + 1)
        elif kind_of_value is str:
            if kind in (_MAIN, _LABEL):
                out.append((path or "value", value, declared))
        elif kind_of_value is bool and kind == _PASS:
            out.append((path or "value", value, "higher"))  # True passes, whatever the polarity
        elif kind_of_value is bool or kind_of_value is float or kind_of_value is int:
            if kind in (_MAIN, _SCORE):
                out.append((path or "value", value, declared))
            elif not scored and not (kind_of_value is bool and kind == _LABEL):
                bare.append(len(out))
                out.append((path or "value", value, declared))
    if scored and bare:
        for index in reversed(bare):
            del out[index]


_PLAIN: Final = frozenset({dict, bool, int, float, str, list, type(None)})


def _plain(value: Any) -> Any:
    """A mapping as a dict, a bool/int/float/str subclass (IntEnum, StrEnum) as its base type."""
    if isinstance(value, Mapping):
        return dict(value)
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _first(out: _Found, result: Any) -> _Found:
    """Each path once, and only when its first leaf of any kind is this score (the leaf
    ``flatten`` and the flat attributes keep): a dotted key beside the nested one,
    ``{"a.b": ..., "a": {"b": ...}}``, spells a path twice. Rare: only then is it walked again."""
    if not out.dotted:
        return out
    try:
        flat: dict[str, Any] | None = flatten(result)
    except (NotPlainError, RecursionError):
        flat = None
    kept = _Found()
    seen: set[str] = set()
    for item in out:
        path, value = item[0], item[1]
        if path in seen:
            continue
        seen.add(path)
        leaf = flat.get(path, value) if flat is not None else value
        if leaf is value or (type(leaf) is type(value) and leaf == value):
            kept.append(item)
    return kept


def _found(result: Any) -> _Found:
    """Every score of ``result`` with ``flatten``'s paths (row-grouped parts merged)."""
    out = _Found()
    if not isinstance(result, list):
        node = result if isinstance(result, Mapping) else {"value": result}
        _walk(node, "", out)
        return _first(out, result)
    tops: set[str] = set()
    for item in result:
        node = item if isinstance(item, dict) else {"value": item}
        keys = {str(key) for key in node}
        if "" in keys or not tops.isdisjoint(keys):
            return _found_merged(result)  # parts share a namespace: suffix as flatten does
        tops |= keys
        _walk(node, "", out)
    return _first(out, result)


def _found_merged(result: list[Any]) -> _Found:
    """The rare row-grouped result whose parts share paths: a path already taken by any leaf
    of an earlier part gets ``#i``, exactly as in ``flatten``."""
    out = _Found()
    taken: set[str] = set()
    for i, item in enumerate(result):
        part = _Found()
        _walk(item if isinstance(item, dict) else {"value": item}, "", part)
        try:
            paths = flatten([item])
        except (NotPlainError, RecursionError):  # not plain data: its score paths as they are
            paths = {path: None for path, _, _ in part}
        renamed = {path: f"{path}#{i}" if path in taken else path for path in paths}
        out += [(renamed.get(path, path), value, direction) for path, value, direction in part]
        out.dotted = out.dotted or part.dotted
        taken.update(renamed.values())
    return _first(out, result)


def score_paths(result: Any, lower_is_better: Iterable[str] = ()) -> dict[str, Score]:
    """The scores of one evaluation result by dotted path (the paths ``flatten`` gives).

    ``result`` is a dict, or gllm-evals' row-grouped list of ``{evaluator: output}`` dicts
    (merged into one namespace; a path seen twice gets ``#i``, as in ``flatten``). A score's
    direction is its node's ``higher_is_better`` flag when there is one, else lower for a
    path matching a ``lower_is_better`` glob, else higher; pass/fail booleans are always
    higher-is-better.
    """
    patterns = tuple(lower_is_better)
    if not patterns:
        return {path: Score(value, way or "higher") for path, value, way in _found(result)}
    return {
        path: Score(value, direction or ("lower" if matches_any(path, patterns) else "higher"))
        for path, value, direction in _found(result)
    }


def numeric_scores(
    result: Any, lower_is_better: Iterable[str] = ()
) -> dict[str, tuple[Numeric, Direction]]:
    """The scores that can be averaged, numbers and booleans (labels left out), as
    ``(value, direction)``."""
    return {
        path: (score.value, score.direction)
        for path, score in score_paths(result, lower_is_better).items()
        if not isinstance(score.value, str)
    }


def numeric_values(result: Any) -> dict[str, Numeric]:
    """``numeric_scores`` without the directions: what the store keeps beside every logged
    result, so built straight from the walk (a third of the cost of ``numeric_scores``)."""
    out: dict[str, Numeric] = {}
    for path, value, _ in _found(result):
        if type(value) is not str:
            out[path] = value  # type: ignore[assignment]
    return out


def matches_any(path: str, patterns: Iterable[str]) -> bool:
    """True when ``path`` matches one of the ``fnmatch`` globs (case-sensitive)."""
    return any(fnmatchcase(path, pattern) for pattern in patterns)


def score_list(evaluation_result: Any) -> list[list[Any]]:
    """A result's numeric and boolean scores as ``[[path, value], ...]``: what the store keeps
    beside each result, so that folding and history never walk the result again."""
    return [[path, value] for path, value in numeric_values(evaluation_result).items()]
