"""``ReviewWriter``: people's reviews of results, into a store and over OTLP (``_reviewing``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ._tracker import OpenTelemetryExperimentTracker
from ._types import ReviewRecord

__all__ = ["ReviewWriter"]


class _ReviewTracker(OpenTelemetryExperimentTracker):
    """A tracker that only writes reviews: it sends no run summary (``_summarises``)."""

    _summarises = False


class ReviewWriter:
    """Writes people's reviews of results into a store, and sends them over OTLP like results.

    ``store``, ``otlp_endpoint`` (and the ``OTEL_EXPORTER_OTLP_*`` variables),
    ``capture_content`` and ``redact`` mean what they mean for
    ``OpenTelemetryExperimentTracker``, which this wraps. ``refusal`` says why reviews cannot
    be written (a read-only store), None when they can.
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        *,
        otlp_endpoint: str | None = None,
        otlp_protocol: str | None = None,
        otlp_headers: Mapping[str, str] | None = None,
        capture_content: str | None = None,
        redact: Callable[[str, Any], Any] | None = None,
    ) -> None:
        self._tracker = _ReviewTracker(
            "evaltrace-review",
            store=store,
            spool=False,
            otlp_endpoint=otlp_endpoint,
            otlp_protocol=otlp_protocol,
            otlp_headers=otlp_headers,
            capture_content=capture_content,
            redact=redact,
        )

    @property
    def refusal(self) -> str | None:
        """Why this writer takes no review (its store is read-only), else None."""
        return self._tracker.review_refusal

    def review(
        self,
        run_id: str,
        sample_id: str,
        verdict: str,
        note: str | None = None,
        *,
        reviewer: str | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> ReviewRecord:
        """Record that ``sample_id`` of ``run_id`` passes or fails (``verdict``), with a note;
        the sample's latest review stands. Returns the review as ``get_reviews`` reads it."""
        return self._tracker.review(
            run_id, sample_id, verdict, note, reviewer=reviewer, result=result
        )

    def get_reviews(self, run_id: str) -> list[ReviewRecord]:
        """Every review of ``run_id`` in the store, oldest first."""
        return self._tracker.get_reviews(run_id)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait (up to ``timeout``) until every committed review is delivered."""
        return self._tracker.flush(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Deliver what is pending within ``timeout``, then release the store."""
        self._tracker.close(timeout)

    def __enter__(self) -> ReviewWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
