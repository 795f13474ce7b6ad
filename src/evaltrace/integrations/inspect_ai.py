"""Inspect AI: its eval logs, and its live runs (a hook), as evaltrace runs.

Tested with inspect-ai 0.3.285 (``pip install 'evaltrace[inspect]'``). One Inspect task
execution (``eval_id``) is one evaltrace run, ``inspect_{eval_id}``; each sample of each epoch is
one result: its scores keyed by scorer (Inspect's ``value`` as ``score``, a grade ``C``/``I``/
``P``/``N`` as ``label`` with Inspect's own number for it as ``score``; ``answer``,
``explanation`` and ``metadata`` as the scorer wrote them), its data row the sample's ``id``,
``epoch``, ``input``, ``target``, ``choices``, ``output`` (the completion) and ``metadata``.
Epochs share the sample id: they are repeated trials of one sample. Task, model and the Inspect
ids are the run's metadata. ``import_log`` reads a ``.eval``/``.json`` log with Inspect's own
reader; the hook (``_inspect_hook``, entry point ``inspect_ai``) logs as samples end when
``EVALTRACE_INSPECT=1``.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Final

from ._importing import Converted, log_converted, require

if TYPE_CHECKING:
    from .._tracker import OpenTelemetryExperimentTracker

__all__ = [
    "INSPECT_AI_VERSION",
    "convert_log",
    "import_log",
    "run_id_of",
    "run_metadata",
    "sample_evaluators",
    "sample_result",
    "sample_row",
]

INSPECT_AI_VERSION: Final = "0.3.285"
"""The inspect-ai release this bridge is tested against (``make test-frameworks``)."""

_inspect = require("inspect_ai", "inspect", f"inspect-ai=={INSPECT_AI_VERSION}")


_GRADES: Final = frozenset({"C", "I", "P", "N"})
"""Inspect's correct / incorrect / partial / no-answer values: stored as the ``label``, with the
``score`` Inspect's metrics give them (``value_to_float``: 1, 0, 0.5, 0)."""

_to_float = importlib.import_module("inspect_ai.scorer").value_to_float()


def _dump(value: Any) -> Any:
    """Pydantic models (chat messages) as JSON-ready dicts; anything else as it is."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_dump(item) for item in value]
    return value


def sample_result(sample: Any) -> dict[str, Any]:
    """The sample's scores by scorer name; an errored sample without scores gives its error."""
    result: dict[str, Any] = {}
    for name, score in (sample.scores or {}).items():
        dumped = score.model_dump(mode="json", exclude_none=True)
        value = dumped.pop("value")
        entry: dict[str, Any] = {"score": value}
        if isinstance(value, str) and value in _GRADES:  # Inspect's own reading of a grade
            entry = {"score": _to_float(value), "label": value}
        if not dumped.get("history"):
            dumped.pop("history", None)
        entry.update(dumped)
        result[name] = entry
    if sample.error is not None:
        result["error"] = sample.error.message
    return result


def sample_row(sample: Any) -> dict[str, Any]:
    """What the sample was run on and what the model answered."""
    row: dict[str, Any] = {
        "id": sample.id,
        "epoch": sample.epoch,
        "input": _dump(sample.input),
        "target": sample.target,
    }
    if sample.choices:
        row["choices"] = sample.choices
    row["output"] = sample.output.completion if sample.output is not None else None
    if sample.metadata:
        row["metadata"] = _dump(sample.metadata)
    return row


def run_id_of(spec: Any) -> str:
    """``inspect_{eval_id}``: the same run id for the hook and for an import of its log."""
    return f"inspect_{spec.eval_id}"


def run_metadata(spec: Any) -> dict[str, Any]:
    """The task, model and Inspect ids of one task execution."""
    meta: dict[str, Any] = {
        "framework": "inspect_ai",
        "framework_version": _inspect.__version__,
        "inspect.task": spec.task,
        "inspect.task_version": spec.task_version,
        "inspect.model": spec.model,
        "inspect.eval_id": spec.eval_id,
        "inspect.run_id": spec.run_id,
        "inspect.task_id": spec.task_id,
    }
    if spec.eval_set_id:
        meta["inspect.eval_set_id"] = spec.eval_set_id
    if spec.dataset.name:
        meta["inspect.dataset"] = spec.dataset.name
    return meta


def dataset_name_of(spec: Any) -> str:
    """The dataset's name when Inspect knows one, else the task's."""
    return str(spec.dataset.name or spec.task)


def convert_log(log: Any) -> Converted:
    """An ``EvalLog`` (with samples) as one evaltrace run."""
    converted = Converted(dataset_name_of(log.eval), run_id_of(log.eval))
    converted.metadata = run_metadata(log.eval)
    for sample in log.samples or ():
        converted.results.append(sample_result(sample))
        converted.rows.append(sample_row(sample))
        converted.evaluators.update(sample_evaluators(sample))
    return converted


def sample_evaluators(sample: Any) -> dict[str, str]:
    """The sample's scorers, each at the version of Inspect that ran it."""
    return dict.fromkeys(map(str, sample.scores or {}), str(_inspect.__version__))


def import_log(
    path: str | os.PathLike[str],
    tracker: OpenTelemetryExperimentTracker,
    run_id: str | None = None,
) -> str:
    """Log the samples of an Inspect log file (``.eval`` or ``.json``) as one run."""
    from inspect_ai.log import read_eval_log

    try:
        log = read_eval_log(os.fspath(path))
    except Exception as exc:  # Inspect raises what its readers raise: name the file
        raise ValueError(f"{os.fspath(path)}: not an Inspect log ({exc})") from exc
    converted = convert_log(log)
    if not converted.results:
        raise ValueError(f"{os.fspath(path)}: the log has no samples")
    if run_id is not None:
        converted.run_id = run_id
    return log_converted(converted, tracker)
