"""``HistoryFilter``: the filters ``get_experiment_history`` takes, validated once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, TypeVar

from .._types import RunSummary
from .._validate import instant_arg, limit_arg, mapping_arg, text_arg, warn_unknown

__all__ = ["HistoryFilter"]

_KNOWN: Final = frozenset({"dataset_name", "since", "until", "metadata", "limit", "project_name"})
_Run = TypeVar("_Run", bound=Mapping[str, Any])


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which runs ``get_experiment_history`` returns: ``project_name`` None means every
    project; ``since``/``until`` bound the run's start; ``metadata`` entries must all match."""

    project_name: str | None = None
    dataset_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    metadata: Mapping[str, Any] | None = None
    limit: int | None = None

    @classmethod
    def from_kwargs(cls, project_name: str | None, kwargs: Mapping[str, Any]) -> HistoryFilter:
        """Validate ``get_experiment_history(**kwargs)``; unknown names are warned once."""
        warn_unknown("get_experiment_history()", kwargs, _KNOWN)
        return cls(
            project_name=text_arg("project_name", kwargs.get("project_name", project_name), True),
            dataset_name=text_arg("dataset_name", kwargs.get("dataset_name"), True),
            since=instant_arg("since", kwargs.get("since")),
            until=instant_arg("until", kwargs.get("until")),
            metadata=mapping_arg("metadata", kwargs.get("metadata")),
            limit=limit_arg("limit", kwargs.get("limit")),
        )

    def metadata_matches(self, metadata: Mapping[str, Any] | None) -> bool:
        """True when every filter entry is in ``metadata`` with an equal value."""
        if not self.metadata:
            return True
        meta = metadata or {}
        return all(key in meta and meta[key] == value for key, value in self.metadata.items())

    def matches(self, run: Mapping[str, Any]) -> bool:
        """True when a run summary passes every filter (started_at within since/until)."""
        if self.project_name is not None and run["project_name"] != self.project_name:
            return False
        if self.dataset_name is not None and run["dataset_name"] != self.dataset_name:
            return False
        started = datetime.fromisoformat(run["started_at"])
        if self.since is not None and started < self.since:
            return False
        if self.until is not None and started > self.until:
            return False
        return self.metadata_matches(run.get("metadata"))

    def apply(self, runs: Iterable[RunSummary]) -> list[RunSummary]:
        """Filter, order newest first, and cut to ``limit``."""
        kept = sorted(
            (r for r in runs if self.matches(r)), key=lambda r: r["started_at"], reverse=True
        )
        return kept[: self.limit] if self.limit else kept
