"""gllm-evals bridge: an evaltrace tracker that ``gllm_evals.evaluate()`` accepts as its own.

gllm-evals checks trackers against *its* ``BaseExperimentTracker`` (which adds
``get_experiment_urls`` and ``supported_test_case_types`` to the seed interface), so the bridge
is a class deriving from both, built on first use so that evaltrace never imports gllm-evals
unless asked::

    from evaltrace.integrations.gllm_evals import gllm_evals_tracker
    tracker = gllm_evals_tracker("my-rag", store="runs.db")
    result = await evaluate(data, evaluators, experiment_tracker=tracker)
"""

from __future__ import annotations

from functools import cache
from typing import Any

from .._tracker import OpenTelemetryExperimentTracker

__all__ = ["gllm_evals_tracker", "tracker_class"]


@cache
def tracker_class() -> type[OpenTelemetryExperimentTracker]:
    """The bridge class; raises ``ImportError`` with the install hint without gllm-evals."""
    try:
        from gllm_evals.experiment_tracker.experiment_tracker import (
            BaseExperimentTracker as GllmBase,
        )
        from gllm_evals.types import ConversationalTestCase, ExperimentUris, LLMTestCase
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "evaltrace.integrations.gllm_evals needs gllm-evals: pip install gllm-evals-binary"
        ) from exc

    class GllmEvalsTracker(OpenTelemetryExperimentTracker, GllmBase):  # type: ignore[misc]
        """``OpenTelemetryExperimentTracker`` that is also a gllm-evals tracker."""

        supported_test_case_types = (LLMTestCase, ConversationalTestCase)

        def __init__(self, project_name: str, **kwargs: Any) -> None:
            GllmBase.__init__(self, project_name)  # its logger, score keys and aggregators
            OpenTelemetryExperimentTracker.__init__(self, project_name, **kwargs)

        def _validate_connection(self) -> bool:
            """The embedded store is local; a remote backend is checked on first read."""
            return True

        def get_experiment_urls(self, run_id: str, dataset_name: str, **kwargs: Any) -> Any:
            """Where to look: the embedded store (open it with ``evaltrace results RUN_ID``)."""
            store = self._settings.store
            return ExperimentUris(
                run_uri=f"sqlite:///{store}?run_id={run_id}" if store else None,
                leaderboard_uri=f"sqlite:///{store}" if store else None,
            )

    return GllmEvalsTracker


def gllm_evals_tracker(project_name: str, **kwargs: Any) -> OpenTelemetryExperimentTracker:
    """A tracker to pass as ``evaluate(..., experiment_tracker=...)``; kwargs as the tracker's."""
    return tracker_class()(project_name, **kwargs)
