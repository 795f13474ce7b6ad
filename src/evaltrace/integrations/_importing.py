"""What every framework bridge shares: the install hint, and logging a converted run once.

A bridge turns its framework's own result objects into evaltrace rows (``Converted``); this
module logs them as one run in one batch, which the store commits whole or not at all, and
refuses a run id the store already holds, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import importlib
import uuid
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from .._tracker import OpenTelemetryExperimentTracker

__all__ = ["Converted", "RunExistsError", "import_file", "log_converted", "require"]


def require(module: str, extra: str, pin: str) -> ModuleType:
    """Import ``module`` or raise ``ImportError`` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{module} is not installed: pip install 'evaltrace[{extra}]' (tested with {pin})",
            name=exc.name,
        ) from exc


class RunExistsError(ValueError):
    """The store already holds results under this run id (an import done before)."""


@dataclass
class Converted:
    """One framework run as evaltrace rows: result ``i`` scores data row ``i``."""

    dataset_name: str
    run_id: str | None
    results: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    evaluators: dict[str, str] = field(default_factory=dict)
    """The evaluators' names and versions where the framework says them (``log(evaluators=)``:
    the run's provenance, which ``compare`` checks)."""


def log_converted(converted: Converted, tracker: OpenTelemetryExperimentTracker) -> str:
    """Log ``converted`` as one batch; ``RunExistsError`` if its run id has results already.

    Without a run id, a new one in the tracker's form ``{project}_{dataset}_{8 hex}``: each
    ``evaluate()`` logged is a run of its own.
    """
    run_id = converted.run_id
    if run_id is None:
        run_id = f"{tracker.project_name}_{converted.dataset_name}_{uuid.uuid4().hex[:8]}"
    if not converted.results:
        raise ValueError(f"run {run_id!r}: no results to log")
    if next(iter(tracker.iter_run_results(run_id)), None) is not None:
        raise RunExistsError(
            f"run {run_id!r} is already in the store: nothing imported "
            "(pass another run id to import it again)"
        )
    return tracker.log_batch_sync(
        converted.results,
        converted.dataset_name,
        converted.rows,
        run_id=run_id,
        metadata=converted.metadata,
        evaluators=converted.evaluators or None,
    )


_IMPORTERS: Final = {
    "inspect": ("evaltrace.integrations.inspect_ai", "import_log"),
    "promptfoo": ("evaltrace.integrations.promptfoo", "import_results"),
}
"""``evaltrace import KIND FILE``: the bridge module and its function (path, tracker, run_id)."""


def import_file(kind: str, path: str, store: str, project: str, run_id: str | None) -> str:
    """Import one framework's results file into ``store`` as one run; returns its run id."""
    from .._tracker import OpenTelemetryExperimentTracker

    module_name, function = _IMPORTERS[kind]
    importer = getattr(importlib.import_module(module_name), function)
    with OpenTelemetryExperimentTracker(project, store=store) as tracker:
        return str(importer(path, tracker, run_id))
