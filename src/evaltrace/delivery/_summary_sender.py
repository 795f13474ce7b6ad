"""Run-summary spans: when a tracker (or ``evaltrace sync``) sends them, and what they say.

A tracker that forwards (OTLP, ``exporters=``) sends one ``evaltrace.run_summary`` span per
run every ``EVALTRACE_SUMMARY_EVERY`` results, at ``flush()`` and at ``close()``, so history on
a remote backend reads a few spans per run instead of every result (docs/schema.md).

Where a summary comes from:

* with a store, from the store's rows (``store/_summary_ledger``): the writer id is the store's, a
  summary covers every result the store holds of the run, and one that was never delivered
  (the process died, the collector was down at close) is derived again and sent by the next
  tracker on the store or ``evaltrace sync`` (``run_summaries`` records what was delivered);
* without one (a spool, or memory only), from the results this tracker committed, tallied in
  memory: the writer id is this tracker's own, and what its last summary did not carry dies
  with the process (docs/reliability.md).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from opentelemetry.sdk.trace import ReadableSpan

from .. import _capture
from .._codec import dumps, loads
from .._spans import resource_of, summary_span
from ..schema import SummaryRecord
from ..schema._aggregate import MetricAggregate, aggregate_lists, encode_aggregates
from ..store import CallRecord, ResultRow, StoreWriter
from ._forward import Forwarder

__all__ = ["Summaries", "to_forwarder", "writer_id"]

_log = logging.getLogger("evaltrace")


def to_forwarder(forwarder: Forwarder) -> Callable[[list[ReadableSpan]], None]:
    """Ship summaries to a forwarder, each its own trace, from memory: not through the outbox,
    as a store derives an undelivered summary again (and a spool cannot hold one)."""

    def ship(spans: list[ReadableSpan]) -> None:
        forwarder.submit({s.context.trace_id: [s] for s in spans if s.context is not None}, {})

    return ship


def writer_id(store: StoreWriter | None) -> str:
    """Who a tracker writes as (``eval.writer``, ``eval.summary.writer``): its store, whose
    summaries cover everything the store holds of a run (every tracker on one store is one
    writer), else this process alone (a spool deletes what was delivered: it cannot say)."""
    if store is not None and store.keep_delivered:
        return f"store:{store.store_id()}"
    return f"process:{uuid.uuid4().hex}"


def _span(record: SummaryRecord, resource: str, capture: str | None) -> ReadableSpan:
    """A summary's span, its run's metadata masked as the run's first call's mode says."""
    metadata = _capture.outgoing(capture, record.metadata_json)
    if metadata != record.metadata_json:
        record = dataclasses.replace(record, metadata_json=metadata)
    return summary_span(record, resource_of(resource))


@dataclass
class _Tally:
    """A run as one tracker without a store has logged it.

    Scores wait as their JSON until a summary is due, then fold in one pass (as the store
    folds): ~1 us a result at commit, ~2.6 us with the folds every 2,000, instead of 9.8 us
    aggregated at every commit (a 4-score result, best of 7 x 3,000 log() calls).
    """

    project_name: str
    dataset_name: str
    metadata_json: str
    started_ns: int
    ended_ns: int
    num_results: int = 0
    seq: int = 0
    aggregates: dict[str, MetricAggregate] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    """Each result's ``score_list`` as JSON (``ResultRow.scores_json``), not yet folded."""

    def add(self, results: Sequence[ResultRow]) -> None:
        pending = self.pending
        for row in results:
            pending.append(row.scores_json)
        self.started_ns = min(self.started_ns, results[0].start_ns, results[-1].start_ns)
        self.ended_ns = max(self.ended_ns, results[0].start_ns, results[-1].start_ns)
        self.num_results += len(results)

    def fold(self) -> None:
        """Fold the pending scores into the aggregates."""
        if not self.pending:
            return
        lists = (loads(p) for p in self.pending)
        for path, agg in aggregate_lists(lists).items():
            known = self.aggregates.get(path)
            if known is None:
                self.aggregates[path] = agg
            else:
                known.merge(agg)
        self.pending = []


class Summaries:
    """One tracker's run-summary spans: counts results per run, ships a summary when due."""

    def __init__(
        self,
        *,
        store: StoreWriter | None,
        resource_json: str,
        every: int,
        ship: Callable[[list[ReadableSpan]], None],
        writer: str | None = None,
    ) -> None:
        # A spool deletes what was delivered: it cannot say what a run holds, memory can.
        self._store = store if store is not None and store.keep_delivered else None
        self.writer = writer or writer_id(self._store)
        self._resource_json = resource_json
        self._every = max(1, every)
        self._ship = ship
        self._lock = threading.Lock()
        self._since: Counter[str] = Counter()
        """Results committed per run since its last summary."""
        self._tallies: dict[str, _Tally] = {}
        self._unacked: dict[str, int] = {}
        """With a store: run -> highest seq shipped and not yet known to be delivered."""
        self._runs: set[str] = set()
        """Runs this tracker shipped a summary of: at close each gets a closed one."""

    def committed(self, call: CallRecord, results: Sequence[ResultRow]) -> None:
        """A call committed: count it, and ship its run's summary when one is due."""
        if not results:
            return
        run_id = call.run_id
        with self._lock:
            if self._store is None:
                tally = self._tallies.get(run_id)
                if tally is None:
                    first = results[0].start_ns
                    metadata = _capture.outgoing(call.capture, call.metadata_json)
                    tally = self._tallies[run_id] = _Tally(
                        call.project_name, call.dataset_name, metadata, first, first
                    )
                tally.add(results)
            self._since[run_id] += len(results)
            due = self._since[run_id] >= self._every
        if due:
            self.send([run_id])

    def send(self, run_ids: Iterable[str] | None = None, *, closed: bool = False) -> int:
        """Ship the summaries of ``run_ids`` (default: every run with results since its last
        summary; ``closed``: every run this tracker summarised, each marked closed, the
        writer being done with it); returns how many were shipped."""
        records: list[tuple[SummaryRecord, str, str | None]] = []
        with self._lock:
            if closed:
                runs = sorted(self._runs | set(self._since) if run_ids is None else set(run_ids))
                for run_id in runs:
                    self._since.pop(run_id, None)
            else:
                wanted = list(self._since) if run_ids is None else list(run_ids)
                runs = [r for r in wanted if self._since.pop(r, 0)]
            if not runs:
                return 0
            self._runs.update(runs)
            if self._store is None:
                records = [
                    (self._record(r, closed), self._resource_json, _capture.ALL)
                    for r in runs
                    if r in self._tallies
                ]
        if self._store is not None:
            try:
                records = self._store.summaries(runs, self.writer, closed=closed)
            except Exception:  # the store is busy or gone: the summaries stay due
                _log.exception("evaltrace: deriving run summaries from the store failed")
                with self._lock:
                    self._since.update({r: 1 for r in runs})
                return 0
        self._ship([_span(record, resource, capture) for record, resource, capture in records])
        if self._store is not None:
            with self._lock:
                for record, *_ in records:
                    known = self._unacked.get(record.run_id, 0)
                    self._unacked[record.run_id] = max(known, record.seq)
        return len(records)

    def recover(self) -> int:
        """With a store: ship the summaries no delivered one covers (a tracker that died, a
        close during an outage); returns how many."""
        if self._store is None:
            return 0
        try:
            runs = self._store.pending_summaries()
        except Exception:
            _log.exception("evaltrace: reading the store's pending run summaries failed")
            return 0
        with self._lock:
            self._since.update({r: 1 for r in runs})
        return self.send(runs)

    def unacked(self) -> dict[str, int]:
        """A snapshot of the summaries shipped and not yet known to be delivered."""
        with self._lock:
            return dict(self._unacked)

    def delivered(self, snapshot: dict[str, int]) -> None:
        """The collector acknowledged everything shipped up to ``snapshot``: record it, so
        nobody sends these again."""
        if self._store is None or not snapshot:
            return
        try:
            self._store.summaries_sent(snapshot)
        except Exception:  # not recorded: they are sent again, and readers keep one
            _log.exception("evaltrace: recording delivered run summaries failed")
            return
        with self._lock:
            for run_id, seq in snapshot.items():
                if self._unacked.get(run_id, 0) <= seq:
                    self._unacked.pop(run_id, None)

    def _record(self, run_id: str, closed: bool = False) -> SummaryRecord:
        """The tally of a run as a summary (under the lock: seq and content move together)."""
        tally = self._tallies[run_id]
        tally.fold()
        tally.seq += 1
        return SummaryRecord(
            run_id=run_id,
            project_name=tally.project_name,
            dataset_name=tally.dataset_name,
            writer=self.writer,
            seq=tally.seq,
            num_results=tally.num_results,
            started_ns=tally.started_ns,
            ended_ns=tally.ended_ns,
            metadata_json=tally.metadata_json,
            aggregates_json=dumps(encode_aggregates(tally.aggregates), "aggregates", None),
            closed=closed,
        )
