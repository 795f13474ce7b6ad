"""The forwarder: sends committed traces over OTLP, marks them delivered only on success.

Traces come from memory (just committed by this process, leased in the outbox at birth) or
from the store's outbox (due: left by a crash, an outage, or another process). A failed send is
retried with exponential backoff (0.5 s doubling to 30 s) while the process runs; what is still
pending at exit stays in the outbox for the next tracker on the store or ``evaltrace sync``.
Without an outbox (``spool=False``) memory is all there is: its bound drops the oldest traces,
counted and logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ._urls import redact_text
from .store import StoredTrace, StoreWriter

__all__ = ["ForwardStats", "Forwarder"]

_log = logging.getLogger("evaltrace")

BATCH_SPANS = 512
"""Spans per OTLP request: at ~3 kB a result span, ~1.5 MB, under gRPC's 4 MiB default."""
_FIRST_BACKOFF, _MAX_BACKOFF = 0.5, 30.0
_TRIM_EVERY = 10.0

_Entry = tuple[int, list[ReadableSpan], int | None]
"""A trace being sent: its id, its spans, its outbox entry (None without an outbox)."""


@dataclass
class ForwardStats:
    """What the forwarder did; read through ``tracker.stats``."""

    exported: int = 0
    resent: int = 0
    failed_attempts: int = 0
    dropped: Counter[str] = field(default_factory=Counter)


class Forwarder:
    """One background thread per tracker that forwards over OTLP."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        destination: str,
        hint: str | None,
        outbox: StoreWriter | None,
        rebuild: Callable[[StoredTrace], list[ReadableSpan]],
        memory_spans: int,
        max_spans: int,
        max_age_s: float,
    ) -> None:
        self._exporter = exporter
        self._destination = destination
        self._hint = hint
        self._outbox = outbox
        self._rebuild = rebuild
        self._memory_spans = memory_spans
        self._max_spans = max_spans
        self._max_age_ns = int(max_age_s * 1e9)
        self._queue: OrderedDict[int, tuple[list[ReadableSpan], int | None]] = OrderedDict()
        self._queued = 0
        self._busy = 0
        self._cond = threading.Condition()
        self._stop = False
        self._failing = 0
        self._outbox_due = outbox is not None
        self.stats = ForwardStats()
        self._thread = threading.Thread(target=self._run, name="evaltrace-forwarder", daemon=True)
        self._thread.start()

    # -- called by the tracker ---------------------------------------------------------------

    def room_for(self, spans: int) -> bool:
        """Whether ``spans`` more fit in memory (else they are sent from the outbox)."""
        with self._cond:
            return self._queued + spans <= self._memory_spans

    def submit(self, traces: dict[int, list[ReadableSpan]], outbox_ids: dict[int, int]) -> None:
        """Committed traces to send; ``outbox_ids`` maps each to its outbox entry, if any."""
        with self._cond:
            for trace_id, spans in traces.items():
                self._queue[trace_id] = (spans, outbox_ids.get(trace_id))
                self._queued += len(spans)
            if self._outbox is None:
                self._drop_oldest_over_bound()
            self._cond.notify_all()

    def wake_outbox(self) -> None:
        """Entries were left in the outbox (no room in memory): look there now."""
        with self._cond:
            self._outbox_due = self._outbox is not None
            self._cond.notify_all()

    def pending(self) -> int:
        """Spans not yet acknowledged: in memory, and in the outbox beyond them."""
        with self._cond:
            queued = self._queued + self._busy
        counts = self._outbox.pending() if self._outbox is not None else None
        return queued if counts is None else max(queued, counts[1])

    def drain(self, timeout: float) -> bool:
        """Wait until nothing is pending (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._outbox_due = self._outbox is not None
            self._cond.notify_all()
            while self._queued or self._busy or self._outbox_due or not self._outbox_empty():
                left = deadline - time.monotonic()
                if left <= 0 or self._stop:
                    return False
                self._cond.wait(min(left, 0.5))
        return True

    def _outbox_empty(self) -> bool:
        """Nothing left in the outbox (entries retried later, or leased by another process,
        count as pending); never waits for the store's lock."""
        if self._outbox is None:
            return True
        counts = self._outbox.pending(blocking=False)
        return counts is not None and counts[0] == 0

    def close(self, timeout: float) -> None:
        """Drain within ``timeout``, then stop; what is left stays in the outbox, due now."""
        drained = self.drain(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._exporter.shutdown()  # interrupts an export waiting on its own retry backoff
        self._thread.join(timeout=5)
        with self._cond:  # after the thread: a failed batch in flight is back in the queue
            left = [outbox_id for _, outbox_id in self._queue.values() if outbox_id is not None]
            lost = 0 if self._outbox is not None else self._queued
        if self._outbox is not None and left:
            self._outbox.retry_later(left, 0)  # due at the next start, not after the lease
        if not drained:
            pending = self.pending()
            if lost:
                self.stats.dropped["shutdown"] += lost
                _log.error(
                    "evaltrace: %d spans for %s were not delivered before close and are lost "
                    "(no outbox: spool=False)",
                    lost,
                    self._destination,
                )
            elif pending:
                _log.warning(
                    "evaltrace: %d spans for %s are still pending; they stay in the outbox "
                    "(%s) for the next tracker on it or `evaltrace sync`",
                    pending,
                    self._destination,
                    self._outbox.path if self._outbox else "",
                )

    # -- the thread ----------------------------------------------------------------------------

    def _drop_oldest_over_bound(self) -> None:
        dropped = 0
        while self._queued + self._busy > self._memory_spans and self._queue:
            _, (spans, _) = self._queue.popitem(last=False)
            self._queued -= len(spans)
            dropped += len(spans)
        if dropped:
            first = not self.stats.dropped["queue_full"]
            self.stats.dropped["queue_full"] += dropped
            if first or self.stats.dropped["queue_full"] % 10_000 < dropped:
                _log.error(
                    "evaltrace: %d spans for %s dropped: the in-memory queue is full (%d spans; "
                    "no outbox because spool=False); %d dropped so far",
                    dropped,
                    self._destination,
                    self._memory_spans,
                    self.stats.dropped["queue_full"],
                )

    def _take(self) -> tuple[list[_Entry], list[ReadableSpan], bool]:
        """Up to ``BATCH_SPANS`` spans of whole traces: memory first, else the outbox."""
        entries: list[_Entry] = []
        spans: list[ReadableSpan] = []
        with self._cond:
            while self._queue:
                trace_id, (trace_spans, outbox_id) = next(iter(self._queue.items()))
                if spans and len(spans) + len(trace_spans) > BATCH_SPANS:
                    break
                del self._queue[trace_id]
                self._queued -= len(trace_spans)
                spans.extend(trace_spans)
                entries.append((trace_id, trace_spans, outbox_id))
            self._busy = len(spans)
        if spans or self._outbox is None or not self._outbox_due:
            return entries, spans, False
        claimed = self._outbox.claim(limit=64)
        if not claimed:
            with self._cond:
                self._outbox_due = False
                self._cond.notify_all()
            return [], [], False
        for trace in claimed:
            rebuilt = self._rebuild(trace)
            spans.extend(rebuilt)
            entries.append((trace.trace_id, rebuilt, trace.outbox_id))
        with self._cond:
            self._busy = len(spans)
        return entries, spans, True

    def _requeue(self, entries: list[_Entry]) -> None:
        """Put a failed memory batch back at the head of the queue, in order."""
        with self._cond:
            for trace_id, spans, outbox_id in reversed(entries):
                self._queue[trace_id] = (spans, outbox_id)
                self._queue.move_to_end(trace_id, last=False)
                self._queued += len(spans)
            if self._outbox is None:
                self._drop_oldest_over_bound()

    def _run(self) -> None:
        backoff = 0.0
        last_trim = 0.0
        while True:
            with self._cond:
                while not self._stop and not self._queue and not self._outbox_due:
                    self._cond.wait(1.0)
                    if self._outbox is not None and time.monotonic() - last_trim > _TRIM_EVERY:
                        break
                if self._stop:
                    return
            if self._outbox is not None and time.monotonic() - last_trim > _TRIM_EVERY:
                # Every few seconds: bound the backlog, and look again for entries whose
                # lease ran out (a process that died while sending them).
                last_trim = time.monotonic()
                self._trim()
                with self._cond:
                    self._outbox_due = True
            try:
                entries, spans, from_outbox = self._take()
            except Exception:  # the store is gone or locked: try again later
                _log.exception("evaltrace: reading the outbox failed")
                entries, spans, from_outbox = [], [], False
            ids = [outbox_id for _, _, outbox_id in entries if outbox_id is not None]
            if not spans:
                with self._cond:
                    self._busy = 0
                    self._cond.notify_all()
                continue
            if self._send(spans, from_outbox):
                backoff = 0.0
                try:
                    if self._outbox is not None:
                        self._outbox.acknowledge(ids)
                finally:
                    with self._cond:
                        self._busy = 0
                        self._cond.notify_all()
                continue
            backoff = min(_MAX_BACKOFF, backoff * 2 or _FIRST_BACKOFF)
            if from_outbox:
                assert self._outbox is not None
                self._outbox.retry_later(ids, time.time_ns() + int(backoff * 1e9))
            else:
                self._requeue(entries)
            with self._cond:
                self._busy = 0
                self._cond.notify_all()
                self._cond.wait(backoff)

    def _export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """One request per ``BATCH_SPANS`` spans (a trace of more, from a large
        ``EVALTRACE_RESULTS_PER_TRACE``, is split: a collector's request limit is not a trace's
        size); success only when every request succeeded."""
        for start in range(0, len(spans), BATCH_SPANS):
            try:
                result = self._exporter.export(spans[start : start + BATCH_SPANS])
            except Exception as exc:  # an exporter should not raise; count it as a failure
                _log.debug("evaltrace: the OTLP exporter raised %s", redact_text(repr(exc)))
                return SpanExportResult.FAILURE
            if result is not SpanExportResult.SUCCESS:
                return result
        return SpanExportResult.SUCCESS

    def _send(self, spans: Sequence[ReadableSpan], resent: bool) -> bool:
        result = self._export(spans)
        if result is SpanExportResult.SUCCESS:
            self.stats.exported += len(spans)
            if resent:
                self.stats.resent += len(spans)
            if self._failing:
                _log.warning(
                    "evaltrace: OTLP export to %s works again after %d failed attempts",
                    self._destination,
                    self._failing,
                )
                self._failing = 0
            return True
        self.stats.failed_attempts += 1
        self._failing += 1
        if self._failing == 1:
            hint = f": {self._hint}" if self._hint else ""
            where = "the outbox" if self._outbox is not None else "memory"
            _log.error(
                "evaltrace: OTLP export of %d spans to %s failed%s. They stay in %s and are "
                "re-sent with backoff (said once until it works again).",
                len(spans),
                self._destination,
                hint,
                where,
            )
        return False

    def _trim(self) -> None:
        assert self._outbox is not None
        try:
            dropped = self._outbox.drop_overflow(self._max_spans, self._max_age_ns)
        except Exception:
            _log.exception("evaltrace: bounding the outbox failed")
            return
        for reason, count in dropped.items():
            if count:
                self.stats.dropped[reason] += count
                kept = (
                    "the local store keeps their results"
                    if self._outbox.keep_delivered
                    else "they are lost (a spool keeps nothing else)"
                )
                _log.error(
                    "evaltrace: %d pending spans for %s dropped from the outbox (%s: the "
                    "backlog holds at most %d spans for %.0f s); %s",
                    count,
                    self._destination,
                    reason,
                    self._max_spans,
                    self._max_age_ns / 1e9,
                    kept,
                )
