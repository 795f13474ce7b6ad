"""One sample whole (``/runs/{run}/samples/{id}``) and one sample in two runs side by side
(``/compare/sample?a=&b=&id=``): question, expected and generated answers, retrieved
contexts, every metric with its explanation, metadata as a structure, links to its span.

Which data field is the question, the reference or the answer follows the names
``schema/_samples`` gives dataset and pipeline fields; anything else is shown under "other data".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from .._config import TraceLinks
from ..schema._samples import ANSWER_KEYS, CONTEXT_KEYS, EXPECTED_KEYS, QUESTION_KEYS
from ._diff import word_diff
from ._links import href, run_path, sample_path, trace_links
from ._metrics import fmt, is_config

__all__ = ["ab_path", "ab_view", "sample_label", "sample_view"]

LABEL: Final = 90
"""Characters of a sample's question kept in its label."""
LONG: Final = 600
"""Texts past this many characters (or 8 lines) are folded in a ``<details>``."""
EXPECTED: Final = (*EXPECTED_KEYS, "expected_response")
"""The dataset's expected-answer fields, and one more name a page recognises (not part of a
sample's key, so ids stay as they were)."""
ANSWER: Final = (*ANSWER_KEYS, "generated_response")
"""The same for the generated answer."""


def _first(data: Any, keys: Sequence[str]) -> tuple[str, Any] | None:
    if isinstance(data, Mapping):
        for key in keys:
            if data.get(key) not in (None, "", []):
                return key, data[key]
    return None


def _oneline(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[-1], Mapping):
        value = value[-1].get("content", "")  # chat messages: the last one asks
    return " ".join(str(value).split()) if isinstance(value, str) else ""


def sample_label(data: Any) -> str:
    """A person's name for a sample: its question (or input, prompt...), else its first text
    field that is not its id; cut to ``LABEL`` characters."""
    hit = _first(data, QUESTION_KEYS)
    text = _oneline(hit[1]) if hit else ""
    if not text and isinstance(data, Mapping):
        text = next(
            (_oneline(v) for k, v in data.items() if k != "id" and _oneline(v)),
            "",
        )
    return text if len(text) <= LABEL else text[: LABEL - 1] + "…"


def structure(value: Any) -> dict[str, Any]:
    """A value as the template's nested lists (``map``/``list``/``text``), never a repr."""
    if isinstance(value, Mapping):
        return {"kind": "map", "items": [(str(k), structure(v)) for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return {"kind": "list", "items": [structure(v) for v in value]}
    if isinstance(value, str):
        return text(value)
    return {"kind": "scalar", "text": fmt(value) if value is not None else "null"}


def text(value: str) -> dict[str, Any]:
    """A text, folded when long: the template shows ``head`` and expands to the whole."""
    long = len(value) > LONG or value.count("\n") >= 8
    head = " ".join(value[:160].split()) + "…" if long else value
    return {"kind": "text", "text": value, "long": long, "head": head}


def _field(value: Any) -> dict[str, Any]:
    return text(value) if isinstance(value, str) else structure(value)


def _metrics(result: Any, prefix: str = "") -> list[dict[str, Any]]:
    """One row per node holding leaves: its scores, its texts (explanation, reason...), its
    configuration; nested metrics follow their parent."""
    if not isinstance(result, Mapping):
        return [{"metric": prefix or "score", "scores": [("", fmt(result))], "notes": [],
                 "config": [], "other": []}]  # fmt: skip
    row: dict[str, Any] = {"metric": prefix, "scores": [], "notes": [], "config": [], "other": []}
    nested: list[dict[str, Any]] = []
    for key, value in result.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            nested.extend(_metrics(value, path))
        elif isinstance(value, str):
            row["notes"].append((str(key), text(value)))
        elif isinstance(value, bool | int | float):
            row["config" if is_config(path) else "scores"].append((str(key), fmt(value)))
        else:
            row["other"].append((str(key), structure(value)))
    has_leaves = any(row[k] for k in ("scores", "notes", "config", "other"))
    return ([row] if has_leaves else []) + nested


def _occurrence(result: Mapping[str, Any], number: int, links: TraceLinks) -> dict[str, Any]:
    data = result.get("data")
    shown: set[str] = set()
    parts: dict[str, Any] = {}
    for name, keys in (
        ("question", QUESTION_KEYS),
        ("expected", EXPECTED),
        ("answer", ANSWER),
    ):
        hit = _first(data, keys)
        parts[name] = _field(hit[1]) if hit else None
        parts[name + "_key"] = hit[0] if hit else ""
        if hit:
            shown.add(hit[0])
    contexts = _first(data, CONTEXT_KEYS)
    if contexts:
        shown.add(contexts[0])
        items = contexts[1] if isinstance(contexts[1], list) else [contexts[1]]
        parts["contexts"] = [_field(c) for c in items]
    else:
        parts["contexts"] = []
    other = (
        {k: v for k, v in data.items() if k not in shown and k != "id"}
        if isinstance(data, Mapping)
        else ({} if data is None else {"data": data})
    )
    link = result.get("link")
    return {
        "number": number,
        "timestamp": str(result.get("timestamp", ""))[:23].replace("T", " "),
        **parts,
        "other": structure(other) if other else None,
        "metrics": _metrics(result.get("evaluation_result")),
        "metadata": structure(result.get("metadata") or {}),
        "context": structure(result.get("context") or {}),
        "span": trace_links(links, str(result["trace_id"]), str(result.get("span_id") or "")),
        "app": trace_links(links, str(link["trace_id"]), str(link.get("span_id") or ""))
        if isinstance(link, Mapping) and link.get("trace_id")
        else {},
        "trace_id": result["trace_id"],
        "span_id": result.get("span_id", ""),
    }


def occurrences(results: Sequence[Mapping[str, Any]], sample_id: str) -> list[Mapping[str, Any]]:
    """Every result of ``sample_id`` in logging order (a repeated sample has several)."""
    return [r for r in results if str(r["sample_id"]) == sample_id]


def sample_view(
    results: Sequence[Mapping[str, Any]], sample_id: str, links: TraceLinks
) -> dict[str, Any] | None:
    """The sample page's model; None when the run has no result for ``sample_id``."""
    mine = occurrences(results, sample_id)
    if not mine:
        return None
    first = mine[0]
    return {
        "run_id": first["run_id"],
        "run_href": run_path(str(first["run_id"])),
        "project": first.get("project_name", ""),
        "dataset": first.get("dataset_name", ""),
        "sample_id": sample_id,
        "label": sample_label(first.get("data")),
        "occurrences": [_occurrence(r, i + 1, links) for i, r in enumerate(mine)],
    }


def ab_path(state: Mapping[str, Any], sample_id: str) -> str:
    """The A/B page of ``sample_id`` keeping the comparison's state (runs, direction,
    min effect, metric)."""
    return href("/compare/sample", state, id=sample_id)


def _answer(result: Mapping[str, Any] | None) -> str | None:
    hit = _first(result.get("data"), ANSWER) if result else None
    if hit is None:
        return None
    return hit[1] if isinstance(hit[1], str) else str(hit[1])


def ab_view(
    results_a: Sequence[Mapping[str, Any]],
    results_b: Sequence[Mapping[str, Any]],
    sample_id: str,
    state: Mapping[str, Any],
    regressed: Sequence[str],
    links: TraceLinks,
) -> dict[str, Any] | None:
    """One sample in run A beside run B: both answers with a word diff (each run's first
    occurrence), both runs' metrics, and prev/next through ``regressed`` (the compare page's
    order, worst first). None when neither run has the sample."""
    mine_a, mine_b = occurrences(results_a, sample_id), occurrences(results_b, sample_id)
    if not mine_a and not mine_b:
        return None
    first_a = mine_a[0] if mine_a else None
    first_b = mine_b[0] if mine_b else None
    answer_a, answer_b = _answer(first_a), _answer(first_b)
    diff = word_diff(answer_a, answer_b) if answer_a is not None and answer_b is not None else None
    data = (first_a or first_b or {}).get("data")
    position = regressed.index(sample_id) if sample_id in regressed else None

    def step(offset: int) -> str | None:
        if position is None or not 0 <= position + offset < len(regressed):
            return None
        return ab_path(state, regressed[position + offset])

    side = {
        "a": [_occurrence(r, i + 1, links) for i, r in enumerate(mine_a)],
        "b": [_occurrence(r, i + 1, links) for i, r in enumerate(mine_b)],
    }
    by_name = {k: {m["metric"]: m for o in s[:1] for m in o["metrics"]} for k, s in side.items()}
    names = list(dict.fromkeys([*by_name["a"], *by_name["b"]]))
    return {
        "a": state["a"],
        "b": state["b"],
        "a_href": sample_path(str(state["a"]), sample_id) if mine_a else None,
        "b_href": sample_path(str(state["b"]), sample_id) if mine_b else None,
        "compare_href": href("/compare", state),
        "sample_id": sample_id,
        "label": sample_label(data),
        "question": side["a"][0]["question"] if mine_a else side["b"][0]["question"],
        "expected": side["a"][0]["expected"] if mine_a else side["b"][0]["expected"],
        "answer_a": answer_a,
        "answer_b": answer_b,
        "diff": diff,
        "metrics": [
            {"metric": n, "a": by_name["a"].get(n), "b": by_name["b"].get(n)} for n in names
        ],
        "repeats": (len(mine_a), len(mine_b)),
        "position": None if position is None else position + 1,
        "regressed_count": len(regressed),
        "prev": step(-1),
        "next": step(1),
        "side": side,
    }
