"""The ``/compare`` view: run B against run A, per metric (means with 95 % intervals, the
paired difference, the verdict) and per sample, with direction.

``comparison`` is the one place that calls ``evaltrace._compare.compare_scores`` (on the runs'
score columns, the path the CLI takes too) and reads its result; everything else here works
on the neutral ``CompareModel`` it returns. Per-sample moves stay arrays until a page shows
them (``Moves``), and a sample's label is read only when shown (``Labels``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, overload

from .._compare import Changes, SampleChange, compare_scores
from .._provenance_diff import DatasetDiff, diff_fingerprints, diff_provenance
from ..query import RunScores
from ..schema._columns import from_results
from ._links import href, run_path
from ._metrics import fmt, fmt_delta, fmt_rate, is_config, order_metrics, short_name
from ._sample import ab_path, sample_label

__all__ = ["CompareModel", "CompareQuery", "compare_view", "comparison"]

CORRECTIONS = {"holm": "Holm", "maxt": "max-T permutation"}
"""How the page names the family-wise correction."""
SHOWN = 25
"""Per-sample regressions and improvements listed (the largest first), and unpaired ids."""


@dataclass(frozen=True, slots=True)
class MetricRow:
    """One metric in both runs, its paired difference and the library's verdict."""

    metric: str
    boolean: bool
    higher_is_better: bool
    mean_a: float | None
    mean_b: float | None
    improved: int
    regressed: int
    unchanged: int
    status: str
    """The verdict: ``improved``, ``regressed``, ``unchanged``, ``inconclusive``,
    ``vanished`` (only in A), ``new`` (only in B)."""
    interval_a: tuple[float | None, float | None] = (None, None)
    """95 % interval of A's mean (Wilson for a pass rate)."""
    interval_b: tuple[float | None, float | None] = (None, None)
    difference: float | None = None
    """The mean paired difference B - A, with its 95 % interval."""
    interval: tuple[float | None, float | None] = (None, None)
    p_adjusted: float | None = None
    mde: float | None = None
    method: str = ""

    @property
    def delta(self) -> float | None:
        """``mean_b - mean_a``, when both are known."""
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a


@dataclass(frozen=True, slots=True)
class SampleMove:
    """One metric of one paired sample that got better or worse."""

    sample_id: str
    metric: str
    a: float | bool
    b: float | bool
    delta: float
    better: bool


class Moves(Sequence[SampleMove]):
    """A comparison's per-sample moves, largest regression first, each made when read (a
    million moves stay a few arrays: ``_compare.Changes``)."""

    def __init__(self, changes: Sequence[SampleChange]) -> None:
        self._changes = changes

    def __len__(self) -> int:
        return len(self._changes)

    @overload
    def __getitem__(self, i: int) -> SampleMove: ...
    @overload
    def __getitem__(self, i: slice) -> list[SampleMove]: ...
    def __getitem__(self, i: int | slice) -> SampleMove | list[SampleMove]:
        if isinstance(i, slice):
            return [_move(ch) for ch in self._changes[i]]
        return _move(self._changes[i])

    def subset(
        self, metric: str | None = None, better: bool | None = None, reverse: bool = False
    ) -> Moves:
        """The moves of one metric, or one way, in order (``reverse``: largest gain first)."""
        changes = self._changes
        worse = None if better is None else not better
        if isinstance(changes, Changes):
            return Moves(changes.subset(metric, worse, reverse))
        kept = [
            ch
            for ch in changes
            if (metric is None or ch.metric == metric) and (worse is None or (ch.gain < 0) == worse)
        ]
        return Moves(kept[::-1] if reverse else kept)

    def sample_ids(self) -> list[str]:
        """Each moved sample once, in the order of its first move."""
        if isinstance(self._changes, Changes):
            return self._changes.sample_ids()
        return list(dict.fromkeys(ch.sample_id for ch in self._changes))


def _move(ch: SampleChange) -> SampleMove:
    return SampleMove(ch.sample_id, ch.metric, ch.a, ch.b, ch.delta, ch.gain > 0)


class Labels(Mapping[str, str]):
    """Each sample's readable label (its question), read when a page shows the sample:
    ``read(run_id, sample_ids)`` gives its results (A's, else B's)."""

    def __init__(self, runs: Sequence[str], read: Reader) -> None:
        self._runs, self._read = runs, read
        self._known: dict[str, str] = {}

    def read(self, sample_ids: Sequence[str]) -> None:
        """Read the labels of these samples at once (one read per run, not per sample)."""
        missing = [sid for sid in dict.fromkeys(sample_ids) if sid not in self._known]
        for run in self._runs:
            if not missing:
                return
            for result in self._read(run, missing):
                sid = str(result["sample_id"])
                if sid not in self._known:
                    self._known[sid] = sample_label(result.get("data"))
            missing = [sid for sid in missing if sid not in self._known]
        self._known.update(dict.fromkeys(missing, ""))

    def __getitem__(self, sample_id: str) -> str:
        if sample_id not in self._known:
            label = ""
            for run in self._runs:
                found = self._read(run, [sample_id])
                if found:
                    label = sample_label(found[0].get("data"))
                    break
            self._known[sample_id] = label
        return self._known[sample_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._known)

    def __len__(self) -> int:
        return len(self._known)


Reader = Callable[[str, Sequence[str]], Sequence[Mapping[str, Any]]]
"""Reads the results of some samples of a run (``Source.sample_results``)."""


UNCHECKED_DATASET: Final = (
    "dataset: not checked on this page for runs of {n:,} results or more (it reads every "
    "result's fingerprint, ~4 s a million): evaltrace compare checks it"
)
"""What the compare page and the report say instead of the dataset check of a large run."""


def dataset_check(
    fingerprints: Callable[[str], Any],
    evaluators: Callable[[str], Any],
    runs: tuple[str, str],
    sizes: tuple[int, int],
    large: int,
) -> tuple[DatasetDiff | None, str]:
    """The dataset difference of two runs (``diff_fingerprints``), or, when either run holds
    ``large`` results or more, None and the note that says it was not checked."""
    if max(sizes) >= large:
        return None, UNCHECKED_DATASET.format(n=large)
    a, b = runs
    return diff_fingerprints(fingerprints(a), fingerprints(b), evaluators(a), evaluators(b)), ""


@dataclass(frozen=True, slots=True)
class CompareModel:
    """What the page shows, whatever ``compare_runs`` looks like."""

    run_a: str
    run_b: str
    metrics: list[MetricRow]
    moves: Moves
    """Every moved (sample, metric), largest regression first."""
    samples: dict[str, int]
    only_in_a: list[str]
    only_in_b: list[str]
    family: str = ""
    """What the verdicts were corrected for, e.g. ``4 scores, Holm, alpha 0.05``."""
    labels: Mapping[str, str] = field(default_factory=dict)
    """Each moved sample's readable label (its question), by sample id."""
    dataset: str = ""
    """Whether the runs' datasets and evaluators differ, as compare says it."""
    dataset_differs: bool = False


def _ends(estimate: Any) -> tuple[float | None, float | None]:
    return (None, None) if estimate is None else (estimate.low, estimate.high)


def _results_reader(*runs: Sequence[Mapping[str, Any]]) -> Reader:
    """``Reader`` over result lists in memory."""

    def read(run_id: str, sample_ids: Sequence[str]) -> list[Mapping[str, Any]]:
        wanted = set(sample_ids)
        return [
            r
            for results in runs
            for r in results
            if str(r["run_id"]) == run_id and str(r["sample_id"]) in wanted
        ]

    return read


def comparison(
    a: RunScores | Sequence[Mapping[str, Any]],
    b: RunScores | Sequence[Mapping[str, Any]],
    lower: Sequence[str] = (),
    threshold: float = 0.0,
    read: Reader | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    dataset: DatasetDiff | None = None,
    unchecked: str = "",
) -> CompareModel:
    """The page's view of the library's comparison (``_compare.compare_scores``: scores
    only, each in its direction, its verdict), ``threshold`` being the verdict's min effect,
    ``alpha`` and ``correction`` its significance rule, as the CLI's options are.
    ``a``, ``b``: the runs' score columns (``Source.scores``), or their results; ``read``
    gives the results of the samples a page labels (default: from ``a`` and ``b``);
    ``dataset``: whether the runs' datasets and evaluators differ (default: from the results
    when given, else unknown)."""
    if not isinstance(a, RunScores) or not isinstance(b, RunScores):
        results = (a, b)
        read = read or _results_reader(*results)  # type: ignore[arg-type]
        if dataset is None and not isinstance(a, RunScores) and not isinstance(b, RunScores):
            dataset = diff_provenance(a, b)
        a = a if isinstance(a, RunScores) else from_results(a)
        b = b if isinstance(b, RunScores) else from_results(b)
    c = compare_scores(
        a,
        b,
        lower_is_better=tuple(lower),
        min_effect=threshold,
        alpha=alpha,
        correction="maxt" if correction == "maxt" else "holm",
        dataset=dataset,
    )
    rows = []
    for m in c.metrics:
        test = m.test
        rows.append(
            MetricRow(
                m.metric,
                m.kind == "boolean",
                m.direction == "higher",
                m.mean_a,
                m.mean_b,
                m.improved,
                m.regressed,
                m.unchanged,
                m.verdict,
                _ends(m.estimate_a),
                _ends(m.estimate_b),
                test.mean if test else None,
                (test.low, test.high) if test else (None, None),
                m.p_adjusted,
                m.mde,
                test.method if test else "",
            )
        )
    family = f"{len(c.family)} scores, {CORRECTIONS[c.correction]}, alpha {c.alpha:g}"
    if threshold:
        family += f", min effect {threshold:g}"
    labels: Mapping[str, str] = Labels((c.run_a, c.run_b), read) if read is not None else {}
    return CompareModel(
        c.run_a,
        c.run_b,
        rows,
        Moves(c.changes),
        dict(c.samples),
        c.only_in_a,
        c.only_in_b,
        family,
        labels,
        c.dataset.summary() if c.dataset else unchecked,
        bool(c.dataset and c.dataset.differs),
    )


@dataclass(frozen=True, slots=True)
class CompareQuery:
    """The compare page's state, as it appears in its URL."""

    a: str = ""
    b: str = ""
    lower: tuple[str, ...] = field(default=())
    """Globs of metrics where lower is better (``lower=*.latency*``), repeatable."""
    threshold: float = 0.0
    metric: str = ""
    """Only list per-sample moves of this metric."""
    rpage: int = 1
    """Page of the per-sample regressions (``SHOWN`` a page)."""
    ipage: int = 1
    """Page of the per-sample improvements."""
    alpha: float = 0.05
    """The verdicts' significance level (``alpha=``, as ``compare --alpha``)."""
    correction: str = "holm"
    """The family-wise correction (``correction=holm|maxt``, as ``compare --correction``)."""
    problem: str = ""
    """Why ``alpha=`` or ``correction=`` cannot be used, naming the parameter; '' when fine."""

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> CompareQuery:
        """From parsed query parameters; a bad threshold reads as 0."""

        def one(name: str) -> str:
            return (params.get(name) or [""])[0].strip()

        try:
            threshold = max(0.0, float(one("threshold") or 0))
        except ValueError:
            threshold = 0.0
        lower = tuple(
            p.strip() for value in params.get("lower", []) for p in value.split(",") if p.strip()
        )

        def page(name: str) -> int:
            raw = one(name)
            return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 9 else 1

        problems = []
        alpha = 0.05
        if one("alpha"):
            try:
                alpha = float(one("alpha"))
            except ValueError:
                alpha = math.nan
            if not 0 < alpha < 1:
                problems.append(f"alpha={one('alpha')!r}: expected a number between 0 and 1")
                alpha = 0.05
        correction = one("correction").lower() or "holm"
        if correction not in CORRECTIONS:
            problems.append(f"correction={one('correction')!r}: expected holm or maxt")
            correction = "holm"
        return cls(
            one("a"),
            one("b"),
            lower,
            threshold if math.isfinite(threshold) else 0.0,
            one("metric"),
            max(1, page("rpage")),
            max(1, page("ipage")),
            alpha,
            correction,
            "; ".join(problems),
        )

    def params(self) -> dict[str, Any]:
        """Back to query parameters."""
        return {
            "a": self.a,
            "b": self.b,
            "lower": list(self.lower),
            "threshold": f"{self.threshold:g}" if self.threshold else None,
            "metric": self.metric,
            "rpage": self.rpage if self.rpage > 1 else None,
            "ipage": self.ipage if self.ipage > 1 else None,
            "alpha": f"{self.alpha:g}" if self.alpha != 0.05 else None,
            "correction": self.correction if self.correction != "holm" else None,
        }


def _delta(row: MetricRow) -> str:
    """A mean's change; a pass rate's in percentage points."""
    if row.boolean and row.delta is not None:
        return f"{100 * row.delta:+.1f} pt".replace("-", "−")
    return fmt_delta(row.delta)


def _mean(row: MetricRow, value: float | None) -> str:
    return fmt_rate(value) if row.boolean else fmt(value)


def _pm(row: MetricRow, value: float | None, ends: tuple[float | None, float | None]) -> str:
    """A mean with half its 95 % interval: ``0.704 ± 0.051``, ``79.3 ± 4.6 %``."""
    low, high = ends
    if value is None or low is None or high is None:
        return _mean(row, value)
    half = (high - low) / 2
    if row.boolean:
        return f"{100 * value:.1f} ± {100 * half:.1f} %"
    return f"{fmt(value)} ± {fmt(half)}"


def _difference(row: MetricRow) -> str:
    """The paired difference with its 95 % interval (percentage points for a pass rate)."""
    if row.difference is None:
        return "–"
    unit = " pt" if row.boolean else ""

    def signed(v: float | None) -> str:
        if v is None:
            return "–"
        return f"{100 * v:+.1f}".replace("-", "−") if row.boolean else fmt_delta(v)

    low, high = row.interval
    bounds = f" [{signed(low)}, {signed(high)}]" if low is not None else ""
    return signed(row.difference) + unit + bounds


def _p(value: float | None) -> str:
    return "–" if value is None else "<0.001" if value < 0.001 else f"{value:.3f}"


def _page(
    moves: Moves,
    page: int,
    name: str,
    state: Mapping[str, Any],
    labels: Mapping[str, str],
    served: bool,
) -> dict[str, Any]:
    """One server-side page (``SHOWN`` rows) of the moves one way, with its pager links."""
    count = len(moves)
    pages = max(1, math.ceil(count / SHOWN))
    page = min(page, pages)
    rows = _moves(moves, state if served else None, labels, (page - 1) * SHOWN)
    return {
        "rows": rows,
        "count": count,
        "first": (page - 1) * SHOWN + 1 if rows else 0,
        "last": (page - 1) * SHOWN + len(rows),
        "page": page,
        "pages": pages,
        "prev": href("/compare", state, **{name: page - 1 if page > 2 else None})
        if served and page > 1
        else None,
        "next": href("/compare", state, **{name: page + 1}) if served and page < pages else None,
    }


def _moves(
    moves: Moves,
    state: Mapping[str, Any] | None,
    labels: Mapping[str, str],
    start: int = 0,
) -> list[dict[str, Any]]:
    """``SHOWN`` moves (one way) from ``start``, largest first; each links to the sample's
    A/B page when served."""
    chosen = moves[start : start + SHOWN]
    if isinstance(labels, Labels):
        labels.read([mv.sample_id for mv in chosen])
    return [
        {
            "sample_id": mv.sample_id,
            "label": labels.get(mv.sample_id, ""),
            "href": ab_path(state, mv.sample_id) if state is not None else None,
            "metric": mv.metric,
            "a": fmt(mv.a),
            "b": fmt(mv.b),
            "delta": fmt_delta(mv.delta),
        }
        for mv in chosen
    ]


def compare_view(model: CompareModel, query: CompareQuery, *, links: bool = True) -> dict[str, Any]:
    """Metric deltas (scores first), sample counts, regressed and improved samples, unpaired
    samples, vanished metrics and an A-vs-B chart of the score means."""
    order = {m: i for i, m in enumerate(order_metrics(r.metric for r in model.metrics))}
    rows = sorted(model.metrics, key=lambda r: order[r.metric])
    moves = model.moves.subset(query.metric or None)
    worse, better = moves.subset(better=False), moves.subset(better=True, reverse=True)
    scores = [r for r in rows if not is_config(r.metric) and r.status not in ("vanished", "new")]
    state = query.params()
    return {
        "a": model.run_a,
        "b": model.run_b,
        "a_href": run_path(model.run_a) if links else None,
        "b_href": run_path(model.run_b) if links else None,
        "swap_href": href("/compare", state, a=model.run_b, b=model.run_a) if links else None,
        "all_metrics_href": href("/compare", state, metric=None) if links else None,
        "query": state,
        "metrics": [
            {
                "metric": r.metric,
                "direction": "higher" if r.higher_is_better else "lower",
                "kind": "pass rate" if r.boolean else "mean",
                "a": _pm(r, r.mean_a, r.interval_a),
                "b": _pm(r, r.mean_b, r.interval_b),
                "delta": _delta(r),
                "difference": _difference(r),
                "p": _p(r.p_adjusted),
                "mde": fmt(r.mde) if not r.boolean or r.mde is None else f"{100 * r.mde:.1f} pt",
                "method": r.method,
                "improved": r.improved,
                "regressed": r.regressed,
                "unchanged": r.unchanged,
                "status": r.status,
                "href": href("/compare", state, metric=r.metric) if links else None,
            }
            for r in rows
            if not is_config(r.metric)
        ],
        "config": [
            {
                "metric": r.metric,
                "a": fmt(r.mean_a),
                "b": fmt(r.mean_b),
                "changed": r.mean_a != r.mean_b,
            }
            for r in rows
            if is_config(r.metric)
        ],
        "regressed_metrics": [
            r.metric for r in rows if r.status == "regressed" and not is_config(r.metric)
        ],
        "vanished": [r.metric for r in rows if r.status == "vanished"],
        "new": [r.metric for r in rows if r.status == "new"],
        "family": model.family,
        "dataset": model.dataset,
        "dataset_differs": model.dataset_differs,
        "samples": model.samples,
        "regressions": _moves(worse, state if links else None, model.labels),
        "improvements": _moves(better, state if links else None, model.labels),
        "regression_page": _page(worse, query.rpage, "rpage", state, model.labels, links),
        "improvement_page": _page(better, query.ipage, "ipage", state, model.labels, links),
        "regression_count": len(worse),
        "improvement_count": len(better),
        "only_in_a": model.only_in_a[:SHOWN],
        "only_in_b": model.only_in_b[:SHOWN],
        "only_in_a_count": len(model.only_in_a),
        "only_in_b_count": len(model.only_in_b),
        "shown": SHOWN,
        "charts": [
            {
                # One chart per metric, each on its own scale: a 1,550 ms latency beside
                # 0-1 scores would flatten them on a shared axis.
                "id": f"compare-{k}",
                "title": r.metric,
                "short": short_name(r.metric, [x.metric for x in scores]),
                "type": "bars",
                "x": [0],
                "xlabels": ["pass rate" if r.boolean else "mean"],
                "series": [
                    {
                        "label": "A",
                        "values": [_finite(r.mean_a)],
                        "low": [_finite(r.interval_a[0])],
                        "high": [_finite(r.interval_a[1])],
                    },
                    {
                        "label": "B",
                        "values": [_finite(r.mean_b)],
                        "low": [_finite(r.interval_b[0])],
                        "high": [_finite(r.interval_b[1])],
                    },
                ],
            }
            for k, r in enumerate(scores)
        ],
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
