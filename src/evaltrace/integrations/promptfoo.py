"""promptfoo: the results file of ``promptfoo eval -o results.json`` as one evaltrace run.

Tested with promptfoo 0.121.20 (npm; results ``version`` 3). Needs nothing but evaltrace: the
file is JSON. Each entry of ``results.results`` (one test × prompt × provider) is one result:
``success``, ``score``, ``namedScores`` and promptfoo's ``gradingResult`` exactly (its
``componentResults`` hold each assertion with its pass, score and reason) but for its
``tokensUsed``, plus ``error`` when there is one. Its data row: the test's ``description`` and
``vars``, the rendered ``prompt`` and its ``prompt_label``, the ``provider``, the ``output``,
``latency_ms``, ``cost``, ``token_usage``, ``grading_token_usage`` (the grading's
``tokensUsed``: counts, which would otherwise be read as scores), ``failure_reason`` and the
test's ``metadata``. promptfoo tests have no id: a row's ``id`` is a
hash of provider, prompt label, vars and description, so a re-run of one config pairs with the
last. The run id is ``promptfoo_{evalId}``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import orjson

from .._codec import loads
from ._importing import Converted, log_converted

if TYPE_CHECKING:
    from .._tracker import OpenTelemetryExperimentTracker

__all__ = ["PROMPTFOO_VERSION", "convert_results", "entry_id", "import_results"]

PROMPTFOO_VERSION: Final = "0.121.20"
"""The promptfoo release whose results files this bridge is tested against."""

_RESULT_KEYS: Final = ("success", "score", "namedScores", "gradingResult", "error")


def entry_id(provider: str, prompt_label: str, test_vars: Any, description: Any) -> str:
    """A stable id for one test × prompt × provider: what a re-run of the config repeats."""
    key = orjson.dumps(
        [provider, prompt_label, test_vars, description], option=orjson.OPT_SORT_KEYS
    )
    return "pf-" + hashlib.blake2b(key, digest_size=8).hexdigest()


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _optional(value: Any) -> Mapping[str, Any]:
    """A section that may be missing (older files) as a mapping."""
    return value if isinstance(value, Mapping) else {}


def _entry(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """One promptfoo result entry as (evaltrace result, data row)."""
    result = {key: record[key] for key in _RESULT_KEYS if record.get(key) not in (None, {}, "")}
    grading = result.get("gradingResult")
    grading_usage = None
    if isinstance(grading, Mapping) and "tokensUsed" in grading:  # bookkeeping, not scores
        grading_usage = grading["tokensUsed"]
        result["gradingResult"] = {k: v for k, v in grading.items() if k != "tokensUsed"}
    test = record.get("testCase") or {}
    prompt = record.get("prompt") or {}
    provider = record.get("provider") or {}
    provider_id = provider.get("id") if isinstance(provider, Mapping) else provider
    response = record.get("response") or {}
    test_vars = record.get("vars", test.get("vars"))
    row: dict[str, Any] = {
        "id": entry_id(
            str(provider_id), str(prompt.get("label")), test_vars, test.get("description")
        )
    }
    optional = {
        "description": test.get("description"),
        "vars": test_vars,
        "prompt": prompt.get("raw"),
        "prompt_label": prompt.get("label"),
        "provider": provider_id,
        "output": response.get("output"),
        "latency_ms": record.get("latencyMs"),
        "cost": record.get("cost"),
        "token_usage": record.get("tokenUsage"),
        "grading_token_usage": grading_usage,
        "failure_reason": record.get("failureReason"),
        "metadata": test.get("metadata") or None,
        "test_index": record.get("testIdx"),
        "prompt_index": record.get("promptIdx"),
    }
    row.update({key: value for key, value in optional.items() if value is not None})
    return result, row


def convert_results(document: Any, where: str = "results file") -> Converted:
    """A parsed promptfoo results file as one evaltrace run; ``ValueError`` names the entry."""
    top = _mapping(document, where)
    body = _mapping(top.get("results"), f"{where}: results")
    records = body.get("results")
    if not isinstance(records, list):
        raise ValueError(f"{where}: results.results: expected a list (promptfoo eval -o FILE.json)")
    config = _optional(top.get("config"))
    meta = _optional(top.get("metadata"))
    eval_id = top.get("evalId")
    if not isinstance(eval_id, str) or not eval_id:
        raise ValueError(f"{where}: evalId: expected the eval's id (a string)")
    converted = Converted(str(config.get("description") or "promptfoo"), f"promptfoo_{eval_id}")
    converted.metadata = {"framework": "promptfoo", "promptfoo.eval_id": eval_id}
    extras = {
        "framework_version": meta.get("promptfooVersion"),
        "promptfoo.description": config.get("description"),
        "promptfoo.timestamp": body.get("timestamp"),
    }
    converted.metadata.update({k: v for k, v in extras.items() if v is not None})
    for index, record in enumerate(records):
        entry_where = f"{where}: results.results[{index}]"
        try:
            result, row = _entry(_mapping(record, entry_where))
        except (AttributeError, TypeError) as exc:
            raise ValueError(f"{entry_where}: not a promptfoo result ({exc})") from exc
        converted.results.append(result)
        converted.rows.append(row)
        if isinstance(version := meta.get("promptfooVersion"), str):
            for kind in _assertion_types(result.get("gradingResult")):
                converted.evaluators[f"promptfoo:{kind}"] = version
    return converted


def _assertion_types(grading: Any) -> list[str]:
    """The assertion types an entry was graded by (``componentResults[].assertion.type``)."""
    parts = grading.get("componentResults") if isinstance(grading, Mapping) else None
    return [
        str(part["assertion"]["type"])
        for part in parts or ()
        if isinstance(part, Mapping)
        and isinstance(part.get("assertion"), Mapping)
        and isinstance(part["assertion"].get("type"), str)
    ]


def import_results(
    path: str | os.PathLike[str],
    tracker: OpenTelemetryExperimentTracker,
    run_id: str | None = None,
) -> str:
    """Log a promptfoo results file as one run of ``tracker``; returns the run id."""
    where = os.fspath(path)
    try:
        with open(path, "rb") as file:
            document = loads(file.read())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{where}: not readable as JSON ({exc})") from exc
    converted = convert_results(document, where)
    if run_id is not None:
        converted.run_id = run_id
    return log_converted(converted, tracker)
