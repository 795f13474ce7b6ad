"""``SQLiteQueryAdapter``: reads the embedded store, read-only (never writes a byte)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .._codec import loads
from .._types import MetricStats, ResultRecord, ReviewRecord, RunCompleteness, RunSummary
from ..schema import SummaryRecord
from ..schema._aggregate import stats_of
from ..schema._columns import RunScores
from ..schema._decode import epoch_ns, iso
from ..schema._fingerprint import (
    SampleFingerprints,
    fingerprints_by_sample,
    merge_provenance,
    sample_fingerprint,
)
from ..store import RunRow, StoreReader, review_record
from ._base import QueryAdapter
from ._completeness import completeness, declared_writers
from ._filter import HistoryFilter
from ._history_rows import history_row

__all__ = ["SQLiteQueryAdapter"]


def _ns(moment: datetime, end_of_microsecond: bool = False) -> int:
    """Epoch nanoseconds, clamped to SQLite's 64-bit integers (years past 2262 would overflow);
    ``until`` covers its whole microsecond (timestamps are shown to the microsecond)."""
    ns = epoch_ns(moment) + (999 if end_of_microsecond else 0)
    return max(-(2**63), min(2**63 - 1, ns))


class SQLiteQueryAdapter(QueryAdapter):
    """Results by index, streamed page by page; history from the per-run table."""

    keeps_columns = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.path.expanduser(os.fspath(path))
        # Opened now when the file is there (a foreign file is refused at once), else on the
        # first read that finds it: a reader never creates the store.
        self._reader: StoreReader | None = (
            StoreReader(self.path) if Path(self.path).is_file() else None
        )

    @property
    def _store(self) -> StoreReader:
        if self._reader is None:
            self._reader = StoreReader(self.path)
        return self._reader

    def iter_run_results(self, run_id: str) -> Iterator[ResultRecord]:
        """Every result of the run in logging order, one page in memory at a time."""
        if not Path(self.path).is_file():
            return iter(())
        return self._store.iter_run(run_id)

    def run_scores(self, run_id: str, metrics: Sequence[str] | None = None) -> RunScores:
        """From the store's score columns and the results past them: no result is decoded
        (a 1,000,000-result run's scores, not its text)."""
        if not Path(self.path).is_file():
            return RunScores(run_id, [], {})
        if metrics is not None and not metrics:  # no metric: the rows' ids and rowids
            return self._store.run_scores(run_id, values=False)
        return self._store.run_scores(run_id).select(metrics)

    def sample_results(
        self, run_id: str, sample_ids: Iterable[str], scores: RunScores | None = None
    ) -> list[ResultRecord]:
        """Found by rowid through the run's score columns (``scores``, when the caller has
        them): ~0.3 s for a sample of a 1,000,000-result run, not a read of the run."""
        if not Path(self.path).is_file():
            return []
        wanted = set(sample_ids)
        if scores is None:
            scores = self.run_scores(run_id, metrics=())
        if scores.row_ids is None:
            return super().sample_results(run_id, wanted, scores)
        at = [i for i, sid in enumerate(scores.sample_ids) if sid in wanted]
        return self._store.results_at(run_id, scores.row_ids[at].tolist()) if at else []

    def results_at(
        self, run_id: str, positions: Sequence[int], scores: RunScores | None = None
    ) -> list[ResultRecord]:
        """By rowid through the run's score columns: a page of a 1,000,000-result run."""
        if not Path(self.path).is_file():
            return []
        if scores is None:
            scores = self.run_scores(run_id, metrics=())
        if scores.row_ids is None:
            return super().results_at(run_id, positions, scores)
        rows = scores.row_ids
        wanted = [int(rows[i]) for i in positions if 0 <= i < len(rows)]
        found = self._store.results_at(run_id, wanted)  # in rowid order
        by_row = dict(zip(sorted(set(wanted)), found, strict=False))
        return [by_row[r] for r in wanted if r in by_row]

    def text_candidates(
        self, run_id: str, text: str, scores: RunScores | None = None
    ) -> list[tuple[int, str, Any]]:
        """The rows whose sample id and data JSON hold every word of ``text`` (SQLite's
        ``lower`` folds ASCII only, and JSON escapes quotes and backslashes: a word with any
        of those filters nothing, so the answer stays a superset)."""
        if not Path(self.path).is_file():
            return []
        if scores is None:
            scores = self.run_scores(run_id, metrics=())
        if scores.row_ids is None:
            return super().text_candidates(run_id, text, scores)
        words = [
            w
            for w in text.lower().split()
            if w.isascii() and w.isprintable() and '"' not in w and "\\" not in w
        ]
        rows = self._store.rows_with_words(run_id, words)
        at = np.searchsorted(scores.row_ids, [r[0] for r in rows]).tolist()
        return [(i, sid, loads(data)) for i, (_, sid, data) in zip(at, rows, strict=True)]

    def run_stats(self, run_id: str) -> dict[str, MetricStats]:
        """From the run's folded aggregates plus the results committed since."""
        if not Path(self.path).is_file():
            return {}
        return stats_of(self._store.run_aggregates(run_id))

    def linked_results(self, trace_id: str, span_id: str | None = None) -> list[ResultRecord]:
        """One indexed query on the results' link columns."""
        if not Path(self.path).is_file():
            return []
        return list(self._store.iter_linked(trace_id, span_id))

    def get_reviews(self, run_id: str) -> list[ReviewRecord]:
        """Every review of the run in the store, oldest first (none in a store without the
        reviews table, or no store yet)."""
        if not Path(self.path).is_file():
            return []
        return [review_record(row) for row in self._store.reviews(run_id)]

    def run_results(self, run_id: str) -> list[ResultRecord]:
        """Every result of the run in logging order."""
        return list(self.iter_run_results(run_id))

    def run_provenance(self, run_id: str) -> dict[str, Any] | None:
        """The provenance its calls stored (layout 6), merged."""
        if not Path(self.path).is_file():
            return None
        return merge_provenance(self._store.run_provenance(run_id))

    def sample_fingerprints(self, run_id: str) -> SampleFingerprints:
        """The fingerprints the store kept (layout 6), those of older rows from their data."""
        if not Path(self.path).is_file():
            return {}
        return fingerprints_by_sample(
            (sample_id, kept if data_json is None else sample_fingerprint(loads(data_json)))
            for sample_id, kept, data_json in self._store.sample_fingerprints(run_id)
        )

    def run_completeness(self, run_id: str) -> RunCompleteness:
        """A store is one writer, holding exactly what it committed: complete unless the run
        declares more writers (``evaltrace.shards``), whose results are in the backend they
        forward to, not here."""
        results = self.run_results(run_id)
        store_id = self._store.store_id() if results else None
        found = {f"store:{store_id}" if store_id else "": len(results)} if results else {}
        said = [
            SummaryRecord(run_id, "", "", writer, 1, n, 0, 0, "{}", "{}", closed=True)
            for writer, n in found.items()
        ]
        return completeness(run_id, found, said, declared_writers(results))

    def project_results(self, filters: HistoryFilter) -> list[ResultRecord]:
        """Every result of the matching runs."""
        if not Path(self.path).is_file():
            return []
        return [
            result
            for run_id, *_, metadata in self._run_rows(filters)
            if filters.metadata_matches(loads(metadata))
            for result in self.iter_run_results(run_id)
        ]

    def history(self, filters: HistoryFilter) -> list[RunSummary]:
        """Run rows filtered in SQL, each summarised from its results' ``evaluation_result``."""
        if not Path(self.path).is_file():
            return []
        store = self._store
        runs: list[RunSummary] = []
        for run_id, project, dataset, started, ended, count, metadata_json in self._run_rows(
            filters
        ):
            metadata = loads(metadata_json)
            if not filters.metadata_matches(metadata):
                continue
            runs.append(
                history_row(
                    run_id=run_id,
                    project_name=project,
                    dataset_name=dataset,
                    started_at=iso(started),
                    ended_at=iso(ended),
                    num_results=count,
                    metadata=metadata,
                    metrics=stats_of(store.run_aggregates(run_id)),
                )
            )
            if filters.limit and len(runs) >= filters.limit:
                break
        return filters.apply(runs)

    def _run_rows(self, filters: HistoryFilter) -> list[RunRow]:
        """The store's run rows the filters select in SQL (metadata is matched by callers)."""
        return self._store.runs(
            project_name=filters.project_name,
            dataset_name=filters.dataset_name,
            since_ns=_ns(filters.since) if filters.since else None,
            until_ns=_ns(filters.until, True) if filters.until else None,
        )

    def close(self) -> None:
        """Close the reader's connection."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
