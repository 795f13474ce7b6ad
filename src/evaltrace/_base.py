"""``BaseExperimentTracker``: the interface of gllm-evals' experiment trackers, unchanged."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["BaseExperimentTracker", "EvaluationOutput", "MetricInput"]

EvaluationOutput = Mapping[str, Any]
"""One evaluation result: ``{metric: value}`` or ``{evaluator: {score, explanation, ...}}``."""
MetricInput = Mapping[str, Any]
"""One evaluated input row (question, answer, contexts, ...)."""


class BaseExperimentTracker(ABC):
    """Base class for all experiment trackers.

    This class defines the core interface for experiment tracking across different backends.
    It provides methods for logging individual results and batch results using the
    observability pattern.

    Attributes:
        project_name (str): The name of the project.
    """

    def __init__(self, project_name: str, **kwargs: Any) -> None:
        """Initialize the experiment tracker.

        Args:
            project_name (str): The name of the project.
            **kwargs (Any): Additional configuration parameters.
        """
        self.project_name = project_name

    @abstractmethod
    def log(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Log a single evaluation result (synchronous).

        Args:
            evaluation_result (EvaluationOutput): The evaluation result to log.
            dataset_name (str): Name of the dataset being evaluated.
            data (MetricInput): The input data that was evaluated.
            run_id (Optional[str]): ID of the experiment run. Can be auto-generated if None.
            metadata (Optional[Dict[str, Any]]): Additional metadata to log.
            **kwargs (Any): Additional configuration parameters.
        """

    @abstractmethod
    async def alog(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Log a single evaluation result (asynchronous).

        Args:
            evaluation_result (EvaluationOutput): The evaluation result to log.
            dataset_name (str): Name of the dataset being evaluated.
            data (MetricInput): The input data that was evaluated.
            run_id (Optional[str]): ID of the experiment run. Can be auto-generated if None.
            metadata (Optional[Dict[str, Any]]): Additional metadata to log.
            **kwargs (Any): Additional configuration parameters.
        """

    @abstractmethod
    async def log_batch(
        self,
        evaluation_results: Sequence[EvaluationOutput] | Sequence[Sequence[EvaluationOutput]],
        dataset_name: str,
        data: Sequence[MetricInput],
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Log a batch of evaluation results (asynchronous).

        Args:
            evaluation_results (List[EvaluationOutput]): The evaluation results to log.
            dataset_name (str): Name of the dataset being evaluated.
            data (List[MetricInput]): List of input data that was evaluated.
            run_id (Optional[str]): ID of the experiment run. Can be auto-generated if None.
            metadata (Optional[Dict[str, Any]]): Additional metadata to log.
            **kwargs (Any): Additional configuration parameters.
        """

    async def log_context(self, **kwargs: Any) -> None:  # noqa: B027 - optional hook
        """Log a context.

        Args:
            **kwargs (Any): Additional configuration parameters.
        """

    def get_experiment_history(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Get all experiment runs.

        Args:
            **kwargs (Any): Additional configuration parameters.

        Returns:
            List[Dict[str, Any]]: List of experiment runs.
        """
        raise NotImplementedError(f"{type(self).__name__} does not read history back")

    def get_run_results(self, run_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Get detailed results for a specific run.

        Args:
            run_id (str): ID of the experiment run.
            **kwargs (Any): Additional configuration parameters.

        Returns:
            list[dict[str, Any]]: Detailed run results.
        """
        raise NotImplementedError(f"{type(self).__name__} does not read results back")
