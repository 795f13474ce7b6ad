"""Rows 4 and 6 on Jaeger: read-back of a run, and results per second through the collector.

Needs the backends of ``make backends-up`` (Jaeger v2 and the collector on 127.0.0.1; the
addresses come from ``deploy/scripts/backends-env.sh``'s variables). Without them the rows
are reported as skipped, never guessed.

* ``readback.jaeger.grpc`` / ``.http``: ``JaegerQueryAdapter.run_results`` of a run against
  the raw fetch of the same spans over the same transport: the same ``FindTraces`` call with
  its protobuf decoded (gRPC), or the same ``GET /api/v3/traces`` with its JSON parsed (HTTP).
* ``readback.jaeger.grpc.floor``: the same gRPC read against the least Python reader of the
  same answer (``_read_floor``), in the same alternation: how much of the ratio above is
  evaltrace, and how much any Python reader pays (reported, no target).
* ``throughput.collector_jaeger``: results per second from the first ``log_batch_sync`` (to
  the collector's OTLP/gRPC port) until Jaeger holds every span of the run (arrival); baseline:
  the same spans replayed by the bare SDK (``_floor``: ``BatchSpanProcessor`` into the SDK's
  OTLP/gRPC exporter) to the same collector, timed alike.
* ``throughput.collector_jaeger.readable``: the same runs, until one ``run_results`` call after
  arrival has returned all of them (arrival + one read-back; both sides read with the adapter).
* ``throughput.collector_jaeger.cpu``: the same runs, the CPU seconds every process of the path
  burns a result (this process until its sender is done; the collector and Jaeger of ``make
  backends-up`` until arrival, from ``/proc``), turned into the most results a second this
  machine's cores could carry: whether the arrival target is reachable here at all.

Arrival is polled only once the sender is done (``flush`` / ``force_flush`` returned: the
collector acknowledged every request), with the raw ``FindTraces`` span count; it is the start
of the first poll that counted every span (that poll itself is not charged). Before 2026-12-02
the row polled ``run_results`` every 0.1 s while logging: each poll re-read the whole run on
the same two cores, and the polling cost more than it measured (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource

from evaltrace import JaegerQueryAdapter, OpenTelemetryExperimentTracker
from evaltrace.schema import query_terms

from . import _data, _floor, _procs, _read_floor, bench_history
from ._report import Row, Sizes, Skipped
from ._timing import Comparison, Stopwatch, alternate
from .bench_readback import fill, readback_row

__all__ = ["run"]

COLLECTOR = os.environ.get("EVALTRACE_TEST_COLLECTOR_OTLP", "http://127.0.0.1:4317")
JAEGER_HTTP = os.environ.get("EVALTRACE_TEST_JAEGER_URL", "http://127.0.0.1:16686")
JAEGER_GRPC = os.environ.get("EVALTRACE_TEST_JAEGER_GRPC", "127.0.0.1:16685")
JAEGER_OTLP = os.environ.get("EVALTRACE_TEST_JAEGER_OTLP", "http://127.0.0.1:14317")
JAEGER_N = 20_000
"""Results per Jaeger run (the store's read-back rows use ``readback_n``)."""
VISIBLE_WITHIN = 180.0
"""Seconds a logged run may take to become fully readable before the row fails."""


def _up() -> str | None:
    """Why the backends cannot be used, or None."""
    health = os.environ.get("EVALTRACE_TEST_COLLECTOR_HEALTH", "http://127.0.0.1:13133/")
    for name, url in (("Jaeger", f"{JAEGER_HTTP}/api/v3/services"), ("collector", health)):
        try:
            httpx.get(url, timeout=2.0).raise_for_status()
        except httpx.HTTPError as exc:
            return f"{name} not reachable at {url} ({exc.__class__.__name__}): make backends-up"
    return None


def _service() -> str:
    return f"evaltrace-bench-{uuid.uuid4().hex[:8]}"


def _wait_for(adapter: JaegerQueryAdapter, run_id: str, n: int) -> None:
    deadline = time.monotonic() + VISIBLE_WITHIN
    while True:
        try:
            if len(adapter.run_results(run_id)) >= n:
                return
        except Exception:  # half-stored traces are expected while exporting
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"Jaeger did not hold all {n} results of {run_id} in time")
        time.sleep(0.1)


def _arrival(
    count: Callable[[], int], spans: int, mark: Callable[[], dict[str, float]]
) -> tuple[float, dict[str, float]]:
    """``perf_counter`` time at which the first poll that found all ``spans`` started, and
    what ``mark`` (the servers' CPU seconds) said then: the poll itself is not charged."""
    deadline = time.monotonic() + VISIBLE_WITHIN
    while True:
        started, marked = time.perf_counter(), mark()
        try:
            if count() >= spans:
                return started, marked
        except Exception:  # half-stored traces are expected while exporting
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"Jaeger did not hold all {spans} spans in time")
        time.sleep(0.05)


def _log_run(endpoint: str, service: str, run_id: str, n: int) -> None:
    # A spool of its own: the default one is per project name (~/.cache/evaltrace/spool/
    # bench.db), shared with any other "bench" tracker on the machine, whose forwarder may then
    # claim this run's overflow and send it to its own collector (seen: 3,006 spans gone).
    with (
        tempfile.TemporaryDirectory() as spool,
        OpenTelemetryExperimentTracker(
            "bench",
            store=False,
            spool=os.path.join(spool, "spool.db"),
            otlp_endpoint=endpoint,
            otlp_protocol="grpc",
            resource_attributes={"service.name": service},
        ) as tracker,
    ):
        fill(tracker, n, run_id)


def _window(adapter: JaegerQueryAdapter) -> tuple[datetime, datetime]:
    """The search window ``run_results`` uses."""
    end = datetime.now(UTC) + timedelta(minutes=1)
    return end - adapter.lookback, end


def _raw_grpc(adapter: JaegerQueryAdapter, service: str, run_id: str) -> Callable[[], int]:
    grpc = adapter._grpc
    assert grpc is not None
    terms = query_terms(run_id=run_id)

    def fetch() -> int:
        chunks = grpc.traces(service, terms, *_window(adapter), adapter.search_depth)
        return sum(
            len(scope.spans)
            for chunk in chunks
            for resource in chunk.resource_spans
            for scope in resource.scope_spans
        )

    return fetch


def _raw_http(adapter: JaegerQueryAdapter, run_id: str) -> Callable[[], int]:
    http = adapter._http
    assert http is not None
    terms = query_terms(run_id=run_id)

    def fetch() -> int:
        params = adapter._http_params(terms, *_window(adapter))
        body: Any = http.client.get("/api/v3/traces", params=params).json()
        return sum(
            len(scope.get("spans", []))
            for resource in body.get("result", {}).get("resourceSpans", [])
            for scope in resource.get("scopeSpans", [])
        )

    return fetch


def _floor_reader(adapter: JaegerQueryAdapter, service: str, run_id: str) -> Callable[[], int]:
    """``_read_floor``'s least decoding of the stream evaltrace's reader takes: the same
    ``FindTraces`` request as ``_raw_grpc``, parsed into the same reading view."""
    grpc = adapter._grpc
    assert grpc is not None
    request = grpc.request(
        service, query_terms(run_id=run_id), *_window(adapter), adapter.search_depth
    )
    return lambda: len(_read_floor.decode(grpc._find_read(request, **grpc._call)))


def _readback(sizes: Sizes) -> list[Row]:
    n = min(sizes.readback_n, JAEGER_N)
    service, run_id = _service(), f"bench-jaeger-{uuid.uuid4().hex[:8]}"
    _log_run(JAEGER_OTLP, service, run_id, n)
    rows: list[Row] = []
    for transport, url in (("grpc", f"grpc://{JAEGER_GRPC}"), ("http", JAEGER_HTTP)):
        adapter = JaegerQueryAdapter(url, service_name=service, search_depth=1_000)
        try:
            _wait_for(adapter, run_id, n)
            fetches: dict[str, Callable[[], int]] = {
                "raw": (
                    _raw_grpc(adapter, service, run_id)
                    if transport == "grpc"
                    else _raw_http(adapter, run_id)
                ),
                "evaltrace": lambda adapter=adapter: len(adapter.run_results(run_id)),
            }
            if transport == "grpc":
                fetches["floor"] = _floor_reader(adapter, service, run_id)
            counts: dict[str, int] = {}

            def timed(
                name: str, fetch: Callable[[], int], counts: dict[str, int] = counts
            ) -> Callable[[], float]:
                def side() -> float:
                    with Stopwatch() as sw:
                        counts[name] = fetch()
                    return sw.seconds

                return side

            cmp = alternate(
                {name: timed(name, fetch) for name, fetch in fetches.items()},
                sizes.reps,
                sizes.warmup,
            )
        finally:
            adapter.close()
        notes = (
            f"results {counts.get('evaltrace')}, raw spans {counts.get('raw')} "
            "(results + one batch root per trace)"
        )
        if "floor" in cmp.samples:
            notes += (
                f"; the least Python reader ({counts.get('floor')} results) is "
                f"{cmp.ratio('floor', 'raw'):.2f}x the raw fetch "
                f"(readback.jaeger.grpc.floor)"
            )
        rows.append(
            readback_row(
                f"readback.jaeger.{transport}",
                "jaeger",
                f"get_run_results of a {n:,}-result run, Jaeger API v3 over {transport}",
                f"the same FindTraces fetch over {transport}, decoded, no more",
                cmp,
                n,
                notes=notes,
            )
        )
        if "floor" in cmp.samples:
            rows.append(_floor_row(cmp, n, counts))
    return rows


def _floor_row(cmp: Comparison, n: int, counts: dict[str, int]) -> Row:
    """evaltrace's gRPC read against the least Python reader of the same answer, measured in
    the same alternation as ``readback.jaeger.grpc`` (``_read_floor``)."""
    ratio = cmp.ratio("evaltrace", "floor")
    return Row(
        id="readback.jaeger.grpc.floor",
        group="jaeger",
        name=f"get_run_results of a {n:,}-result run over gRPC",
        unit="ms/run",
        value=cmp.median("evaltrace") * 1e3,
        baseline_name="the least Python reader of the same FindTraces answer (_read_floor: "
        "parse, 5 lookups, orjson, one dict a result; no checks, no dedupe, no order)",
        baseline=cmp.median("floor") * 1e3,
        ratio=ratio,
        target="(reported: what evaltrace adds to the least reader)",
        met=None,
        n=n,
        reps=len(cmp.samples["floor"]),
        spread=max(cmp.spread("evaltrace"), cmp.spread("floor")),
        notes=f"floor / raw fetch: {cmp.ratio('floor', 'raw'):.2f}; "
        f"floor results {counts.get('floor')}",
        extra={"floor_over_raw": cmp.ratio("floor", "raw")},
    )


def _throughput(sizes: Sizes) -> list[Row | Skipped]:
    n = min(sizes.readback_n, JAEGER_N)
    pairs = list(zip(*_data.results_and_rows(min(n, 1_000)), strict=True))
    template = _floor.capture(
        lambda tracker: fill(tracker, n, "bench-tput-template"),
        [pairs[i % len(pairs)] for i in range(n)],
    )
    spans = sum(1 + len(span.children) for call in template for span in call.spans)
    counts: dict[str, int] = {}
    readable: dict[str, list[float]] = {"floor": [], "evaltrace": []}
    servers = _procs.backend_pids(COLLECTOR, JAEGER_GRPC)
    used: dict[str, list[dict[str, float]]] = {"floor": [], "evaltrace": []}

    def timed(side: str, send: Callable[[str, str], None]) -> float:
        """Seconds from the first span sent until Jaeger held them all (arrival); the seconds
        until one read-back after that returned them all go to ``readable``, the CPU seconds
        of this process (until the sender is done) and of the servers (until arrival) to
        ``used``."""
        service, run_id = _service(), f"bench-tput-{uuid.uuid4().hex[:8]}"
        adapter = JaegerQueryAdapter(f"grpc://{JAEGER_GRPC}", service_name=service)
        pids = servers if isinstance(servers, dict) else {}
        try:
            start, cpu = time.perf_counter(), _procs.cpu_seconds(pids)
            client = time.process_time()
            send(service, run_id)
            client = time.process_time() - client
            count = _raw_grpc(adapter, service, run_id)
            arrived, cpu_then = _arrival(count, spans, lambda: _procs.cpu_seconds(pids))
            used[side].append({"client": client, **{k: cpu_then[k] - cpu[k] for k in pids}})
            counts[side] = len(adapter.run_results(run_id))
            readable[side].append(time.perf_counter() - start)
        finally:
            adapter.close()
        return arrived - start

    def evaltrace_send(service: str, run_id: str) -> None:
        _log_run(COLLECTOR, service, run_id, n)  # ends with flush: every span acknowledged

    def floor_send(service: str, run_id: str) -> None:
        calls = [
            _floor.FloorCall(tuple(_floor.with_run_id(c.spans, run_id)), c.rows) for c in template
        ]
        pipeline = _floor.Floor(
            OTLPSpanExporter(endpoint=COLLECTOR, insecure=True),
            None,
            Resource.create({"service.name": service}),
        )
        try:
            _floor.replay(pipeline, calls)  # ends with force_flush: every span exported
        finally:
            pipeline.shutdown()

    cmp = alternate(
        {
            "floor": lambda: timed("floor", floor_send),
            "evaltrace": lambda: timed("evaltrace", evaltrace_send),
        },
        sizes.reps,
        sizes.warmup,
    )
    for samples in (*readable.values(), *used.values()):  # the warm-up rounds' are not samples
        del samples[: sizes.warmup]
    read = Comparison(readable)
    notes = f"read back: evaltrace {counts.get('evaltrace')}, floor {counts.get('floor')}"
    rows: list[Row | Skipped] = []
    for row_id, what, comparison in (
        ("throughput.collector_jaeger", "until Jaeger holds every span", cmp),
        ("throughput.collector_jaeger.readable", "until one read-back returns it all", read),
    ):
        value = n / comparison.median("evaltrace")
        arrival = row_id == "throughput.collector_jaeger"
        rows.append(
            Row(
                id=row_id,
                group="jaeger",
                name=f"results/s, {n:,}-result run via the collector into Jaeger, {what}",
                unit="results/s",
                value=value,
                baseline_name="the same spans from the bare SDK, same path, timed alike",
                baseline=n / comparison.median("floor"),
                ratio=comparison.ratio("floor", "evaltrace"),
                target=">= 5,000 (issue 10); ratio = share of the floor's throughput"
                if arrival
                else "(reported; ratio = share of the floor's throughput)",
                met=value >= 5_000 if arrival else None,
                n=n,
                reps=sizes.reps,
                spread=max(comparison.spread("evaltrace"), comparison.spread("floor")),
                notes=notes,
            )
        )
    rows.append(
        _cpu_row(used, n, sizes)
        if isinstance(servers, dict)
        else Skipped("throughput.collector_jaeger.cpu", "jaeger", servers)
    )
    return rows


def _cpu_row(used: dict[str, list[dict[str, float]]], n: int, sizes: Sizes) -> Row:
    """The most results a second this machine's cores could carry through the path, from the
    CPU every process of it burns a result (client, collector, Jaeger): an upper bound, as if
    the work spread over every core with nothing waiting. Below 5,000/s, the arrival target
    is out of reach on this machine whatever the client does (the bare SDK's ceiling shows
    what OTLP from Python costs by itself). The notes split the bound: one client process's
    CPU is mostly serialized under its GIL, so it caps a writer at 1 / its CPU a result; the
    servers' share says what a core carries once several writers feed them."""
    cores = len(os.sched_getaffinity(0))
    per_result = {  # median microseconds a result, per side and process
        side: {k: statistics.median(s[k] for s in samples) * 1e6 / n for k in samples[0]}
        for side, samples in used.items()
    }
    total = {
        side: statistics.median(sum(s.values()) for s in samples) * 1e6 / n
        for side, samples in used.items()
    }
    ceiling = {side: cores * 1e6 / us for side, us in total.items()}
    mine = per_result["evaltrace"]
    one_writer = 1e6 / mine["client"]
    servers = 1e6 / (mine["collector"] + mine["jaeger"])

    def said(side: str) -> str:
        return ", ".join(f"{k} {us:.0f}" for k, us in per_result[side].items())

    return Row(
        id="throughput.collector_jaeger.cpu",
        group="jaeger",
        name=f"results/s {cores} cores could carry at best through the collector into Jaeger "
        "(cores / CPU of every process a result)",
        unit="results/s",
        value=ceiling["evaltrace"],
        baseline_name="the same for the bare SDK sending the same spans",
        baseline=ceiling["floor"],
        ratio=ceiling["evaltrace"] / ceiling["floor"],
        target=">= 5,000 for the arrival target to be reachable here",
        met=ceiling["evaltrace"] >= 5_000,
        n=n,
        reps=sizes.reps,
        notes=f"CPU us a result: evaltrace {total['evaltrace']:.0f} ({said('evaltrace')}); "
        f"bare SDK {total['floor']:.0f} ({said('floor')}); one writer process at most "
        f"{one_writer:,.0f}/s (its GIL), collector + Jaeger {servers:,.0f}/s a core",
        extra={
            "cores": cores,
            "us_per_result": per_result,
            "us_total": total,
            "one_writer_per_s": one_writer,
            "servers_per_core_per_s": servers,
        },
    )


def run(sizes: Sizes) -> list[Row | Skipped]:
    """Rows ``readback.jaeger.*``, ``throughput.collector_jaeger[.readable]`` and
    ``history.jaeger`` (``bench_history``: Jaeger alone), or why they are skipped."""
    history = bench_history.run_jaeger(sizes)
    reason = _up()
    if reason:
        return [
            *(
                Skipped(id=row, group="jaeger", reason=reason)
                for row in (
                    "readback.jaeger.grpc",
                    "readback.jaeger.grpc.floor",
                    "readback.jaeger.http",
                    "throughput.collector_jaeger",
                    "throughput.collector_jaeger.readable",
                    "throughput.collector_jaeger.cpu",
                )
            ),
            *history,
        ]
    return [*_readback(sizes), *_throughput(sizes), *history]
