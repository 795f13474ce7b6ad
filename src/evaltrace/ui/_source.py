"""Where the UI reads runs from: one query adapter, named for the page header, with a cache.

A run page is paged, sorted and filtered on every click; reading a 100k-result run back
takes seconds (5 s for 100k from the embedded store, measured here), so each run's results and
its flattened table are kept for ``TTL`` seconds: long enough to page and sort without a
re-read, short enough to see a run that is still being logged. A large run in a store that
keeps score columns is never read whole nor cached: its page reads its columns and the
page's results (``ColumnTable``), compare reads the columns (``scores``), a sample page its
sample's results (``sample_results``): ``benchmarks/bench_scale.py`` times them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from ..query import HistoryFilter, QueryAdapter, RunCompleteness, RunScores
from ..schema._fingerprint import SampleFingerprints
from ._run import SampleTable, Table
from ._run_columns import LARGE_RUN, ColumnTable

__all__ = ["Source"]

TTL = 120.0
"""Seconds a run's results are reused before they are read again."""

CACHED_RUNS = 4
"""Runs kept at once (a compare page needs two)."""


@dataclass
class _Entry:
    at: float
    results: list[dict[str, Any]]
    completeness: RunCompleteness | None = None
    """Per writer, what it said against what was found (None: the adapter cannot say)."""
    table: SampleTable | None = None
    building: threading.Lock = field(default_factory=threading.Lock)
    """Held while the table is built: built once, by the first request that needs it."""


@dataclass
class Source:
    """An adapter and how to name it (``SQLite store ./x.db``); safe to share across threads."""

    adapter: QueryAdapter
    label: str
    history_ttl: float = 0.0
    """Seconds a history answer is reused: 0 for the store (it caches run summaries itself);
    remote backends summarise from every result span in the window, so they get some."""
    clock: Callable[[], float] = time.monotonic
    columnar_from: int = LARGE_RUN
    """Results from which a run's page reads its score columns instead of the whole run."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Guards the dicts below for a moment; never held over a read."""
    _reading: dict[str, threading.Lock] = field(default_factory=dict, repr=False)
    """One lock per run being read: a second request for it waits for the first read, no
    other page does (one global lock held over a 450k-result read blocked ``/`` 7 s)."""
    _history_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cache: OrderedDict[str, _Entry] = field(default_factory=OrderedDict, repr=False)
    _history: dict[HistoryFilter, tuple[float, list[dict[str, Any]]]] = field(
        default_factory=dict, repr=False
    )

    def history(self, filters: HistoryFilter) -> list[dict[str, Any]]:
        """Run summaries, newest first."""
        with self._history_lock:
            hit = self._history.get(filters)
            if hit is not None and self.clock() - hit[0] <= self.history_ttl:
                return hit[1]
            runs = cast(list[dict[str, Any]], self.adapter.history(filters))
            if self.history_ttl:
                self._history = {filters: (self.clock(), runs)}
            return runs

    def evaluators(self, run_id: str) -> dict[str, str] | None:
        """The evaluator versions the run's provenance says, None when unknown."""
        found = (self.adapter.run_provenance(run_id) or {}).get("evaluators")
        return found if isinstance(found, dict) else None

    def fingerprints(self, run_id: str) -> SampleFingerprints:
        """Each sample's dataset fingerprints (what compare needs of a run's dataset); the
        store reads the ones it kept, never the run's results."""
        return self.adapter.sample_fingerprints(run_id)

    def _fresh(self, run_id: str) -> _Entry | None:
        """The cached entry of ``run_id`` while within its TTL (the caller holds ``_lock``)."""
        entry = self._cache.get(run_id)
        if entry is None or self.clock() - entry.at > TTL:
            return None
        self._cache.move_to_end(run_id)
        return entry

    def _entry(self, run_id: str) -> _Entry:
        with self._lock:
            entry = self._fresh(run_id)
            if entry is not None:
                return entry
            reading = self._reading.setdefault(run_id, threading.Lock())
        with reading:  # one read per run at a time; other runs and pages go on
            with self._lock:
                entry = self._fresh(run_id)  # read meanwhile by the request we waited for
            if entry is None:
                found, complete = self.adapter.read_run(run_id)
                entry = _Entry(self.clock(), cast(list[dict[str, Any]], found), complete)
                with self._lock:
                    self._cache[run_id] = entry
                    while len(self._cache) > CACHED_RUNS:
                        self._cache.popitem(last=False)
        with self._lock:
            if not reading.locked():
                self._reading.pop(run_id, None)
        return entry

    def results(self, run_id: str) -> list[dict[str, Any]]:
        """Every result of ``run_id`` in logging order; ``[]`` for an unknown run."""
        return self._entry(run_id).results

    def completeness(self, run_id: str) -> RunCompleteness | None:
        """How complete ``run_id`` read (a run written by many processes), or None."""
        return self._entry(run_id).completeness

    def table(self, run_id: str) -> Table | None:
        """The run flattened for its page, or None for an unknown run. A large run in a
        store that keeps score columns is read from them a page at a time, never whole and
        never cached (``ColumnTable``); any other run is read whole and kept ``TTL``."""
        if self.adapter.keeps_columns:
            with self._lock:
                cached = self._fresh(run_id)
            if cached is None:
                scores = self.adapter.run_scores(run_id)
                if len(scores) >= self.columnar_from:
                    stats = self.adapter.run_stats(run_id)

                    def fetch(positions: Sequence[int]) -> Sequence[Mapping[str, Any]]:
                        return self.adapter.results_at(run_id, positions, scores)

                    def search(text: str) -> Sequence[tuple[int, str, Any]]:
                        return self.adapter.text_candidates(run_id, text, scores)

                    return ColumnTable.build(scores, stats, fetch, search)
        entry = self._entry(run_id)
        if not entry.results:
            return None
        with entry.building:
            if entry.table is None:
                entry.table = SampleTable.build(entry.results)
            return entry.table

    def scores(self, run_id: str, metrics: Sequence[str] | None = None) -> RunScores:
        """The run's score columns (``QueryAdapter.run_scores``; ``metrics=()``: only its rows'
        sample ids): what compare reads, never the run's results (none cached: the compare
        page keeps its own model)."""
        return self.adapter.run_scores(run_id, metrics)

    def sample_results(
        self, run_id: str, sample_ids: Sequence[str], scores: RunScores | None = None
    ) -> list[dict[str, Any]]:
        """The run's results of these samples, in logging order: from the cached run when it
        is read already, else found by the adapter (by rowid in the embedded store)."""
        with self._lock:
            entry = self._fresh(run_id)
        if entry is not None:
            wanted = set(sample_ids)
            return [r for r in entry.results if str(r["sample_id"]) in wanted]
        found = self.adapter.sample_results(run_id, sample_ids, scores)
        return cast(list[dict[str, Any]], found)

    def close(self) -> None:
        """Close the adapter."""
        self.adapter.close()
