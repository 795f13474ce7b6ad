"""gllm-evals bridge: ``GllmEvalsTracker``, an evaltrace tracker that gllm-evals takes as its own.

Tested against gllm-evals-binary 0.1.41 (``pip install 'gllm-evals-binary[deepeval]==0.1.41'``)::

    from gllm_evals import evaluate
    from evaltrace.integrations.gllm_evals import GllmEvalsTracker

    result = await evaluate(data, evaluators, experiment_tracker=GllmEvalsTracker, store="runs.db")
    # or an instance: experiment_tracker=GllmEvalsTracker("my-rag", store="runs.db")

Reads answer as gllm-evals' ``JSONExperimentTracker`` does (``get_run_results``,
``get_experiment_history``, ``get_batch_summaries``); evaltrace's exact per-result records are
``iter_run_results``. The class is built on first access (module ``__getattr__``), so that
``import evaltrace`` never imports gllm-evals; importing it registers it with gllm-evals'
tracker factory.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ._gllm_evals_tracker import GllmEvalsTracker

__all__ = ["GLLM_EVALS_VERSION", "GllmEvalsTracker", "gllm_evals_tracker", "tracker_class"]

GLLM_EVALS_VERSION: Final = "0.1.41"
"""The gllm-evals-binary release this bridge is tested against (``make test-gllm``)."""

_INSTALL_HINT: Final = (
    "evaltrace.integrations.gllm_evals needs gllm-evals: "
    f"pip install 'gllm-evals-binary[deepeval]=={GLLM_EVALS_VERSION}'"
)


@cache
def tracker_class() -> type[GllmEvalsTracker]:
    """``GllmEvalsTracker``; raises ``ImportError`` with the install hint without gllm-evals."""
    try:
        import gllm_evals  # noqa: F401
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT, name=exc.name) from exc
    from ._gllm_evals_tracker import GllmEvalsTracker

    return GllmEvalsTracker


def gllm_evals_tracker(project_name: str, **kwargs: Any) -> GllmEvalsTracker:
    """``GllmEvalsTracker(project_name, **kwargs)``: kept for code written before the class."""
    return tracker_class()(project_name, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "GllmEvalsTracker":
        return tracker_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
