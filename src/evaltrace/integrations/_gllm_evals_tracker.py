"""``GllmEvalsTracker``: imports gllm-evals; ``gllm_evals.py`` loads this module on first use.

Written against gllm-evals-binary 0.1.41. What a gllm-evals user reads back
(``get_run_results``, ``get_experiment_history``, ``get_batch_summaries``) has the shapes,
values and types of gllm-evals' own ``JSONExperimentTracker``; evaltrace's records stay
available through ``iter_run_results`` and ``run_summaries``.
"""

from __future__ import annotations

import enum
import inspect
import json
import logging
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote, urlencode

from gllm_evals.experiment_tracker import experiment_tracker_factory as _factory
from gllm_evals.experiment_tracker.experiment_tracker import BaseExperimentTracker as GllmBase
from gllm_evals.experiment_tracker.json_experiment_tracker import (
    JSONExperimentTracker,
    RunEntry,
)
from gllm_evals.types import (
    ConversationalTestCase,
    EvaluatorOutput,
    ExperimentUris,
    LLMTestCase,
    MetricResult,
)
from opentelemetry.sdk.resources import SERVICE_NAME
from pydantic import ValidationError

from .._base import EvaluationOutput, MetricInput
from .._codec import dumps
from .._config import TraceLinks
from .._config import ui_url as _config_ui_url
from .._links import grafana_explore
from .._tracker import OpenTelemetryExperimentTracker
from .._validate import check_batch
from ..query import ResultRecord

__all__ = [
    "RUN_AGGREGATORS_KEY",
    "EvaltraceExperimentUris",
    "GllmEvalsTracker",
    "TrackerType",
    "register",
]

_log = logging.getLogger("evaltrace")

RUN_AGGREGATORS_KEY: Final = "gllm_evals.run_aggregators_result"
"""Context key under which each ``log_batch`` stores the run's cumulative aggregator summary
(in ``eval.context``, beside ``log_context`` values), so a new process reads it back."""

_NO_METADATA_KEY: Final = "gllm_evals.metadata_none"
"""Context key marking results logged with ``metadata=None`` (the store keeps ``{}``)."""

_SUITE_NAME: Final = "suite_name"
_HOUR_US: Final = 3600 * 1_000_000
_WEEK_US: Final = 7 * 24 * _HOUR_US

_CONSTRUCTOR_ARGS: Final = frozenset(
    {"ui_url", "leaderboard_score_key"}
    | set(inspect.signature(OpenTelemetryExperimentTracker.__init__).parameters)
) - {"self", "project_name", "kwargs"}
"""``evaluate(..., experiment_tracker=GllmEvalsTracker, store=...)`` passes its keyword
arguments to the constructor *and* to every log call: there they are not unknown."""


def _gllm_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` without what gllm-evals adds to every call (``suite_name``, which it also
    puts in ``metadata``, and the constructor's arguments)."""
    return {k: v for k, v in kwargs.items() if k != _SUITE_NAME and k not in _CONSTRUCTOR_ARGS}


class TrackerType(enum.Enum):
    """evaltrace's key in gllm-evals' tracker registry (its own enum holds only CSV and JSON)."""

    EVALTRACE = "evaltrace"


class EvaltraceExperimentUris(ExperimentUris):  # type: ignore[misc]
    """gllm-evals' ``ExperimentUris`` plus the run in Jaeger and Grafana, when configured."""

    jaeger_uri: str | None = None
    grafana_uri: str | None = None


class GllmEvalsTracker(OpenTelemetryExperimentTracker, GllmBase):  # type: ignore[misc]
    """An ``OpenTelemetryExperimentTracker`` that gllm-evals takes as one of its own trackers.

    ``evaluate(..., experiment_tracker=GllmEvalsTracker)`` (the class; ``evaluate``'s extra
    keyword arguments, e.g. ``store=``, reach the constructor) or an instance. Constructor
    arguments are ``OpenTelemetryExperimentTracker``'s, plus ``ui_url`` (else
    ``EVALTRACE_UI_URL``, else ``http://127.0.0.1:8000``) and ``leaderboard_score_key`` (as
    ``JSONExperimentTracker``'s).
    """

    supported_test_case_types = (LLMTestCase, ConversationalTestCase)

    # JSONExperimentTracker's own scoring, borrowed so that average_score and
    # scores_by_evaluator are computed by the very code a gllm-evals user compares against.
    _get_evaluator_score = JSONExperimentTracker._get_evaluator_score
    _iter_real_evaluator_scores = JSONExperimentTracker._iter_real_evaluator_scores
    _calculate_average_score = JSONExperimentTracker._calculate_average_score
    _calculate_scores_by_evaluator = JSONExperimentTracker._calculate_scores_by_evaluator

    def __init__(
        self,
        project_name: str,
        *,
        ui_url: str | None = None,
        leaderboard_score_key: str | list[str] = "score",
        **kwargs: Any,
    ) -> None:
        GllmBase.__init__(self, project_name)  # its logger, score keys and run summaries
        OpenTelemetryExperimentTracker.__init__(self, project_name, **kwargs)
        self.leaderboard_score_key = leaderboard_score_key
        self._ui_url = _config_ui_url(ui_url)
        self._trace_links = TraceLinks.from_env()

    def _validate_connection(self) -> bool:
        """The embedded store is local; a remote backend is checked on first read."""
        return True

    # -- logging: gllm-evals' keyword arguments understood --------------------------------

    def log(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        """``log``, taking gllm-evals' keyword arguments (``suite_name``)."""
        with self._marks(metadata, None):
            return super().log(
                evaluation_result, dataset_name, data, run_id, metadata, **_gllm_kwargs(kwargs)
            )

    async def alog(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        """``alog``, taking gllm-evals' keyword arguments (``suite_name``)."""
        with self._marks(metadata, None):
            return await super().alog(
                evaluation_result, dataset_name, data, run_id, metadata, **_gllm_kwargs(kwargs)
            )

    async def log_batch(
        self,
        evaluation_results: Any,
        dataset_name: str,
        data: Any,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        """``log_batch``, then the run aggregators over the run so far (as gllm-evals' trackers
        do); their cumulative summary is stored with the batch's results."""
        summary = None
        if self.run_aggregators:
            check_batch(evaluation_results, data)  # the aggregators see only a valid batch
            run_id = run_id if run_id is not None else self.current_run_id(dataset_name)
            self._store_batch_summaries(run_id, evaluation_results, data)
            summary = GllmBase.get_batch_summaries(self, run_id)
        with self._marks(metadata, summary):
            return await super().log_batch(
                evaluation_results, dataset_name, data, run_id, metadata, **_gllm_kwargs(kwargs)
            )

    def _marks(
        self, metadata: dict[str, Any] | None, summary: dict[str, Any] | None
    ) -> AbstractContextManager[None]:
        """What gllm-evals reads back but evaltrace's schema has no field for, stored in the
        results' context: the aggregators' summary, and that ``metadata`` was None."""
        marks: dict[str, Any] = {}
        if metadata is None:
            marks[_NO_METADATA_KEY] = True
        if summary is not None:
            try:
                dumps(summary, RUN_AGGREGATORS_KEY, None)
                marks[RUN_AGGREGATORS_KEY] = summary
            except (TypeError, ValueError) as exc:
                _log.warning("evaltrace: run aggregator summary not stored (not JSON): %s", exc)
        return self.context(**marks) if marks else nullcontext()

    def set_run_aggregators(self, aggregators: list[Any]) -> None:
        """Run these ``(evaluation_results, data) -> dict`` callables after each batch."""
        self.run_aggregators = list(aggregators)

    # -- reading back, in JSONExperimentTracker's shapes -----------------------------------

    def _records(self, run_id: str, **kwargs: Any) -> list[ResultRecord]:
        """evaltrace's own records of a run (complete, in logging order)."""
        rows = OpenTelemetryExperimentTracker.get_run_results(self, run_id, **kwargs)
        return rows  # type: ignore[return-value]

    def get_run_results(self, run_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """``[{run_id, individual_results: [RunEntry], total_results, average_score}]``, as
        ``JSONExperimentTracker``; evaltrace's per-result records: ``iter_run_results``."""
        entries = [_run_entry(r) for r in self._records(run_id, **kwargs)]
        return [
            {
                "run_id": run_id,
                "individual_results": entries,
                "total_results": len(entries),
                "average_score": self._calculate_average_score(entries),
            }
        ]

    def get_experiment_history(self, **kwargs: Any) -> list[dict[str, Any]]:
        """One row per run, most recently updated first, as ``JSONExperimentTracker``'s:
        ``run_id, dataset_names, average_score, scores_by_evaluator, total_results,
        run_aggregators_result, timestamp``.

        Takes evaltrace's filters (``dataset_name``, ``since``, ``until``, ``metadata``,
        ``limit``); reads every result of each run listed. evaltrace's summaries (score
        statistics per metric): ``run_summaries``.
        """
        rows: list[dict[str, Any]] = []
        for run in OpenTelemetryExperimentTracker.get_experiment_history(self, **kwargs):
            records = self._records(run["run_id"])
            entries = [_run_entry(r) for r in records]
            rows.append(
                {
                    "run_id": run["run_id"],
                    "dataset_names": list(dict.fromkeys(r["dataset_name"] for r in records)),
                    "average_score": self._calculate_average_score(entries),
                    "scores_by_evaluator": self._calculate_scores_by_evaluator(entries),
                    "total_results": len(entries),
                    "run_aggregators_result": self._summary(run["run_id"], records),
                    "timestamp": entries[-1].timestamp if entries else _local(run["ended_at"]),
                }
            )
        rows.sort(key=lambda row: str(row["timestamp"]), reverse=True)
        return rows

    def run_summaries(self, **kwargs: Any) -> list[dict[str, Any]]:
        """evaltrace's ``get_experiment_history``: per-run score statistics, newest first."""
        return OpenTelemetryExperimentTracker.get_experiment_history(self, **kwargs)

    def get_batch_summaries(self, run_id: str) -> dict[str, Any]:
        """The run aggregators' latest cumulative summary of ``run_id`` (``{}`` without one);
        read back from the store when this process did not log the run."""
        return self._summary(run_id, None)

    def _summary(self, run_id: str, records: list[ResultRecord] | None) -> dict[str, Any]:
        live: dict[str, Any] = GllmBase.get_batch_summaries(self, run_id) or {}
        if live:
            return live
        for record in reversed(self._records(run_id) if records is None else records):
            stored = record["context"].get(RUN_AGGREGATORS_KEY)
            if isinstance(stored, dict):
                return stored
        return {}

    # -- where to look --------------------------------------------------------------------

    def get_experiment_urls(
        self, run_id: str, dataset_name: str, **kwargs: Any
    ) -> EvaltraceExperimentUris:
        """The run in ``evaltrace ui`` (``run_uri``) and the project's runs
        (``leaderboard_uri``); with ``EVALTRACE_JAEGER_UI_URL`` / ``EVALTRACE_GRAFANA_URL``
        set, the run's traces there too (``jaeger_uri``, ``grafana_uri``)."""
        links = self._trace_links
        return EvaltraceExperimentUris(
            run_uri=f"{self._ui_url}/runs/{quote(run_id, safe='')}",
            leaderboard_uri=f"{self._ui_url}/?{urlencode({'project': self.project_name})}",
            jaeger_uri=_jaeger(links.jaeger_ui, self._service_name(), run_id)
            if links.jaeger_ui
            else None,
            grafana_uri=_grafana(links.grafana, run_id) if links.grafana else None,
        )

    def _service_name(self) -> str:
        resource = getattr(self._provider, "resource", None)
        name = resource.attributes.get(SERVICE_NAME) if resource is not None else None
        return str(name or "evaltrace")


def _jaeger(base: str, service: str, run_id: str) -> str:
    """A Jaeger UI search for the run's traces (one per log call or chunk), over the week
    before the link was made: absolute bounds (microseconds), as Jaeger UI writes its own."""
    now_us = time.time_ns() // 1000
    query = urlencode(
        {
            "service": service,
            "tags": json.dumps({"eval.run_id": run_id}),
            "start": now_us - _WEEK_US,
            "end": now_us + _HOUR_US,
            "lookback": "custom",
            "limit": 1500,
        }
    )
    return f"{base.rstrip('/')}/search?{query}"


def _grafana(base: str, run_id: str) -> str:
    """Grafana Explore with a TraceQL search for the run (as the UI's trace links)."""
    return grafana_explore(base, "{ span.eval.run_id = " + json.dumps(run_id) + " }", limit=1000)


# -- records back to gllm-evals' models -------------------------------------------------------


def _local(timestamp: str) -> str:
    """evaltrace's UTC ISO 8601 as ``JSONExperimentTracker`` writes times: naive local time."""
    return datetime.fromisoformat(timestamp).astimezone().replace(tzinfo=None).isoformat()


def _validated(model: Any, value: Any) -> Any:
    """``model.model_validate(value)``, or ``value`` as stored when it is not such a model."""
    if not isinstance(value, dict):
        return value
    try:
        return model.model_validate(value)
    except ValidationError:
        return value


def _evaluator_output(value: Any) -> Any:
    """An ``EvaluatorOutput`` whose metric entries are ``MetricResult`` again, as in a live
    ``evaluate()`` result (a reloaded ``JSONExperimentTracker`` has plain dicts there)."""
    output = _validated(EvaluatorOutput, value)
    extra = getattr(output, "__pydantic_extra__", None)
    if isinstance(extra, dict):
        for key, item in extra.items():
            if isinstance(item, dict) and "score" in item:
                extra[key] = _validated(MetricResult, item)
    return output


def _groups(result: Any) -> Iterable[Any]:
    return result if isinstance(result, list) else [result]


def _run_entry(record: ResultRecord) -> Any:
    """One stored result as the ``RunEntry`` gllm-evals' JSON tracker returns for it."""
    data = record["data"]
    case = ConversationalTestCase if isinstance(data, dict) and "turns" in data else LLMTestCase
    return RunEntry(
        data=_validated(case, data),
        evaluation_results=[
            {name: _evaluator_output(out) for name, out in group.items()}
            if isinstance(group, dict)
            else group
            for group in _groups(record["evaluation_result"])
        ],
        metadata=None if record["context"].get(_NO_METADATA_KEY) is True else record["metadata"],
        dataset_name=record["dataset_name"],
        timestamp=_local(record["timestamp"]),
    )


# -- gllm-evals' tracker factory ------------------------------------------------------------


def _create(project_name: str, **kwargs: Any) -> GllmEvalsTracker:
    return GllmEvalsTracker(project_name, **kwargs)


def register() -> None:
    """Make ``experiment_tracker=GllmEvalsTracker`` (the class) work in gllm-evals.

    gllm-evals 0.1.41 builds a tracker from a class in two steps: ``detect_experiment_tracker_type``
    maps the class to a registry key (it knows only its CSV and JSON classes, by identity), then
    ``create_experiment_tracker`` calls the factory registered under that key. The factory is
    registered through its public ``register_experiment_tracker_type``; detection has no hook,
    so it is wrapped (once) to answer ``TrackerType.EVALTRACE`` for this class and defer the
    rest to gllm-evals. Instances need neither: gllm-evals uses any ``BaseExperimentTracker``.
    """
    detect = _factory.detect_experiment_tracker_type
    if getattr(detect, "evaltrace_wrapped", False):
        return
    _factory.register_experiment_tracker_type(
        _factory.ExperimentTrackerConfig(
            type=TrackerType.EVALTRACE,
            required_params=(),
            factory_func=_create,
            description="evaltrace: results as OpenTelemetry spans in an embedded SQLite store",
        )
    )

    def detect_with_evaltrace(experiment_tracker: Any) -> Any:
        if experiment_tracker is GllmEvalsTracker:
            return TrackerType.EVALTRACE
        return detect(experiment_tracker)

    detect_with_evaltrace.evaltrace_wrapped = True  # type: ignore[attr-defined]
    detect_with_evaltrace.__doc__ = detect.__doc__
    _factory.detect_experiment_tracker_type = detect_with_evaltrace


register()
