"""How complete a run written by many writers reads: each writer's word against what was found.

Each writer (a store, or a tracker without one) names itself on its result spans
(``eval.writer``) and says, in its run summaries, how many results it wrote and whether it is
done (``eval.summary.closed``). A reader counts the result spans it found per writer and
compares: a writer whose latest summary is not closed may still be writing, or have died
(its store's next tracker or ``evaltrace sync`` re-sends it); one found short of what it said
is still arriving or lost. A run that declares its writers (``evaltrace.shards`` in its
metadata) also names how many writers never reported at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from .._codec import loads
from .._exceptions import IncompleteResultsError
from .._types import ResultRecord, RunCompleteness, WriterCount
from ..schema import ATTR_RUN_ID, ATTR_WRITER, RESULT_SPAN, SHARDS_KEY, SummaryRecord
from ..schema._summary_span import latest
from ._base import SpanView

__all__ = ["completeness", "declared_writers", "found_per_writer", "require_complete"]


def declared_writers(
    results: Iterable[ResultRecord], summaries: Iterable[SummaryRecord] = ()
) -> int | None:
    """The writer count a run declares (``evaltrace.shards`` in any call's metadata, or in a
    summary's run metadata); None when none does. Conflicting declarations: the largest.
    Every read of a run asks (one set comprehension: 1.0 ms for 20,000 results, ~1 % of
    their decoding, measured; a loop de-duplicating metadata dicts cost 4.6 ms)."""
    declared = {
        value
        for result in results
        if type(metadata := result["metadata"]) is dict
        and type(value := metadata.get(SHARDS_KEY)) is int
        and value > 0
    }
    for summary in summaries:
        if SHARDS_KEY in summary.metadata_json:  # parsed only when it may declare
            value = _get(loads(summary.metadata_json), SHARDS_KEY)
            if type(value) is int and value > 0:
                declared.add(value)
    return max(declared) if declared else None


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def found_per_writer(spans: Iterable[SpanView], run_id: str) -> Counter[str]:
    """Result spans of ``run_id`` per writer (``""``: spans that name none); de-duplicate
    the spans first (``unique``)."""
    found: Counter[str] = Counter()
    for span in spans:
        attributes = span.attributes
        if span.name == RESULT_SPAN and attributes.get(ATTR_RUN_ID) == run_id:
            writer = attributes.get(ATTR_WRITER)
            found[writer if isinstance(writer, str) else ""] += 1
    return found


def completeness(
    run_id: str,
    found: Mapping[str, int],
    summaries: Iterable[SummaryRecord],
    declared: int | None,
) -> RunCompleteness:
    """The run's completeness from the results found per writer and its summary spans."""
    said = {w: r for (r_id, w), r in latest(summaries).items() if r_id == run_id}
    writers: list[WriterCount] = []
    problems: list[str] = []
    for writer in sorted(found.keys() | said.keys()):
        record = said.get(writer)
        count = found.get(writer, 0)
        closed = record is not None and record.closed
        writers.append(
            {
                "writer": writer,
                "said": None if record is None else record.num_results,
                "found": count,
                "closed": closed,
            }
        )
        name = writer or "results that name no writer"
        if record is None:
            problems.append(f"{name}: {count} results found, no run summary of it")
        elif count != record.num_results:
            problems.append(
                f"{name}: said {record.num_results} results, found {count}"
                + ("" if closed else " (not closed: still writing, or died: sync its store)")
            )
        elif not closed:
            problems.append(
                f"{name}: {count} results as said, not closed (still writing, or died: "
                "`evaltrace sync` its store)"
            )
    reported = sum(1 for w in writers if w["said"] is not None)
    if declared is not None and reported != declared:
        missing = declared - reported
        problems.append(
            f"declared {declared} writers (evaltrace.shards), {reported} reported"
            + (f": {missing} missing" if missing > 0 else "")
        )
    return {
        "run_id": run_id,
        "declared_writers": declared,
        "writers": writers,
        "complete": bool(writers) and not problems,
        "problems": problems,
    }


def require_complete(report: RunCompleteness) -> None:
    """Raise ``IncompleteResultsError`` naming every short or missing writer."""
    if not report["complete"]:
        raise IncompleteResultsError(
            f"run {report['run_id']!r} is incomplete: " + "; ".join(report["problems"])
        )
