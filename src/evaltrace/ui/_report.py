"""``evaltrace report``: the run page (and a comparison) as one self-contained HTML file.

Assets and chart data are inlined and pages are not linked back to a server, so the file
opens offline from a CI artefact. The sample table holds the first ``ROWS`` samples; the
samples section shows the first ``SAMPLES`` whole (question, answers, contexts, every metric
with its explanation, the human review), each text cut at ``TEXT`` characters with a marker
saying how much was left out; the run's reviews are summarised beside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .._config import TraceLinks
from ._compare import CompareQuery, compare_view, comparison, dataset_check
from ._render import render
from ._reviews import latest_by_sample
from ._run import RunQuery, run_view
from ._sample import sample_view
from ._source import Source

__all__ = ["report_html"]

ROWS = 500
"""Samples in the report's table; ``evaltrace export`` has them all."""
SAMPLES = 20
"""Samples the report shows whole."""
TEXT = 400
"""Characters of one text the report's samples section keeps."""


def _cut(value: Any) -> Any:
    """A sample page's structure with each text cut at ``TEXT`` characters, marked."""
    if isinstance(value, dict):
        if value.get("kind") == "text":
            whole = str(value["text"])
            if len(whole) <= TEXT:
                return {**value, "long": False}
            marker = f" … [cut: {len(whole) - TEXT:,} more characters]"
            return {**value, "text": whole[:TEXT] + marker, "long": False}
        return {k: _cut(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_cut(v) for v in value)
    return value


def report_samples(
    results: Sequence[Mapping[str, Any]], links: TraceLinks, count: int = SAMPLES
) -> list[dict[str, Any]]:
    """The first ``count`` samples (first occurrence each) as the report shows them."""
    out: list[dict[str, Any]] = []
    for sample_id in dict.fromkeys(str(r["sample_id"]) for r in results):
        if len(out) >= count:
            break
        view = sample_view(results, sample_id, links)
        if view is not None:
            out.append({**view, "occurrences": _cut(view["occurrences"][:1])})
    return out


def _reviews(source: Source, run_id: str) -> list[Any]:
    try:
        return list(source.adapter.get_reviews(run_id))
    except NotImplementedError:
        return []


class UnknownRunError(LookupError):
    """A run id with no results in the source."""


def report_html(source: Source, run_id: str, baseline: str | None, links: TraceLinks) -> str:
    """The report of ``run_id``, compared against ``baseline`` (as run A) when given."""
    table = source.table(run_id)  # a large run from its score columns, as its page
    if table is None:
        raise UnknownRunError(f"no results for run {run_id!r} in {source.label}")
    reviews = _reviews(source, run_id)
    latest = latest_by_sample(reviews)
    scores_b = source.scores(run_id)
    distinct = list(dict.fromkeys(scores_b.sample_ids))
    results = source.sample_results(run_id, distinct[:SAMPLES])  # the samples shown whole
    run = run_view(table, RunQuery(per=ROWS), links, "", pager=False)
    compared = None
    if baseline is not None:
        scores_a = source.scores(baseline)
        if not len(scores_a):
            raise UnknownRunError(f"no results for run {baseline!r} in {source.label}")
        query = CompareQuery(a=baseline, b=run_id)
        dataset, unchecked = dataset_check(
            source.fingerprints,
            source.evaluators,
            (baseline, run_id),
            (len(scores_a), len(scores_b)),
            source.columnar_from,
        )
        model = comparison(
            scores_a,
            scores_b,
            query.lower,
            0.0,
            source.sample_results,
            dataset=dataset,
            unchecked=unchecked,
        )
        compared = compare_view(model, query, links=False)
    return render(
        "report.html",
        inline=True,
        source=source.label,
        title=f"Report: {run_id}",
        view=run,
        compare=compared,
        reviews=latest,
        reviews_a=latest_by_sample(_reviews(source, baseline)) if baseline else {},
        reviews_b=latest,
        review_counts={
            "reviewed": len(latest),
            "pass": sum(1 for r in latest.values() if r["verdict"] == "pass"),
            "fail": sum(1 for r in latest.values() if r["verdict"] == "fail"),
            "total": len(reviews),
        },
        samples=report_samples(results, links),
        distinct=len(distinct),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
