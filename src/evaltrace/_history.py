"""Run summaries: what ``get_experiment_history`` returns, computed alike for every backend."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ddsketch.mapping import LogarithmicMapping

from ._codec import loads
from ._scores import numeric_values
from ._types import MetricStats, ResultRecord, RunSummary
from .schema import SummaryRecord, decode_object, iso

__all__ = [
    "MetricAggregate",
    "aggregate",
    "aggregate_lists",
    "as_float",
    "encode_aggregates",
    "finite_mean",
    "history_row",
    "merge_encoded",
    "merge_summaries",
    "metrics_of",
    "score_list",
    "stats_of",
    "summarize_run",
    "summarize_runs",
]


def as_float(value: float | int) -> float | None:
    """``float(value)``; None for an int past the double range (10**400)."""
    try:
        return float(value)
    except OverflowError:  # an int past the double range: not a statistic
        return None


def finite_mean(finite: list[float]) -> float:
    """The exactly rounded sum over the count; summed pre-divided when the sum itself would
    pass the double range (two values of 1e308)."""
    try:
        return math.fsum(finite) / len(finite)
    except OverflowError:
        return math.fsum(v / len(finite) for v in finite)


_ACCURACY: Final = 0.01
"""Relative accuracy of the p50/p90 of history: DDSketch's logarithmic mapping."""
_MAPPING: Final = LogarithmicMapping(_ACCURACY)
_QUANTILES: Final = (("p50", 0.5), ("p90", 0.9))


def _bucket(value: float) -> int:
    """A signed sketch key: positive values above 0, negative ones below, zero (and values too
    small to index) at 0, so that buckets of one metric sort by value."""
    if value > _MAPPING.min_possible:
        return _MAPPING.key(value) + _OFFSET
    if value < -_MAPPING.min_possible:
        return -(_MAPPING.key(-value) + _OFFSET)
    return 0


def _bucket_value(key: int) -> float:
    """A bucket's representative value. The topmost buckets (values near the double range's
    end, 1.7e308) overflow in the mapping's power: infinite here, which ``_quantile`` clamps to
    the run's own max (or min), the exact value."""
    if key == 0:
        return 0.0
    try:
        magnitude = float(_MAPPING.value(abs(key) - _OFFSET))
    except OverflowError:
        magnitude = math.inf
    return magnitude if key > 0 else -magnitude


_OFFSET: Final = 1 - _MAPPING.key(_MAPPING.min_possible)
"""Shifts every positive key above 0 (the smallest indexable value's key becomes 1)."""


@dataclass
class MetricAggregate:
    """One metric of a run as it can be merged across calls and writer processes: exact count,
    sum, min, max and pass counts, and a DDSketch of the finite values for p50/p90.

    The p50/p90 of history are the sketch's quantiles: the sorted finite values' element at
    index ⌊q·(n−1)⌋ (numpy's ``method="lower"``), within 1 % relative; everything else is
    exact. The same
    aggregate serves every backend, so a run's history reads the same from the store (which
    keeps aggregates written at commit time) and from Jaeger or Tempo (computed from results).
    """

    count: int = 0
    mean: float = 0.0
    """A running mean, not a sum: values near the double range (1e308) cannot overflow it."""
    low: float = math.inf
    high: float = -math.inf
    non_finite: int = 0
    flags: int = 0
    passes: int = 0
    buckets: Counter[int] = field(default_factory=Counter)

    def add(self, value: float | int | bool) -> None:
        """Take one more value (a boolean counts as a pass or a fail)."""
        self.extend((value,))

    def extend(self, values: Iterable[float | int | bool]) -> None:
        """Take many values at once (what folding does): the same statistics as ``add`` of
        each, the new values' mean exactly rounded (``fsum``) before it is merged in."""
        finite: list[float] = []
        for value in values:
            if value is True or value is False:
                self.flags += 1
                self.passes += value
                continue
            number = value if type(value) is float else as_float(value)
            if number is None:
                continue
            if number - number:  # nan for NaN and the infinities
                self.non_finite += 1
            else:
                finite.append(number)
        if finite:
            # Scores repeat (a judge's 1-5, 0.0 and 1.0): each distinct value is mapped once.
            buckets: Counter[int] = Counter()
            for number, times in Counter(finite).items():
                buckets[_bucket(number)] += times
            self.merge(
                MetricAggregate(
                    len(finite), finite_mean(finite), min(finite), max(finite), buckets=buckets
                )
            )

    def merge(self, other: MetricAggregate) -> None:
        """Fold another aggregate of the same metric into this one."""
        count = self.count + other.count
        if count:
            self.mean = self.mean * (self.count / count) + other.mean * (other.count / count)
        self.count = count
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)
        self.non_finite += other.non_finite
        self.flags += other.flags
        self.passes += other.passes
        self.buckets.update(other.buckets)

    def _quantile(self, q: float) -> float:
        rank = q * (self.count - 1)
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen > rank:
                return min(max(_bucket_value(key), self.low), self.high)
        return self.high

    def stats(self) -> MetricStats:
        """The metric as history shows it."""
        stats: MetricStats = {}
        if self.count or self.non_finite:
            stats["count"] = self.count
            if self.count:
                stats["mean"] = self.mean
                stats["min"] = self.low
                stats["max"] = self.high
                for name, q in _QUANTILES:
                    stats[name] = self._quantile(q)  # type: ignore[literal-required]
            if self.non_finite:
                stats["non_finite"] = self.non_finite
        if self.flags:
            stats["pass_count"] = self.passes
            stats["pass_rate"] = self.passes / self.flags
            stats.setdefault("count", self.flags)
        return stats


def encode_aggregates(aggregates: Mapping[str, MetricAggregate]) -> list[list[Any]]:
    """Aggregates as plain JSON-able lists (what the store keeps per call and per run)."""
    return [
        [
            path,
            a.count,
            a.mean,
            a.low if a.count else None,
            a.high if a.count else None,
            a.non_finite,
            a.flags,
            a.passes,
            list(a.buckets.items()),
        ]
        for path, a in aggregates.items()
    ]


def merge_encoded(into: dict[str, MetricAggregate], encoded: Iterable[list[Any]]) -> None:
    """Fold ``encode_aggregates`` output into ``into``."""
    for path, count, mean, low, high, non_finite, flags, passes, buckets in encoded:
        other = MetricAggregate(
            count,
            mean,
            math.inf if low is None else low,
            -math.inf if high is None else high,
            non_finite,
            flags,
            passes,
            Counter({int(k): n for k, n in buckets}),
        )
        known = into.get(path)
        if known is None:
            into[path] = other
        else:
            known.merge(other)


def score_list(evaluation_result: Any) -> list[list[Any]]:
    """A result's numeric and boolean scores as ``[[path, value], ...]``: what the store keeps
    beside each result, so that folding and history never walk the result again."""
    return [[path, value] for path, value in numeric_values(evaluation_result).items()]


def aggregate_lists(lists: Iterable[list[list[Any]]]) -> dict[str, MetricAggregate]:
    """Aggregates of some results' ``score_list``s."""
    values: dict[str, list[Any]] = {}
    for scores in lists:
        for path, value in scores:
            known = values.get(path)
            if known is None:
                values[path] = [value]
            else:
                known.append(value)
    out: dict[str, MetricAggregate] = {}
    for path, taken in values.items():
        out[path] = agg = MetricAggregate()
        agg.extend(taken)
    return out


def aggregate(evaluation_results: Iterable[Any]) -> dict[str, MetricAggregate]:
    """Aggregates per numeric or boolean *score* path of some results."""
    return aggregate_lists(score_list(result) for result in evaluation_results)


def metrics_of(evaluation_results: Iterable[Any]) -> dict[str, MetricStats]:
    """``metrics`` of a history row: statistics per numeric or boolean *score* path.

    Config leaves beside the scores (``threshold``, ``strict_mode``, token counts) are left
    out: their means would crowd out the scores and say nothing about quality. A result that
    holds no score (``None``: undecodable) adds nothing; nothing here raises on odd data.
    """
    return stats_of(aggregate(evaluation_results))


def stats_of(aggregates: dict[str, MetricAggregate]) -> dict[str, MetricStats]:
    """History's ``metrics`` from merged aggregates, by path."""
    return {path: agg.stats() for path, agg in sorted(aggregates.items())}


def history_row(
    *,
    run_id: str,
    project_name: str,
    dataset_name: str,
    started_at: str,
    ended_at: str,
    num_results: int,
    metadata: Any,
    metrics: dict[str, MetricStats],
) -> RunSummary:
    """One row of ``get_experiment_history``: its keys, in their order, spelled only here."""
    return {
        "run_id": run_id,
        "project_name": project_name,
        "dataset_name": dataset_name,
        "started_at": started_at,
        "ended_at": ended_at,
        "num_results": num_results,
        "metadata": metadata,
        "metrics": metrics,
    }


def summarize_run(results: list[ResultRecord]) -> RunSummary:
    """One history row from a run's decoded results (in logging order)."""
    first = results[0]
    stamps = [r["timestamp"] for r in results]
    return history_row(
        run_id=first["run_id"],
        project_name=first["project_name"],
        dataset_name=first["dataset_name"],
        started_at=min(stamps),
        ended_at=max(stamps),
        num_results=len(results),
        metadata=first["metadata"],
        metrics=metrics_of(r["evaluation_result"] for r in results),
    )


def summarize_runs(results: Iterable[ResultRecord]) -> list[RunSummary]:
    """History rows for results of any number of runs."""
    runs: dict[str, list[ResultRecord]] = {}
    for result in results:
        runs.setdefault(result["run_id"], []).append(result)
    return [summarize_run(rows) for rows in runs.values()]


def merge_summaries(records: Iterable[SummaryRecord]) -> list[RunSummary]:
    """History rows from run-summary spans (of any runs, re-sent or not, in any order).

    A summary is cumulative: per (run, writer) only the highest ``seq`` counts, so a summary
    delivered twice, or an older one arriving late, changes nothing. Writers hold disjoint
    results (every tracker on one store shares the store's writer id), so a run's row adds
    its writers up: counts and pass counts exactly, min/max/sketch buckets exactly, the mean
    as a count-weighted mean. Writers merge in a fixed order (earliest start, then writer id),
    so every reader computes the same floats; the metadata is the earliest writer's.
    """
    latest: dict[tuple[str, str], SummaryRecord] = {}
    for record in records:
        key = (record.run_id, record.writer)
        known = latest.get(key)
        if known is None or record.seq > known.seq:
            latest[key] = record
    runs: dict[str, list[SummaryRecord]] = {}
    for record in latest.values():
        runs.setdefault(record.run_id, []).append(record)
    rows: list[RunSummary] = []
    for writers in runs.values():
        writers.sort(key=lambda r: (r.started_ns, r.writer))
        merged: dict[str, MetricAggregate] = {}
        for record in writers:
            merge_encoded(merged, loads(record.aggregates_json))
        first = writers[0]
        rows.append(
            history_row(
                run_id=first.run_id,
                project_name=first.project_name,
                dataset_name=first.dataset_name,
                started_at=iso(first.started_ns),
                ended_at=iso(max(r.ended_ns for r in writers)),
                num_results=sum(r.num_results for r in writers),
                metadata=decode_object(first.metadata_json),
                metrics=stats_of(merged),
            )
        )
    return rows
