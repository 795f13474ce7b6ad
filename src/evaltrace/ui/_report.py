"""``evaltrace report``: the run page (and a comparison) as one self-contained HTML file.

Assets and chart data are inlined and pages are not linked back to a server, so the file
opens offline from a CI artefact. The sample table holds the first ``ROWS`` samples.
"""

from __future__ import annotations

from datetime import UTC, datetime

from .._config import TraceLinks
from ._compare import CompareQuery, compare_view, comparison
from ._render import render
from ._run import RunQuery, run_view
from ._source import Source

__all__ = ["report_html"]

ROWS = 500
"""Samples in the report's table; ``evaltrace export`` has them all."""


class UnknownRunError(LookupError):
    """A run id with no results in the source."""


def report_html(source: Source, run_id: str, baseline: str | None, links: TraceLinks) -> str:
    """The report of ``run_id``, compared against ``baseline`` (as run A) when given."""
    table = source.table(run_id)  # a large run from its score columns, as its page
    if table is None:
        raise UnknownRunError(f"no results for run {run_id!r} in {source.label}")
    run = run_view(table, RunQuery(per=ROWS), links, "", pager=False)
    compared = None
    if baseline is not None:
        scores_a = source.scores(baseline)
        if not len(scores_a):
            raise UnknownRunError(f"no results for run {baseline!r} in {source.label}")
        query = CompareQuery(a=baseline, b=run_id)
        model = comparison(scores_a, source.scores(run_id), query.lower, 0.0, source.sample_results)
        compared = compare_view(model, query, links=False)
    return render(
        "report.html",
        inline=True,
        source=source.label,
        title=f"Report: {run_id}",
        view=run,
        compare=compared,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
