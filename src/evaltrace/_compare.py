"""Comparing two runs: per metric, both means with their intervals, the paired difference
with its interval and p-value, and a verdict; per sample, what moved; and the CI gate.

Pure functions over score columns (``RunScores``: ``QueryAdapter.run_scores``, the one path
the CLI, the UI and the report take; ``compare_runs`` builds them from ``get_run_results``
dicts). Only *scores* are compared
(``_scores``: config leaves such as ``threshold`` are not metrics), each in its direction: a
node's ``higher_is_better`` flag, else lower-is-better for paths matching a
``lower_is_better`` glob, else higher. A metric whose values are all booleans is a pass rate.

**The sample is the unit.** Repeated trials of a sample (its id k times in a run: epochs) are
averaged per sample before pairing, and their spread within the sample is reported; samples
pair by id. Non-finite numbers are left out. The statistics and the verdict come from
``_family.assess`` (see ``docs/statistics.md``); the family is every score both runs carry.

The gate (``Comparison.gate``) fails on a *regressed* verdict and on what a mean alone hides:
a metric that vanished from B, samples of A missing from B, and runs that pair nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from itertools import compress, repeat
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ._by_sample import SLICE, Grouped, MetricSide, estimate, group, metric_side
from ._family import Correction, assess
from ._provenance_diff import DatasetDiff, diff_provenance
from ._stats import Estimate, PairedTest
from .schema._columns import BOOLEAN, INTEGER, RunScores, from_results
from .schema._scores import Direction, Numeric, matches_any

__all__ = [
    "Changes",
    "Comparison",
    "Gate",
    "MetricDelta",
    "SampleChange",
    "compare_runs",
    "compare_scores",
    "json_safe",
]

SHOWN_IDS = 5
"""How many sample ids a gate reason names before ``…``."""


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric in both runs: means with intervals, the paired test and its verdict."""

    metric: str
    kind: str
    """``"boolean"`` when every value is a boolean (a pass rate), else ``"number"``."""
    mean_a: float | None
    mean_b: float | None
    improved: int
    """Paired samples whose value got better."""
    regressed: int
    unchanged: int
    direction: Direction = "higher"
    count_a: int = 0
    """Results of A carrying this metric (trials, not samples)."""
    count_b: int = 0
    estimate_a: Estimate | None = None
    """Mean over A's samples (each sample's trials averaged) with its 95 % interval."""
    estimate_b: Estimate | None = None
    spread_a: float | None = None
    """Within-sample standard deviation over repeated trials (pooled); None for one trial."""
    spread_b: float | None = None
    test: PairedTest | None = None
    """The paired difference B - A over paired samples; None when nothing pairs."""
    p_adjusted: float | None = None
    mde: float | None = None
    p_equivalence: float | None = None
    verdict: str = "inconclusive"
    """``regressed``, ``improved``, ``unchanged``, ``inconclusive``; ``vanished`` (A only),
    ``new`` (B only)."""

    @property
    def delta(self) -> float | None:
        """``mean_b - mean_a``; None when the metric has no finite value in one of the runs."""
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a

    @property
    def gain(self) -> float | None:
        """``delta`` signed so that positive is better, whatever the direction."""
        delta = self.delta
        if delta is None:
            return None
        return delta if self.direction == "higher" else -delta

    def is_regression(self, threshold: float) -> bool:
        """True when the mean moved the wrong way by more than ``threshold`` (``--strict``)."""
        gain = self.gain
        return gain is not None and gain < -threshold


@dataclass(frozen=True, slots=True)
class SampleChange:
    """One metric of one paired sample that moved between the runs (trials averaged)."""

    sample_id: str
    metric: str
    a: Numeric
    b: Numeric
    delta: float
    """``b - a``, whatever the direction."""
    direction: Direction = "higher"
    trials_a: int = 1
    trials_b: int = 1

    @property
    def gain(self) -> float:
        """``delta`` signed so that positive is better."""
        return self.delta if self.direction == "higher" else -self.delta


@dataclass(frozen=True, slots=True)
class Gate:
    """The verdict of ``compare --fail-on-regression``: passed, or why not (one line each)."""

    passed: bool
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Everything ``evaltrace compare`` reports about RUN_B against RUN_A."""

    run_a: str
    run_b: str
    metrics: list[MetricDelta]
    changes: Sequence[SampleChange]
    """Every moved (sample, metric), most regressed first, most improved last (``Changes``:
    each made when read)."""
    samples: dict[str, int]
    """Paired samples: ``paired``, and how many ``improved`` (some metric better, none worse),
    ``regressed`` (some worse, none better), ``mixed`` (both) or stayed ``unchanged``."""
    only_in_a: list[str]
    only_in_b: list[str]
    vanished: list[str] = field(default_factory=list)
    """Metrics in A that no result of B carries (an evaluator dropped, or erroring on every
    row: an errored score is None, which is no score)."""
    new: list[str] = field(default_factory=list)
    alpha: float = 0.05
    min_effect: float = 0.0
    correction: Correction = "holm"
    cluster: str | None = None
    family: list[str] = field(default_factory=list)
    """The metrics tested together (scores both runs carry on some paired sample)."""
    trials: dict[str, int] = field(default_factory=dict)
    """Most trials of one sample in ``a`` and ``b`` (1: no repeats)."""
    dataset: DatasetDiff | None = None
    """Whether the two runs' datasets and evaluators differ (``_provenance_diff``)."""

    def regressions(self) -> list[MetricDelta]:
        """Metrics whose verdict is *regressed*."""
        return [m for m in self.metrics if m.verdict == "regressed"]

    def gate(
        self, allow_missing: int = 0, strict: bool = False, allow_dataset_change: bool = False
    ) -> Gate:
        """Fail on a *regressed* verdict (``strict``: on any mean drop beyond min_effect), a
        vanished metric, more than ``allow_missing`` samples of A missing from B, no paired
        sample, no score at all to compare, or (unless ``allow_dataset_change``) datasets or
        evaluator versions that differ."""
        reasons: list[str] = []
        if self.dataset is not None and not allow_dataset_change:
            reasons += [f"{line} (--allow-dataset-change)" for line in self.dataset.lines()]
        size_a = self.samples["paired"] + len(self.only_in_a)
        if not any(m.count_a for m in self.metrics):
            reasons.append(f"no scores to compare in {self.run_a} (check --metrics)")
        if self.samples["paired"] == 0:
            reasons.append(
                f"no sample pairs: none of the {size_a} samples of {self.run_a} is in "
                f"{self.run_b} (another dataset, or rows whose ids differ)"
            )
        elif len(self.only_in_a) > allow_missing:
            reasons.append(
                f"{len(self.only_in_a)} of {size_a} samples of {self.run_a} are missing from "
                f"{self.run_b} (--allow-missing {allow_missing}): {_ids(self.only_in_a)}"
            )
        by_name = {m.metric: m for m in self.metrics}
        for name in self.vanished:
            reasons.append(
                f"{name} vanished: in {by_name[name].count_a} results of {self.run_a}, "
                f"in none of {self.run_b}"
            )
        family = f"{self.correction} over {len(self.family)}"
        for m in self.metrics:
            if m.verdict == "regressed" and m.test is not None:
                reasons.append(
                    f"{m.metric} regressed: {_num(m.mean_a)} -> {_num(m.mean_b)}, paired "
                    f"{_signed(m.test.mean)} [{_signed(m.test.low)}, {_signed(m.test.high)}], "
                    f"p {_p(m.p_adjusted)} ({family}), {m.direction} is better"
                )
            elif strict and m.verdict != "vanished" and m.is_regression(self.min_effect):
                reasons.append(
                    f"{m.metric} dropped (--strict): {_num(m.mean_a)} -> {_num(m.mean_b)} "
                    f"({m.delta:+.3f}, {m.direction} is better, min effect {self.min_effect:g})"
                )
        return Gate(passed=not reasons, reasons=reasons)

    def to_dict(
        self, allow_missing: int = 0, strict: bool = False, allow_dataset_change: bool = False
    ) -> dict[str, Any]:
        """A JSON-ready form with every statistic; ``None`` (null), never NaN or Infinity."""
        gate = self.gate(allow_missing, strict, allow_dataset_change)
        out = {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "alpha": self.alpha,
            "min_effect": self.min_effect,
            "correction": self.correction,
            "cluster": self.cluster,
            "family": self.family,
            "trials": self.trials,
            "strict": strict,
            "allow_missing": allow_missing,
            "gate": {"passed": gate.passed, "reasons": gate.reasons},
            "dataset": self.dataset.to_dict() if self.dataset else None,
            "regressions": [m.metric for m in self.regressions()],
            "vanished": self.vanished,
            "new": self.new,
            "metrics": [{**asdict(m), "delta": m.delta} for m in self.metrics],
            "samples": {
                **self.samples,
                "missing": len(self.only_in_a),
                "only_in_a": self.only_in_a,
                "only_in_b": self.only_in_b,
                "changes": [asdict(c) for c in self.changes],
            },
        }
        return json_safe(out)  # type: ignore[no-any-return]


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±Infinity) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f", … (+{len(ids) - SHOWN_IDS})" if len(ids) > SHOWN_IDS else "")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


_MOVE_FIELDS: tuple[str, ...] = ("sample", "metric", "a", "b", "delta", "gain")
_MOVE_FIELDS += ("trials_a", "trials_b", "single_a", "single_b")


class Changes(Sequence[SampleChange]):
    """Every moved (sample, metric), most regressed first: arrays, each ``SampleChange`` made
    when read (a million moves are a few arrays, not a million objects)."""

    def __init__(
        self,
        ids: Sequence[str],
        metrics: Sequence[str],
        directions: Sequence[Direction],
        kinds: Sequence[tuple[str, str]],
        columns: dict[str, npt.NDArray[Any]],
        rename: Callable[[str], str] | None = None,
    ) -> None:
        self._ids, self._metrics, self._directions, self._kinds = ids, metrics, directions, kinds
        self._c = columns
        """``sample``, ``metric`` (indexes), ``a``, ``b``, ``delta``, ``gain``, ``trials_a``,
        ``trials_b``, ``single_a``, ``single_b``: one entry per move, in order."""
        self._rename = rename

    def renamed(self, rename: Callable[[str], str]) -> Changes:
        """The same moves, sample ids and metric names passed through ``rename`` (terminal
        safety) as each is read."""
        return Changes(self._ids, self._metrics, self._directions, self._kinds, self._c, rename)

    def __len__(self) -> int:
        return int(self._c["delta"].size)

    def subset(
        self, metric: str | None = None, worse: bool | None = None, reverse: bool = False
    ) -> Changes:
        """The moves of one metric, or one way (``worse``), in order (``reverse``: the
        other way round, e.g. the largest improvement first); no move is made meanwhile."""
        keep = np.ones(len(self), dtype=np.bool_)
        if metric is not None:
            keep &= self._c["metric"] == (
                self._metrics.index(metric) if metric in self._metrics else -1
            )
        if worse is not None:
            keep &= (self._c["gain"] < 0) == worse
        at = np.flatnonzero(keep)
        if reverse:
            at = at[::-1]
        return Changes(
            self._ids,
            self._metrics,
            self._directions,
            self._kinds,
            {name: column[at] for name, column in self._c.items()},
            self._rename,
        )

    def sample_ids(self) -> list[str]:
        """Each moved sample once, in the order of its first move."""
        samples = self._c["sample"]
        _, first = np.unique(samples, return_index=True)
        return [self._ids[int(i)] for i in samples[np.sort(first)].tolist()]

    def worse(self) -> int:
        """How many moves are regressions (they come first)."""
        return int(np.count_nonzero(self._c["gain"] < 0))

    def _one(self, i: int) -> SampleChange:
        c = self._c
        metric = int(c["metric"][i])
        kind_a, kind_b = self._kinds[metric]
        sample, name = self._ids[int(c["sample"][i])], self._metrics[metric]
        if self._rename is not None:
            sample, name = self._rename(sample), self._rename(name)
        return SampleChange(
            sample,
            name,
            _typed(float(c["a"][i]), kind_a, bool(c["single_a"][i])),
            _typed(float(c["b"][i]), kind_b, bool(c["single_b"][i])),
            float(c["delta"][i]),
            self._directions[metric],
            int(c["trials_a"][i]),
            int(c["trials_b"][i]),
        )

    @overload
    def __getitem__(self, i: int) -> SampleChange: ...
    @overload
    def __getitem__(self, i: slice) -> list[SampleChange]: ...
    def __getitem__(self, i: int | slice) -> SampleChange | list[SampleChange]:
        if isinstance(i, slice):
            return [self._one(k) for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._one(i)

    def __iter__(self) -> Iterator[SampleChange]:
        return (self._one(k) for k in range(len(self)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(x == y for x, y in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Changes({len(self)} moves)"


def _typed(value: float, kind: str, single: bool) -> Numeric:
    """A sample's value as shown: as logged (its bool or int) for one trial, else the mean."""
    if not single:
        return value
    if kind == BOOLEAN:
        return bool(value)
    if kind == INTEGER and math.isfinite(value):
        return int(value)
    return value


def compare_runs(
    results_a: Sequence[Mapping[str, Any]],
    results_b: Sequence[Mapping[str, Any]],
    *,
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    alpha: float = 0.05,
    min_effect: float = 0.0,
    correction: Correction = "holm",
    cluster: str | None = None,
    seed: int = 0,
    evaluators: tuple[Mapping[str, str] | None, Mapping[str, str] | None] = (None, None),
) -> Comparison:
    """Compare run B against run A (each a ``get_run_results`` list): ``compare_scores`` of
    their score columns.

    ``cluster``: a field of the rows' data (or metadata) whose samples share errors, e.g. a
    passage id; a result without it is a ``ValueError`` naming the field and the row.
    ``evaluators``: each run's evaluator versions (name -> version; None: unknown).
    """
    of = None if cluster is None else cluster_key(cluster)
    return compare_scores(
        from_results(results_a, of),
        from_results(results_b, of),
        lower_is_better=lower_is_better,
        metrics=metrics,
        alpha=alpha,
        min_effect=min_effect,
        correction=correction,
        cluster=cluster,
        seed=seed,
        dataset=diff_provenance(results_a, results_b, *evaluators),
    )


def cluster_key(cluster: str) -> Callable[[Mapping[str, Any], int], Any]:
    """Reads a result's cluster key: the field of its data, else of its metadata."""

    def key(result: Mapping[str, Any], row: int) -> Any:
        for part in ("data", "metadata"):
            holder = result.get(part)
            if isinstance(holder, Mapping) and cluster in holder:
                return str(holder[cluster])
        raise ValueError(
            f"--cluster {cluster}: result {row} of run {result.get('run_id')} "
            f"(sample {result.get('sample_id')}) has no field {cluster!r} in its data or "
            "metadata"
        )

    return key


def _pairs(ga: Grouped, gb: Grouped) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """For each sample of A, its index in B (-1: not in B); for each of B, whether A has it."""
    get, ids = gb.index.get, ga.ids
    in_b = np.empty(len(ids), dtype=np.int64)
    for at in range(0, len(ids), SLICE):  # dict.get(sid, -1) in C, a slice at a time
        part = ids[at : at + SLICE]
        in_b[at : at + len(part)] = np.fromiter(map(get, part, repeat(-1)), np.int64, len(part))
    in_a = np.zeros(len(gb.ids), dtype=np.bool_)
    in_a[in_b[in_b >= 0]] = True
    return in_b, in_a


def _in_order(index: npt.NDArray[np.int64]) -> bool:
    """``index`` is ``0, 1, 2, ...``."""
    return bool(np.array_equal(index, np.arange(index.size)))


def _at(values: npt.NDArray[Any], index: npt.NDArray[np.int64] | None) -> npt.NDArray[Any]:
    """``values`` at the paired samples (``index`` None: they are all of them, in order)."""
    return values if index is None else values[index]


def compare_scores(
    scores_a: RunScores,
    scores_b: RunScores,
    *,
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    alpha: float = 0.05,
    min_effect: float = 0.0,
    correction: Correction = "holm",
    cluster: str | None = None,
    seed: int = 0,
    dataset: DatasetDiff | None = None,
) -> Comparison:
    """Compare run B against run A from their score columns (``QueryAdapter.run_scores``).

    ``lower_is_better``: globs over dotted score paths whose scores are better low (a node's
    own ``higher_is_better`` flag wins). ``metrics``: globs; only matching scores are
    compared. ``alpha``, ``min_effect``, ``correction``: the verdict's rule (``_family``).
    ``cluster``: the name of the cluster field the columns' ``clusters`` were read from.
    ``dataset``: whether the runs' datasets and evaluators differ (``_provenance_diff``),
    None when not known.
    """
    if cluster is not None and (scores_a.clusters is None or scores_b.clusters is None):
        raise ValueError(f"--cluster {cluster}: the runs' cluster keys were not read")
    a, b = scores_a.select(metrics), scores_b.select(metrics)
    ga = group(a)
    if a.clusters is None and a.sample_ids == b.sample_ids:
        # the same samples in the same order (a dataset re-run): one grouping, no lookups
        gb = ga
        in_b, in_a = np.arange(len(ga.ids)), np.ones(len(ga.ids), dtype=np.bool_)
    else:
        gb = group(b)
        in_b, in_a = _pairs(ga, gb)
    if ga.clusters is None:  # paired: the ids' dicts (~100 MB a million) are done with
        ga.index.clear()
        gb.index.clear()
    pa = np.flatnonzero(in_b >= 0)
    pb = in_b[pa]
    paired = len(pa)
    # Both runs' samples the same, in the same order (a dataset re-run): no gather needed.
    at_a = None if paired == len(ga.ids) else pa
    at_b = None if at_a is None and paired == len(gb.ids) and _in_order(pb) else pb
    paths = sorted(a.columns.keys() | b.columns.keys())
    directions: dict[str, Direction] = {}
    for path in paths:
        declared = (a.columns.get(path) or b.columns[path]).direction
        if declared is None:
            declared = "lower" if matches_any(path, lower_is_better) else "higher"
        directions[path] = declared
    sides: dict[str, tuple[MetricSide, MetricSide]] = {
        p: (metric_side(a.columns.get(p), ga), metric_side(b.columns.get(p), gb)) for p in paths
    }
    both = {p: _at(sa.has, at_a) & _at(sb.has, at_b) for p, (sa, sb) in sides.items()}
    family = [p for p in paths if both[p].any()]
    clusters_a = ga.clusters
    clusters_b = None
    if gb.clusters is not None and clusters_a is not None:
        # a sample in both runs is A's cluster
        clusters_b = [
            clusters_a[ga.index[sid]] if sid in ga.index else key
            for sid, key in zip(gb.ids, gb.clusters, strict=True)
        ]
    matrix_a = np.empty((paired, len(family)))
    matrix_b = np.empty((paired, len(family)))
    for j, p in enumerate(family):
        matrix_a[:, j] = _at(sides[p][0].mean, at_a)
        matrix_b[:, j] = _at(sides[p][1].mean, at_b)
    matrix_a[~np.isfinite(matrix_a)] = math.nan  # an infinite mean moves, but is no statistic
    matrix_b[~np.isfinite(matrix_b)] = math.nan
    boolean = {p: sa.boolean and sb.boolean for p, (sa, sb) in sides.items()}
    tested = assess(
        matrix_a,
        matrix_b,
        boolean=[boolean[p] and sides[p][0].single and sides[p][1].single for p in family],
        higher=[directions[p] == "higher" for p in family],
        alpha=alpha,
        min_effect=min_effect,
        correction=correction,
        clusters=None if clusters_a is None else [clusters_a[i] for i in pa.tolist()],
        seed=seed,
    )
    assessed = dict(zip(family, tested, strict=True))
    deltas: list[MetricDelta] = []
    parts: list[dict[str, npt.NDArray[Any]]] = []
    better = np.zeros(paired, dtype=np.bool_)
    worse = np.zeros(paired, dtype=np.bool_)
    for k, path in enumerate(paths):
        sa, sb = sides[path]
        # over every paired sample: one without a mean in either run is NaN, so no move
        x, y = _at(sa.mean, at_a), _at(sb.mean, at_b)
        with np.errstate(invalid="ignore"):
            delta = np.where(x == y, 0.0, y - x)
            gain = delta if directions[path] == "higher" else -delta
            up, down = gain > 0, gain < 0
        valid = ~np.isnan(delta)
        better |= up
        worse |= down
        moved = up | down
        at = np.flatnonzero(moved)
        trials_a, trials_b = sa.carried[pa[at]], sb.carried[pb[at]]
        parts.append(
            {
                "sample": pa[at],
                "metric": np.full(at.size, k, dtype=np.int64),
                "a": x[moved],
                "b": y[moved],
                "delta": delta[moved],
                "gain": gain[moved],
                "trials_a": trials_a,
                "trials_b": trials_b,
                "single_a": trials_a == 1,
                "single_b": trials_b == 1,
            }
        )
        est_a = estimate(sa.mean, clusters_a, boolean[path])
        est_b = estimate(sb.mean, clusters_b, boolean[path])
        got = assessed.get(path)
        verdict: str = got.verdict if got else "inconclusive"
        if sa.count and not sb.count:
            verdict = "vanished"
        elif sb.count and not sa.count:
            verdict = "new"
        deltas.append(
            MetricDelta(
                metric=path,
                kind="boolean" if boolean[path] else "number",
                mean_a=est_a.mean if est_a else None,
                mean_b=est_b.mean if est_b else None,
                improved=int(up.sum()),
                regressed=int(down.sum()),
                unchanged=int((valid & (gain == 0)).sum()),
                direction=directions[path],
                count_a=sa.count,
                count_b=sb.count,
                estimate_a=est_a,
                estimate_b=est_b,
                spread_a=sa.spread,
                spread_b=sb.spread,
                test=got.test if got else None,
                p_adjusted=got.p_adjusted if got else None,
                mde=got.mde if got else None,
                p_equivalence=got.p_equivalence if got else None,
                verdict=verdict,
            )
        )
    joined = {
        name: np.concatenate([part[name] for part in parts]) if parts else np.empty(0)
        for name in _MOVE_FIELDS
    }
    order = np.argsort(joined["gain"], kind="stable")
    changes = Changes(
        ga.ids,
        paths,
        [directions[p] for p in paths],
        [(sides[p][0].kind, sides[p][1].kind) for p in paths],
        {name: column[order] for name, column in joined.items()},
    )
    moved_any = better | worse
    return Comparison(
        run_a=a.run_id,
        run_b=b.run_id,
        metrics=deltas,
        changes=changes,
        samples={
            "paired": paired,
            "improved": int((better & ~worse).sum()),
            "regressed": int((worse & ~better).sum()),
            "mixed": int((better & worse).sum()),
            "unchanged": paired - int(moved_any.sum()),
        },
        only_in_a=list(compress(ga.ids, (in_b < 0).tolist())),
        only_in_b=list(compress(gb.ids, (~in_a).tolist())),
        vanished=[m.metric for m in deltas if m.verdict == "vanished"],
        new=[m.metric for m in deltas if m.verdict == "new"],
        alpha=alpha,
        min_effect=min_effect,
        correction=correction,
        cluster=cluster,
        family=family,
        trials={
            "a": int(ga.trials.max()) if len(ga.ids) else 0,
            "b": int(gb.trials.max()) if len(gb.ids) else 0,
        },
        dataset=dataset,
    )
