"""Review spans: a person's verdict on one result, as span attributes and back.

A review span is a child of the reviewed result span (same trace), named ``REVIEW_SPAN`` and
marked ``eval.kind = review``; its run and sample are ``eval.review.*`` keys, never
``eval.run_id``, so that nothing reading a run's results takes a review for a result. Pure:
the store keeps reviews in its own table, ``_spans`` makes the span, adapters decode it here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .._exceptions import InvalidInputError, InvalidInputTypeError
from .._types import ReviewRecord
from ._decode import iso
from ._names import (
    ATTR_PROJECT,
    ATTR_REVIEW_NOTE,
    ATTR_REVIEW_RESULT_SPAN_ID,
    ATTR_REVIEW_REVIEWER,
    ATTR_REVIEW_RUN_ID,
    ATTR_REVIEW_SAMPLE_ID,
    ATTR_REVIEW_SEQ,
    ATTR_REVIEW_VERDICT,
    ATTR_SCHEMA,
    ATTR_SUMMARY_KIND,
    REVIEW_KIND,
    REVIEW_SPAN,
    REVIEW_VERDICTS,
    SCHEMA_VERSION,
)

__all__ = [
    "MAX_NOTE",
    "check_review",
    "decode_review",
    "latest_reviews",
    "review_attributes",
    "review_terms",
]

MAX_NOTE = 10_000
"""Characters a note may have: a review is a judgement, not a document."""


def check_review(
    run_id: object, sample_id: object, verdict: object, note: object, reviewer: object
) -> None:
    """Raise ``InvalidInputError`` naming the field of a review that cannot be stored."""
    for name, value in (("run_id", run_id), ("sample_id", sample_id)):
        if not isinstance(value, str):
            raise InvalidInputTypeError(f"review {name}: expected a string, got {value!r}")
        if not value:
            raise InvalidInputError(f"review {name}: empty")
    if verdict not in REVIEW_VERDICTS:
        raise InvalidInputError(
            f"review verdict: {verdict!r}; expected one of {', '.join(REVIEW_VERDICTS)}"
        )
    for name, value in (("note", note), ("reviewer", reviewer)):
        if value is not None and not isinstance(value, str):
            raise InvalidInputTypeError(f"review {name}: expected a string or None, got {value!r}")
    if isinstance(note, str) and len(note) > MAX_NOTE:
        raise InvalidInputError(f"review note: {len(note)} characters, at most {MAX_NOTE}")


def review_attributes(
    *,
    project_name: str,
    run_id: str,
    sample_id: str,
    result_span_id: str,
    verdict: str,
    note: str | None,
    reviewer: str | None,
    seq: int,
) -> dict[str, Any]:
    """The attributes of a review span (``note``: already masked as the capture mode says)."""
    attributes: dict[str, Any] = {
        ATTR_SCHEMA: SCHEMA_VERSION,
        ATTR_SUMMARY_KIND: REVIEW_KIND,
        ATTR_PROJECT: project_name,
        ATTR_REVIEW_RUN_ID: run_id,
        ATTR_REVIEW_SAMPLE_ID: sample_id,
        ATTR_REVIEW_RESULT_SPAN_ID: result_span_id,
        ATTR_REVIEW_VERDICT: verdict,
        ATTR_REVIEW_SEQ: seq,
    }
    if note is not None:
        attributes[ATTR_REVIEW_NOTE] = note
    if reviewer is not None:
        attributes[ATTR_REVIEW_REVIEWER] = reviewer
    return attributes


def review_terms(run_id: str) -> dict[str, str]:
    """The attribute terms a backend search for a run's review spans matches."""
    return {ATTR_SUMMARY_KIND: REVIEW_KIND, ATTR_REVIEW_RUN_ID: run_id}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def decode_review(
    name: str, attributes: Mapping[str, Any], *, trace_id: str, span_id: str, start_ns: int
) -> ReviewRecord | None:
    """The review a span holds, or None for any other span (or a malformed review)."""
    if name != REVIEW_SPAN or attributes.get(ATTR_SUMMARY_KIND) != REVIEW_KIND:
        return None
    run_id, sample_id = attributes.get(ATTR_REVIEW_RUN_ID), attributes.get(ATTR_REVIEW_SAMPLE_ID)
    verdict, seq = attributes.get(ATTR_REVIEW_VERDICT), attributes.get(ATTR_REVIEW_SEQ)
    if not isinstance(run_id, str) or not isinstance(sample_id, str):
        return None
    if verdict not in REVIEW_VERDICTS:
        return None
    return ReviewRecord(
        run_id=run_id,
        sample_id=sample_id,
        verdict=str(verdict),
        note=_text(attributes.get(ATTR_REVIEW_NOTE)),
        reviewer=_text(attributes.get(ATTR_REVIEW_REVIEWER)),
        created_at=iso(start_ns),
        seq=int(seq) if isinstance(seq, int | str) and str(seq).isdigit() else 0,
        trace_id=trace_id,
        span_id=_text(attributes.get(ATTR_REVIEW_RESULT_SPAN_ID)) or "",
        review_span_id=span_id,
    )


def ordered(reviews: Iterable[ReviewRecord]) -> list[ReviewRecord]:
    """Oldest first (by time, then the store's sequence), each review span once."""
    seen: dict[str, ReviewRecord] = {}
    for review in reviews:
        seen.setdefault(review["review_span_id"], review)
    return sorted(seen.values(), key=lambda r: (r["created_at"], r["seq"]))


def latest_reviews(reviews: Iterable[ReviewRecord]) -> dict[str, ReviewRecord]:
    """The review that stands per sample id: the latest (``reviews`` oldest first)."""
    return {review["sample_id"]: review for review in reviews}
