"""DeepEval: what its ``evaluate()`` returns, logged as one evaltrace run.

Tested with deepeval 4.3.1 (``pip install 'evaltrace[deepeval]'``)::

    from deepeval import evaluate
    from evaltrace import OpenTelemetryExperimentTracker
    from evaltrace.integrations.deepeval import log_evaluation

    result = evaluate(test_cases, metrics)
    with OpenTelemetryExperimentTracker("my-rag") as tracker:
        run_id = log_evaluation(result, tracker, dataset_name="faq-v2")

Each ``TestResult`` is one result: ``{metric name: {score, reason, success, threshold, ...}}``
(every field DeepEval's ``MetricData`` sets, by its Python name) and ``success`` (the test
case's). Its data row holds the test case's fields (``input``, ``actual_output``,
``expected_output``, ``context``, ``retrieval_context``, ``turns``, ``metadata``, ...); a test
case named by the user keeps its name as ``id``, and one DeepEval named for it (by position,
``test_case_N``, or after the running pytest test, shared by all) is paired across runs by
its inputs instead. Set
``DEEPEVAL_TELEMETRY_OPT_OUT=1`` to keep DeepEval from sending its own analytics.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any, Final

from .._config import deepeval_test_name
from ._importing import Converted, log_converted, require

if TYPE_CHECKING:
    from .._tracker import OpenTelemetryExperimentTracker

__all__ = ["DEEPEVAL_VERSION", "case_row", "convert_evaluation", "log_evaluation"]

DEEPEVAL_VERSION: Final = "4.3.1"
"""The deepeval release this bridge is tested against (``make test-frameworks``)."""

_deepeval = require("deepeval", "deepeval", f"deepeval=={DEEPEVAL_VERSION}")

_POSITIONAL_NAME: Final = re.compile(r"(conversational_)?test_case_\d+")
"""The name DeepEval gives a test case that has none: its position, not an identity. (Under
pytest it gives the test's name instead, to every case: a name that repeats is none either.)"""

_ROW_FIELDS: Final = (
    "input",
    "actual_output",
    "expected_output",
    "context",
    "retrieval_context",
    "turns",
    "metadata",
    "conversational",
    "multimodal",
    "index",
)


def _plain(value: Any) -> Any:
    """Pydantic models (turns, images) as JSON-ready dicts."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def case_row(test_result: Any, named: bool) -> dict[str, Any]:
    """The test case's fields that are set; ``id`` when its name identifies it (``named``)."""
    row: dict[str, Any] = {}
    name = test_result.name
    if named:
        row["id"] = name
    row["name"] = name
    for key in _ROW_FIELDS:
        value = getattr(test_result, key, None)
        if value is not None:
            row[key] = _plain(value)
    return row


def case_scores(test_result: Any, where: str) -> dict[str, Any]:
    """``{metric name: MetricData fields}`` plus the test case's ``success``."""
    result: dict[str, Any] = {}
    for data in test_result.metrics_data or ():
        fields = data.model_dump(mode="json", exclude_none=True, by_alias=False)
        name = fields.pop("name")
        if name in result or name == "success":
            raise ValueError(f"{where}: two metrics named {name!r}; name them apart")
        result[name] = fields
    result["success"] = test_result.success
    return result


def convert_evaluation(result: Any, dataset_name: str, run_id: str | None = None) -> Converted:
    """DeepEval's ``EvaluationResult`` as one evaltrace run (ids made up when not given)."""
    test_run_id = getattr(result, "test_run_id", None)
    converted = Converted(dataset_name, run_id)
    converted.metadata = {"framework": "deepeval", "framework_version": _deepeval.__version__}
    if test_run_id:
        converted.metadata["deepeval.test_run_id"] = test_run_id
    names = Counter(test_result.name for test_result in result.test_results)
    given = deepeval_test_name()
    for position, test_result in enumerate(result.test_results):
        where = f"test_results[{position}] ({test_result.name})"
        name = test_result.name
        named = (
            bool(name)
            and names[name] == 1
            and name != given
            and not _POSITIONAL_NAME.fullmatch(name)
        )
        converted.results.append(case_scores(test_result, where))
        converted.rows.append(case_row(test_result, named))
        metrics = (str(data.name) for data in test_result.metrics_data or ())
        converted.evaluators.update(dict.fromkeys(metrics, str(_deepeval.__version__)))
    return converted


def log_evaluation(
    result: Any,
    tracker: OpenTelemetryExperimentTracker,
    dataset_name: str,
    run_id: str | None = None,
) -> str:
    """Log DeepEval's ``evaluate()`` result as one run of ``tracker``; returns the run id."""
    return log_converted(convert_evaluation(result, dataset_name, run_id), tracker)
