"""The evaltrace hook for Inspect AI, loaded by Inspect through the ``inspect_ai`` entry point.

Off unless ``EVALTRACE_INSPECT=1``: installing evaltrace beside Inspect changes nothing until
then. One tracker per task execution (``eval_id``), opened when the task starts and closed when
it ends; each sample (each epoch) is logged as it ends, with ``alog`` so the event loop never
waits on SQLite. Inspect catches and logs what a hook raises: a failed log never fails the eval.
"""

from __future__ import annotations

import asyncio
from typing import Any

from inspect_ai.hooks import Hooks, SampleEnd, TaskEnd, TaskStart, hooks

from .._config import inspect_project
from .._tracker import OpenTelemetryExperimentTracker
from .inspect_ai import (
    dataset_name_of,
    run_id_of,
    run_metadata,
    sample_evaluators,
    sample_result,
    sample_row,
)

__all__ = ["EvaltraceHooks"]


@hooks(name="evaltrace", description="Logs each sample's scores as an evaltrace run.")
class EvaltraceHooks(Hooks):  # type: ignore[misc,unused-ignore]  # Any without inspect-ai
    """Each task execution becomes one evaltrace run (see ``evaltrace.integrations.inspect_ai``)."""

    def __init__(self) -> None:
        self._tasks: dict[str, tuple[OpenTelemetryExperimentTracker, Any]] = {}

    def enabled(self) -> bool:
        """On only with ``EVALTRACE_INSPECT=1``."""
        return inspect_project() is not None

    async def on_task_start(self, data: TaskStart) -> None:
        """Open the task's tracker (store and OTLP from the usual EVALTRACE_/OTEL_ settings)."""
        project = inspect_project() or "inspect"
        self._tasks[data.eval_id] = (OpenTelemetryExperimentTracker(project), data.spec)

    async def on_sample_end(self, data: SampleEnd) -> None:
        """Log the sample (this epoch of it) as one result of the task's run."""
        tracker, spec = self._tasks[data.eval_id]
        await tracker.alog(
            sample_result(data.sample),
            dataset_name_of(spec),
            sample_row(data.sample),
            run_id=run_id_of(spec),
            metadata=run_metadata(spec),
            evaluators=sample_evaluators(data.sample),
        )

    async def on_task_end(self, data: TaskEnd) -> None:
        """Close the task's tracker: what it forwards is flushed before Inspect moves on."""
        entry = self._tasks.pop(data.eval_id, None)
        if entry is not None:
            await asyncio.to_thread(entry[0].close)
