"""Runs written by many writers (processes or trackers, each with its own store): each writer
names itself on its spans and says in its run summaries what it wrote and whether it is done;
a reader returns every shard exactly once, says per writer how complete the run is, and a run
that declares its writers (``evaltrace.shards``) reads whole or raises naming who is short."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import (
    IncompleteResultsError,
    InMemoryQueryAdapter,
    InvalidInputError,
    InvalidInputTypeError,
    SQLiteQueryAdapter,
)
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace._plan import CapturePolicy, plan_call
from evaltrace._spans import FinishedSpanMaker, Rebuilder, emit
from evaltrace.cli import main
from evaltrace.query import HistoryFilter
from evaltrace.query._completeness import completeness
from evaltrace.query._jaeger_grpc import _ReadTracesData, span_views
from evaltrace.schema import ATTR_RUN_ID, ATTR_WRITER, BATCH_SPAN, RESULT_SPAN, SummaryRecord
from evaltrace.schema._summary_span import latest
from evaltrace.schema._walk import Limits
from evaltrace.store import StoredTrace

from .support.otlp_receiver import receiver
from .support.shard_writer import rows
from .support.wait import wait_for
from .test_summaries import Spans, received

SHARD_WRITER = Path(__file__).parent / "support" / "shard_writer.py"
RUN = "sharded-run"


class Shared(InMemorySpanExporter):
    """One exporter all writers of a test export to (standing for their shared collector): a
    writer's close does not shut it for the others."""

    def shutdown(self) -> None:
        pass


def _summary(writer: str, said: int, *, seq: int = 1, closed: bool = True) -> SummaryRecord:
    return SummaryRecord(RUN, "p", "qa", writer, seq, said, 1, 2, "{}", "{}", closed=closed)


def _log_shard(tracker: Tracker, shard: int, n: int, shards: int | None = 3) -> None:
    """Shard ``shard`` of the run: ``n`` results in batches of 25 (as the shard writer)."""
    metadata = {"evaltrace.shards": shards} if shards is not None else {}
    for start in range(0, n, 25):
        results, data = rows(shard, start, min(25, n - start))
        tracker.log_batch_sync(results, "qa", data, run_id=RUN, metadata=metadata)


def _ids(results: list[dict[str, object]]) -> list[str]:
    return sorted(str(r["sample_id"]) for r in results)


def _expected(*sizes: int) -> list[str]:
    return sorted(f"s{shard}-{i}" for shard, n in enumerate(sizes) for i in range(n))


# -- the rule, on its own --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("found", "said", "declared", "complete", "problem"),
    [
        ({"a": 3, "b": 2}, [_summary("a", 3), _summary("b", 2)], None, True, None),
        ({"a": 3, "b": 2}, [_summary("a", 3), _summary("b", 2)], 2, True, None),
        ({"a": 3}, [_summary("a", 3)], 2, False, "declared 2 writers (evaltrace.shards), 1 "),
        (
            {"a": 3, "b": 1},
            [_summary("a", 3), _summary("b", 2)],
            None,
            False,
            "b: said 2 results, found 1",
        ),
        (
            {"a": 3, "b": 4},
            [_summary("a", 3), _summary("b", 2, closed=False)],
            2,
            False,
            "b: said 2",
        ),
        (
            {"a": 3, "b": 2},
            [_summary("a", 3), _summary("b", 2, closed=False)],
            2,
            False,
            "not closed",
        ),
        ({"a": 3, "b": 2}, [_summary("a", 3)], None, False, "b: 2 results found, no run summary"),
        ({}, [], 2, False, "0 reported"),
    ],
)
def test_completeness_per_writer(
    found: dict[str, int],
    said: list[SummaryRecord],
    declared: int | None,
    complete: bool,
    problem: str | None,
) -> None:
    """A run is complete when every writer closed and is found exactly as it said, and as
    many writers reported as the run declares; otherwise each problem names its writer."""
    report = completeness(RUN, found, said, declared)
    assert report["complete"] is complete
    if problem is None:
        assert report["problems"] == []
    else:
        assert any(problem in p for p in report["problems"]), report["problems"]
    assert {w["writer"] for w in report["writers"]} == found.keys() | {s.writer for s in said}


_writer = st.tuples(st.integers(0, 5), st.integers(0, 5), st.booleans())


@given(st.lists(_writer, max_size=5), st.one_of(st.none(), st.integers(1, 6)))
def test_complete_exactly_when_every_writer_closed_and_is_found_as_said(
    writers: list[tuple[int, int, bool]], declared: int | None
) -> None:
    """Property: ``complete`` iff there is a writer, every one closed with found == said, and
    the declared count (if any) is the number of writers."""
    found = {f"w{i}": f for i, (f, _, _) in enumerate(writers) if f}
    said = [_summary(f"w{i}", s, closed=c) for i, (_, s, c) in enumerate(writers)]
    report = completeness(RUN, found, said, declared)
    expected = (
        bool(writers)
        and all(f == s and c for f, s, c in writers)
        and declared in (None, len(writers))
    )
    assert report["complete"] is expected
    assert [w["found"] for w in report["writers"]] == [f for f, _, _ in writers][: len(writers)]


@given(st.permutations(range(6)))
def test_the_latest_summary_wins_in_any_arrival_order(order: list[int]) -> None:
    """Per writer the highest seq counts, and at one seq the closed one (a close or a sync
    re-states the last summary as final), whatever order they arrive in or repeat."""
    sent = [
        _summary("a", 1, seq=1, closed=False),
        _summary("a", 2, seq=2, closed=False),
        _summary("a", 2, seq=2, closed=True),
        _summary("b", 5, seq=9, closed=False),
        _summary("b", 5, seq=9, closed=False),
        _summary("b", 4, seq=3, closed=True),
    ]
    chosen = latest(sent[i] for i in order)
    assert chosen[(RUN, "a")] == sent[2]
    assert chosen[(RUN, "b")].seq == 9 and not chosen[(RUN, "b")].closed


# -- trackers of one process, spans in memory -------------------------------------------------


def test_shards_read_whole_once_every_declared_writer_closed(tmp_path: Path) -> None:
    """Three trackers with their own stores log disjoint shards of one run: until the last
    closes, a read raises naming it; then every result reads back once, each writer's count
    matches what it said, and history holds the run once."""
    memory = Shared()
    reader = InMemoryQueryAdapter(memory)
    writers = [Tracker("p", store=tmp_path / f"w{i}.db", exporters=[memory]) for i in range(3)]
    assert len({w.writer_id for w in writers}) == 3
    for shard, (writer, n) in enumerate(zip(writers, (40, 30, 20), strict=True)):
        _log_shard(writer, shard, n)
    writers[0].close()
    writers[1].close()
    with pytest.raises(IncompleteResultsError, match=writers[2].writer_id):
        reader.run_results(RUN)
    report = reader.run_completeness(RUN)
    assert not report["complete"] and report["declared_writers"] == 3
    short = {w["writer"]: w for w in report["writers"]}[writers[2].writer_id]
    assert short == {"writer": writers[2].writer_id, "said": None, "found": 20, "closed": False}
    writers[2].close()
    assert _ids(reader.run_results(RUN)) == _expected(40, 30, 20)
    report = reader.run_completeness(RUN)
    assert report["complete"], report["problems"]
    assert sorted((w["said"], w["found"]) for w in report["writers"]) == [
        (20, 20),
        (30, 30),
        (40, 40),
    ]
    (row,) = reader.history(HistoryFilter("p"))
    assert row["num_results"] == 90 and row["metrics"]["qa.score"]["count"] == 90


class _Counting(InMemoryQueryAdapter):
    """Counts the reads that found the run incomplete."""

    incomplete = 0

    def run_results(self, run_id: str) -> list[dict[str, object]]:  # type: ignore[override]
        try:
            return super().run_results(run_id)  # type: ignore[return-value]
        except IncompleteResultsError:
            self.incomplete += 1
            raise


def test_a_reader_waits_for_the_declared_writers(tmp_path: Path) -> None:
    """``get_run_results`` of a declared run that lacks a writer waits (bounded by
    EVALTRACE_READ_TIMEOUT) and returns the whole run once the last writer closed."""
    memory = Shared()
    adapter = _Counting(memory)
    first = Tracker("p", store=tmp_path / "a.db", exporters=[memory])
    second = Tracker("p", store=tmp_path / "b.db", exporters=[memory])
    _log_shard(first, 0, 30, shards=2)
    _log_shard(second, 1, 25, shards=2)
    first.close()
    reader = Tracker("p", store=False, spool=False, query=adapter)
    got: list[list[dict[str, object]]] = []
    thread = threading.Thread(target=lambda: got.append(reader.get_run_results(RUN)))
    thread.start()
    wait_for(lambda: adapter.incomplete >= 2, 30, "the reader found the run short twice")
    assert not got
    second.close()
    thread.join(60)
    assert _ids(got[0]) == _expected(30, 25)


def test_a_reader_gives_up_naming_the_writer_that_never_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Declared 3, only 2 wrote: after EVALTRACE_READ_TIMEOUT the read raises, counting the
    missing writer; the report without the declaration would be complete."""
    monkeypatch.setenv("EVALTRACE_READ_TIMEOUT", "0.3")
    memory = Shared()
    for shard in range(2):
        with Tracker("p", store=tmp_path / f"w{shard}.db", exporters=[memory]) as writer:
            _log_shard(writer, shard, 10)
    reader = Tracker("p", store=False, spool=False, query=InMemoryQueryAdapter(memory))
    with pytest.raises(IncompleteResultsError, match=r"declared 3 writers .*2 reported: 1 missing"):
        reader.get_run_results(RUN)
    report = reader.get_run_completeness(RUN)
    assert report["declared_writers"] == 3 and len(report["writers"]) == 2
    assert all(w["said"] == w["found"] == 10 and w["closed"] for w in report["writers"])


def test_an_undeclared_run_reads_what_is_there_and_reports_who_is_short(tmp_path: Path) -> None:
    """Without ``evaltrace.shards`` a read returns what is there; the report names the writer
    that has not closed."""
    memory = Shared()
    done = Tracker("p", store=tmp_path / "a.db", exporters=[memory])
    open_ = Tracker("p", store=tmp_path / "b.db", exporters=[memory])
    _log_shard(done, 0, 10, shards=None)
    _log_shard(open_, 1, 5, shards=None)
    done.close()
    reader = InMemoryQueryAdapter(memory)
    assert _ids(reader.run_results(RUN)) == _expected(10, 5)
    report = reader.run_completeness(RUN)
    assert report["declared_writers"] is None and not report["complete"]
    (problem,) = report["problems"]
    assert problem.startswith(f"{open_.writer_id}: 5 results found, no run summary")
    open_.close()
    assert reader.run_completeness(RUN)["complete"]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (0, InvalidInputError),
        (-2, InvalidInputError),
        ("4", InvalidInputTypeError),
        (True, InvalidInputTypeError),
    ],
)
def test_the_declaration_must_be_a_writer_count(
    store_path: Path, value: object, error: type[Exception]
) -> None:
    """``evaltrace.shards`` that is not an int >= 1 fails the call, naming the key; nothing
    is stored."""
    with Tracker("p", store=store_path) as tracker:
        with pytest.raises(error, match=r"metadata\['evaltrace.shards'\]"):
            tracker.log(
                {"qa": {"score": 1}},
                "qa",
                {"id": 1},
                run_id=RUN,
                metadata={"evaltrace.shards": value},
            )
        assert tracker.stats.results_stored == 0


def test_a_store_reads_its_own_shard_and_says_it_is_one_writer(store_path: Path) -> None:
    """The embedded store of one shard reads that shard without waiting; its report names
    the store as the one writer, short of the writers the run declared."""
    with Tracker("p", store=store_path) as tracker:
        _log_shard(tracker, 0, 10)
        writer = tracker.writer_id
    reader = SQLiteQueryAdapter(store_path)
    assert len(reader.run_results(RUN)) == 10
    report = reader.run_completeness(RUN)
    assert report["writers"] == [{"writer": writer, "said": 10, "found": 10, "closed": True}]
    assert report["problems"] == ["declared 3 writers (evaltrace.shards), 1 reported: 2 missing"]


def test_each_span_names_its_writer_also_when_read_from_its_record(tmp_path: Path) -> None:
    """Result spans and batch roots carry ``eval.writer``; a Jaeger gRPC read that decodes a
    result span from its record still reads who wrote it."""
    memory = Shared()
    with Tracker("p", store=tmp_path / "a.db", exporters=[memory]) as tracker:
        _log_shard(tracker, 0, 3)
        writer = tracker.writer_id
    logged = [s for s in memory.get_finished_spans() if s.name in (RESULT_SPAN, BATCH_SPAN)]
    assert {(s.attributes or {}).get(ATTR_WRITER) for s in logged} == {writer}
    raw = encode_spans(logged).SerializeToString()
    views = list(span_views(_ReadTracesData.FromString(raw), {ATTR_RUN_ID: RUN}))
    results = [v for v in views if v.name == RESULT_SPAN]
    assert len(results) == 3 and all(v.result is not None for v in results)  # from the record
    assert {v.attributes[ATTR_WRITER] for v in views} == {writer}


def test_a_span_rebuilt_from_the_store_names_the_same_writer() -> None:
    """A trace re-sent from the store (outbox, `evaltrace sync`) is rebuilt with the writer
    the first send named, every attribute as first sent."""
    plan = plan_call(
        project_name="p",
        run_id=RUN,
        dataset_name="qa",
        results=[{"qa": {"score": 0.5}}] * 3,
        data=[{"id": i} for i in range(3)],
        metadata={"evaltrace.shards": 2},
        context_json="{}",
        link=None,
        batch_id="b",
        limits=Limits(),
        content=CapturePolicy(),
        writer="store:abc",
    )
    out = emit(FinishedSpanMaker(Resource({})), plan, chunk=512, resource_json="{}")
    (first,) = out.traces.values()
    stored = StoredTrace(0, 0, out.call, out.results, out.roots[0])
    rebuilt = Rebuilder(Limits(), "store:abc")(stored)
    assert [dict(s.attributes or {}) for s in rebuilt] == [dict(s.attributes or {}) for s in first]
    assert {(s.attributes or {}).get(ATTR_WRITER) for s in rebuilt} == {"store:abc"}


# -- processes with their own stores, one killed -9, then `evaltrace sync` ---------------------


def _start(
    store: Path, shard: int, count: int, endpoint: str, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(SHARD_WRITER),
            str(store),
            RUN,
            str(shard),
            "3",
            str(count),
            endpoint,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EVALTRACE_SUMMARY_EVERY": "50"},
    )


def _writer_of(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    first = out.splitlines()[0] if out else ""
    assert first.startswith("writer "), (out, err)
    return first.split()[1]


@pytest.mark.parametrize("resend", ["sync", "next tracker"])
@pytest.mark.parametrize("declared", [True, False], ids=["declared", "undeclared"])
def test_a_writer_killed_mid_run_is_named_until_its_store_is_sent_again(
    tmp_path: Path, declared: bool, resend: str
) -> None:
    """Three shard processes forward to one receiver; one SIGKILLs itself after 100 of 150
    results. Until its store is sent again (`evaltrace sync`, or the next tracker on that
    store, closed) a reader names it (declared: the read raises; undeclared: the report shows
    it unclosed); after, the run reads back exactly and complete, and history counts it
    once."""
    extra = () if declared else ("--undeclared",)
    stores = [tmp_path / f"shard{i}" / "evaltrace.db" for i in range(3)]
    with receiver() as rx:
        procs = [
            _start(stores[0], 0, 150, rx.endpoint, *extra),
            _start(stores[1], 1, 120, rx.endpoint, *extra),
            _start(stores[2], 2, 150, rx.endpoint, "100", *extra),
        ]
        writers = [_writer_of(p) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, -9]
        killed = writers[2]
        reader = Spans(received(rx))
        if declared:
            with pytest.raises(IncompleteResultsError, match=killed):
                reader.run_results(RUN)
        else:
            assert len(reader.run_results(RUN)) <= 370
        before = {w["writer"]: w for w in reader.run_completeness(RUN)["writers"]}
        assert not before[killed]["closed"]
        assert {w: (before[w]["said"], before[w]["found"]) for w in writers[:2]} == {
            writers[0]: (150, 150),
            writers[1]: (120, 120),
        }
        if resend == "sync":
            done = CliRunner().invoke(
                main, ["sync", "--store", str(stores[2]), "--endpoint", rx.endpoint]
            )
            assert done.exit_code == 0, done.output
            assert "0 pending" in done.output and "1 run summaries sent" in done.output
        else:
            with Tracker("shards", store=stores[2], otlp_endpoint=rx.endpoint) as next_:
                assert next_.writer_id == killed  # the store's writer, whoever opens it
        reader = Spans(received(rx))
        assert _ids(reader.run_results(RUN)) == _expected(150, 120, 100)
        report = reader.run_completeness(RUN)
        assert report["complete"], report["problems"]
        assert {w["writer"]: w["said"] for w in report["writers"]} == {
            writers[0]: 150,
            writers[1]: 120,
            killed: 100,
        }
        (row,) = reader.history(HistoryFilter("shards"))
        assert row["num_results"] == 370 and row["metrics"]["qa.score"]["count"] == 370
        scores = [i % 10 / 10 for n in (150, 120, 100) for i in range(n)]
        assert row["metrics"]["qa.score"]["mean"] == pytest.approx(sum(scores) / len(scores))
