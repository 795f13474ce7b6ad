"""The forwarder: sends committed traces over OTLP, marks them delivered only on success.

Traces come from memory (just committed by this process, leased in the outbox at birth) or
from the store's outbox (due: left by a crash, an outage, or another process). A failed send is
retried with exponential backoff (0.5 s doubling to 30 s) while the process runs; what is still
pending at exit stays in the outbox for the next tracker on the store or ``evaltrace sync``.
Without an outbox (``spool=False``) memory is all there is: its bound drops the oldest traces,
counted and logged.

With a log exporter, each trace's result spans also go out as ``gen_ai.evaluation.result``
log records (``_log_records``), made from the spans at send time: a trace is settled (its
outbox entry acknowledged) only when its spans *and* its records are, and one whose records
failed is sent again whole (readers drop the repeated spans by span id, the repeated records by
``eval.event_id``). A collector that has no logs pipeline (OTLP/HTTP 404, gRPC UNIMPLEMENTED)
is said once and sent no more records; the spans go on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .._config import DEFAULT_MAX_REQUEST_BYTES
from .._urls import redact_text
from ..schema import RESULT_SPAN
from ..store import Outbox, StoredTrace
from . import _log_records
from ._otlp_answer import FORWARDER_THREAD, Answer, last_answer
from ._requests import pack

__all__ = ["ForwardStats", "Forwarder"]

_log = logging.getLogger("evaltrace")

BATCH_SPANS = 512
"""Spans taken from memory per round; requests are then packed by encoded bytes
(``_requests``, ``EVALTRACE_OTLP_MAX_REQUEST_BYTES``)."""
_FIRST_BACKOFF, _MAX_BACKOFF = 0.5, 30.0
_TRIM_EVERY = 10.0
_JOIN_GRACE = 0.2
"""Seconds close() gives the thread to return once the exporter is shut down (it then stops
waiting on its retry backoff), even past the timeout."""

_Entry = tuple[int, list[ReadableSpan], int | None]
"""A trace being sent: its id, its spans, its outbox entry (None without an outbox)."""


@dataclass
class ForwardStats:
    """What the forwarder did; read through ``tracker.stats``."""

    exported: int = 0
    resent: int = 0
    rejected: int = 0
    """Spans the collector answered as rejected (OTLP ``partial_success``): not re-sent."""
    failed_attempts: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    log_records_exported: int = 0
    """``gen_ai.evaluation.result`` log records acknowledged (re-sends included)."""
    log_records_rejected: int = 0
    log_records_dropped: Counter[str] = field(default_factory=Counter)
    """Records not delivered, by reason (``not_accepted``: the collector takes no logs)."""


@dataclass(frozen=True)
class _Signal:
    """Spans or log records: what one request carries, and through which exporter."""

    noun: str
    exporter: Any
    ok: Callable[[Any], bool]
    measure: Callable[[Any, int], int] | None


def _span_ok(result: Any) -> bool:
    return result is SpanExportResult.SUCCESS


class Forwarder:
    """One background thread per tracker that forwards over OTLP."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        destination: str,
        hint: str | None,
        outbox: Outbox | None,
        rebuild: Callable[[StoredTrace], list[ReadableSpan]],
        memory_spans: int,
        max_spans: int,
        max_age_s: float,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        log_exporter: _log_records.LogRecordExporter | None = None,
    ) -> None:
        self._exporter = exporter
        self._spans = _Signal("spans", exporter, _span_ok, None)
        self._log_exporter = log_exporter
        self._logs = (
            _Signal(
                "log records",
                log_exporter,
                _log_records.exported,
                _log_records.record_size,
            )
            if log_exporter is not None
            else None
        )
        self._max_request = max_request_bytes
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
        self._in_flight: list[int] = []
        """Outbox entries of the request being sent (due again if close() cannot wait)."""
        self._cond = threading.Condition()
        self._stop = False
        self._failing: Counter[str] = Counter()
        """Failed attempts in a row, per signal (said once until it works again)."""
        self._outbox_due = outbox is not None
        self.stats = ForwardStats()
        self._thread = threading.Thread(target=self._run, name=FORWARDER_THREAD, daemon=True)
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
        """Drain within ``timeout``, then stop; what is left stays in the outbox, due now.
        A request still hanging at ``timeout`` is not waited for: its entries are due now too
        (should it still succeed, they are sent twice; readers drop duplicates)."""
        deadline = time.monotonic() + timeout
        drained = self.drain(timeout)
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._exporter.shutdown()  # interrupts an export waiting on its own retry backoff
        if self._log_exporter is not None:
            self._log_exporter.shutdown()  # type: ignore[no-untyped-call]
        self._thread.join(timeout=max(_JOIN_GRACE, deadline - time.monotonic()))
        with self._cond:  # after the thread: a failed batch in flight is back in the queue
            left = [outbox_id for _, outbox_id in self._queue.values() if outbox_id is not None]
            if self._thread.is_alive():  # hung in a request
                left += self._in_flight
            lost = 0 if self._outbox is not None else self._queued + self._busy
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
                    "evaltrace: %d spans (results, with their batch and run-summary spans) for "
                    "%s are still pending; they stay in the outbox "
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
            if not spans:
                with self._cond:
                    self._busy = 0
                    self._cond.notify_all()
                continue
            with self._cond:
                self._in_flight = [o for _, _, o in entries if o is not None]
            done, left = self._deliver(entries, from_outbox)
            try:
                if self._outbox is not None:
                    self._outbox.acknowledge([o for _, _, o in done if o is not None])
                    if left and from_outbox:
                        backoff = min(_MAX_BACKOFF, backoff * 2 or _FIRST_BACKOFF)
                        due = time.time_ns() + int(backoff * 1e9)
                        self._outbox.retry_later([o for _, _, o in left if o is not None], due)
            except Exception:  # closed under a hung request: the entries stay leased
                if not self._stop:
                    _log.exception("evaltrace: updating the outbox failed")
            if not left:
                backoff = 0.0
                with self._cond:
                    self._busy = 0
                    self._cond.notify_all()
                continue
            if not from_outbox:
                backoff = min(_MAX_BACKOFF, backoff * 2 or _FIRST_BACKOFF)
                self._requeue(left)
            with self._cond:
                self._busy = 0
                self._cond.notify_all()
                self._cond.wait(backoff)

    def _deliver(self, entries: list[_Entry], resent: bool) -> tuple[list[_Entry], list[_Entry]]:
        """Send the entries' spans, then the log records of those whose spans went, in
        requests under the byte limit, in order, until one fails; returns the entries settled
        (delivered, rejected or dropped: acknowledge) and those to send again (whole)."""
        failed = self._send(self._spans, [spans for _, spans, _ in entries], resent)
        logs = self._logs
        if logs is not None:
            went = [k for k in range(len(entries)) if k not in failed]
            records = [_log_records.records_of(entries[k][1]) for k in went]
            if any(records):
                failed |= {went[k] for k in self._send(logs, records, resent)}
        done = [e for k, e in enumerate(entries) if k not in failed]
        return done, [e for k, e in enumerate(entries) if k in failed]

    def _send(self, signal: _Signal, groups: list[list[Any]], resent: bool) -> set[int]:
        """Send ``groups`` (one per entry) of ``signal``; returns the positions of the groups
        not settled (a request failed: that one and every later one are sent again)."""
        if signal.measure is None:
            requests, too_large = pack(groups, self._max_request)
        else:
            requests, too_large = pack(groups, self._max_request, signal.measure)
        if too_large:
            sizes = sorted(size for _, _, size in too_large)
            self._drop(
                signal,
                "too_large",
                len(too_large),
                f"each encodes to more than one request may hold ({sizes[0]:,} to "
                f"{sizes[-1]:,} bytes; EVALTRACE_OTLP_MAX_REQUEST_BYTES={self._max_request:,})",
            )
        failed: set[int] = set()
        for at, request in enumerate(requests):
            if not self._post(signal, request.spans, resent):
                failed.update(owner for later in requests[at:] for owner in later.owners)
                break
        return failed

    def _post(self, signal: _Signal, items: Sequence[Any], resent: bool) -> bool:
        """One request, handled as the OTLP spec says; True when settled (delivered, rejected
        by the collector, or dropped as too large / bad), False to retry later."""
        exporter = signal.exporter
        try:
            last_answer(exporter)  # forget an earlier one
            result = exporter.export(items)
            answer = last_answer(exporter)
        except Exception as exc:  # an exporter should not raise; count it as a failure
            result, answer = None, Answer(None, redact_text(repr(exc))[:200])
        if result is not None and signal.ok(result):
            rejected = min(answer.rejected, len(items)) if answer else 0
            self._delivered(signal, len(items) - rejected, resent)
            if rejected:
                self._rejected(signal, rejected)
                _log.warning(
                    "evaltrace: %s rejected %d of %d %s (%s); they are not re-sent%s",
                    self._destination,
                    rejected,
                    len(items),
                    signal.noun,
                    answer.message if answer and answer.message else "no message",
                    self._kept(),
                )
            return True
        status = answer.status if answer else None
        if signal is self._logs and answer and (status == 404 or answer.code == "UNIMPLEMENTED"):
            self._logs_not_accepted(len(items), answer)
            return True
        if status == 413 and len(items) > 1:  # too large for this collector: halve, resend
            half = len(items) // 2
            return self._post(signal, items[:half], resent) and self._post(
                signal, items[half:], resent
            )
        if status in (400, 413):  # not retryable (OTLP spec): retrying cannot help
            reason = "too_large" if status == 413 else "bad_request"
            cause = answer.reason if answer else ""
            self._drop(
                signal, reason, len(items), f"the collector answered {status} {cause}".strip()
            )
            return True
        self._failed(signal, items, answer)
        return False

    def _logs_not_accepted(self, records: int, answer: Answer) -> None:
        """The collector has no logs pipeline: say so once, and send it no more records."""
        self._logs = None
        self.stats.log_records_dropped["not_accepted"] += records
        _log.warning(
            "evaltrace: %s takes no OTLP logs (%s): the gen_ai.evaluation.result log records "
            "are not sent to it from now on; the spans (with the same events) still are. Add "
            "a logs pipeline to the collector, or set EVALTRACE_OTLP_LOGS=false to not try",
            self._destination,
            f"{answer.status} {answer.reason}".strip() if answer.status else answer.code,
        )

    def _kept(self) -> str:
        if self._outbox is None:
            return ""
        return (
            " (the local store keeps their results)"
            if self._outbox.keep_delivered
            else " (a spool keeps nothing else: they are lost)"
        )

    def _drop(self, signal: _Signal, reason: str, items: int, cause: str) -> None:
        if signal is self._spans:
            self.stats.dropped[reason] += items
        else:
            self.stats.log_records_dropped[reason] += items
        _log.error(
            "evaltrace: %d %s for %s dropped (%s): %s%s",
            items,
            signal.noun,
            self._destination,
            reason,
            cause,
            self._kept(),
        )

    def _rejected(self, signal: _Signal, items: int) -> None:
        if signal is self._spans:
            self.stats.rejected += items
        else:
            self.stats.log_records_rejected += items

    def _delivered(self, signal: _Signal, items: int, resent: bool) -> None:
        if signal is not self._spans:
            self.stats.log_records_exported += items
        else:
            self.stats.exported += items
            if resent:
                self.stats.resent += items
        if self._failing[signal.noun]:
            _log.warning(
                "evaltrace: OTLP export of %s to %s works again after %d failed attempts",
                signal.noun,
                self._destination,
                self._failing[signal.noun],
            )
            self._failing[signal.noun] = 0

    def _failed(self, signal: _Signal, items: Sequence[Any], answer: Answer | None) -> None:
        self.stats.failed_attempts += 1
        self._failing[signal.noun] += 1
        if self._failing[signal.noun] == 1 and signal is not self._spans:
            _log.error(
                "evaltrace: OTLP export of %d evaluation log records to %s failed (%s). Their "
                "traces stay in %s and are re-sent with backoff (said once until it works "
                "again).",
                len(items),
                self._destination,
                (answer.reason or answer.code or "no answer") if answer else "no answer",
                "the outbox" if self._outbox is not None else "memory",
            )
        elif self._failing[signal.noun] == 1:
            spans = items
            results = sum(1 for s in spans if s.name == RESULT_SPAN)
            if answer is None:
                cause = "no answer"
            elif answer.status is None:
                cause = answer.reason
            else:
                cause = f"{answer.status} {answer.reason}".strip()
            hint = f"; {self._hint}" if self._hint else ""
            where = "the outbox" if self._outbox is not None else "memory"
            _log.error(
                "evaltrace: OTLP export of %d results (%d spans with their batch and summary "
                "spans) to %s failed (%s%s). They stay in %s and are re-sent with backoff "
                "(said once until it works again).",
                results,
                len(spans),
                self._destination,
                cause,
                hint,
                where,
            )

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
