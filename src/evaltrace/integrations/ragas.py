"""ragas: what its ``evaluate()`` returns, logged as one evaltrace run.

Tested with ragas 0.4.3 (``pip install 'evaltrace[ragas]'``)::

    from ragas import evaluate
    from evaltrace import OpenTelemetryExperimentTracker
    from evaltrace.integrations.ragas import log_evaluation

    result = evaluate(dataset, metrics=[...])
    with OpenTelemetryExperimentTracker("my-rag") as tracker:
        run_id = log_evaluation(result, tracker, dataset_name="faq-v2")

Sample ``i`` is one result: ragas's score dict for it (``result.scores[i]``, metric name to
value, exactly; a metric ragas could not compute, NaN there, is ``None`` here, as JSON has no
NaN), its data row the sample's own fields (``user_input``, ``response``, ``reference``,
``retrieved_contexts``, ...; ``to_dict()``). ragas samples have no id: runs pair by their
inputs. Set ``RAGAS_DO_NOT_TRACK=true`` to keep ragas from sending its own analytics.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from ._importing import Converted, log_converted, require

if TYPE_CHECKING:
    from .._tracker import OpenTelemetryExperimentTracker

__all__ = ["RAGAS_VERSION", "convert_evaluation", "log_evaluation"]

RAGAS_VERSION: Final = "0.4.3"
"""The ragas release this bridge is tested against (``make test-frameworks``)."""

_ragas = require("ragas", "ragas", f"ragas=={RAGAS_VERSION}")


def _score(value: Any) -> Any:
    """A ragas score as JSON can hold it: NaN (not computed) as ``None``."""
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _plain(value: Any) -> Any:
    """Message models of multi-turn samples as JSON-ready dicts."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def convert_evaluation(result: Any, dataset_name: str, run_id: str | None = None) -> Converted:
    """ragas's ``EvaluationResult`` as one evaltrace run."""
    samples = result.dataset.samples
    if len(samples) != len(result.scores):
        raise ValueError(
            f"ragas result: {len(result.scores)} score rows for {len(samples)} samples"
        )
    converted = Converted(dataset_name, run_id)
    converted.metadata = {"framework": "ragas", "framework_version": _ragas.__version__}
    if result.run_id is not None:
        converted.metadata["ragas.run_id"] = str(result.run_id)
    if result.binary_columns:
        converted.metadata["ragas.binary_columns"] = list(result.binary_columns)
    for scores, sample in zip(result.scores, samples, strict=True):
        converted.results.append({name: _score(value) for name, value in scores.items()})
        converted.rows.append({key: _plain(value) for key, value in sample.to_dict().items()})
        converted.evaluators.update(dict.fromkeys(map(str, scores), str(_ragas.__version__)))
    return converted


def log_evaluation(
    result: Any,
    tracker: OpenTelemetryExperimentTracker,
    dataset_name: str,
    run_id: str | None = None,
) -> str:
    """Log ragas's ``evaluate()`` result as one run of ``tracker``; returns the run id."""
    return log_converted(convert_evaluation(result, dataset_name, run_id), tracker)
