"""Where a run's time goes on its way through the collector into Jaeger, and which process burns
the CPU: ``python -m benchmarks.probes.stages``.

One run of ``--n`` results is logged with ``log_batch_sync`` (calls of 1,000, as the
``throughput.collector_jaeger`` row) and timed at four marks: every call returned (logged), the
tracker's ``flush`` returned (the collector acknowledged every request), Jaeger's storage
exporter counted every span (stored), one ``run_results`` returned them all (read back). At each
mark the CPU seconds of this process and of the collector and Jaeger processes (``--pids``) are
read from ``/proc``. Arrival is counted by Jaeger's own metric, so nothing polls the query API
while the run is logged; that needs a Jaeger whose ``service.telemetry.metrics`` has a
Prometheus reader (the project's configs keep metrics off):

    metrics: {level: normal, readers: [{pull: {exporter: {prometheus: {host: 127.0.0.1,
              port: 18890}}}}]}

    python -m benchmarks.probes.stages --collector http://127.0.0.1:5317 \\
        --jaeger-grpc 127.0.0.1:17685 \\
        --jaeger-metrics http://127.0.0.1:18890/metrics --pids collector=PID,jaeger=PID
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid

import httpx

from evaltrace import JaegerQueryAdapter, OpenTelemetryExperimentTracker

from .. import _data
from .._procs import cpu_seconds

_STORED = "otelcol_exporter_sent_spans"
_STORAGE_EXPORTER = 'exporter="jaeger_storage_exporter"'


def _stored(url: str) -> float:
    """Spans Jaeger's storage exporter has written so far."""
    lines = httpx.get(url, timeout=5).text.splitlines()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith(_STORED) and _STORAGE_EXPORTER in line
    )


def main(argv: list[str] | None = None) -> None:
    """Log one run, print the four marks with per-stage wall and CPU seconds."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.probes.stages", description=__doc__)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--collector", default="http://127.0.0.1:4317")
    parser.add_argument("--protocol", default="grpc", choices=["grpc", "http/protobuf"])
    parser.add_argument("--jaeger-grpc", default="127.0.0.1:16685")
    parser.add_argument("--jaeger-metrics", required=True)
    parser.add_argument("--pids", default="", help="name=pid,... of the collector and Jaeger")
    parser.add_argument("--skip-read", action="store_true")
    args = parser.parse_args(argv)
    pids = {"python": os.getpid()}
    pids.update((k, int(v)) for k, v in (p.split("=") for p in args.pids.split(",") if p))

    before = _stored(args.jaeger_metrics)
    service, run_id = f"stages-{uuid.uuid4().hex[:6]}", f"stages-{uuid.uuid4().hex[:8]}"
    results, rows = _data.results_and_rows(1_000)
    marks = [("start", time.perf_counter(), cpu_seconds(pids))]
    tracker = OpenTelemetryExperimentTracker(
        "bench",
        store=False,
        spool=os.path.join(tempfile.mkdtemp(), "spool.db"),  # not the shared one per project
        otlp_endpoint=args.collector,
        otlp_protocol=args.protocol,
        resource_attributes={"service.name": service},
    )
    for start in range(0, args.n, 1_000):
        size = min(1_000, args.n - start)
        tracker.log_batch_sync(results[:size], "bench-dataset", rows[:size], run_id=run_id)
    marks.append(("logged", time.perf_counter(), cpu_seconds(pids)))
    tracker.flush()
    marks.append(("acknowledged by collector", time.perf_counter(), cpu_seconds(pids)))
    spans = args.n + -(-args.n // 500)  # + one batch root per trace of 500
    while _stored(args.jaeger_metrics) - before < spans:
        time.sleep(0.05)
    marks.append(("stored by Jaeger", time.perf_counter(), cpu_seconds(pids)))
    tracker.close()
    if not args.skip_read:
        adapter = JaegerQueryAdapter(f"grpc://{args.jaeger_grpc}", service_name=service)
        got = len(adapter.run_results(run_id))
        marks.append((f"read back ({got:,})", time.perf_counter(), cpu_seconds(pids)))
        adapter.close()
    t0 = marks[0][1]
    print(f"{args.n:,} results over {args.protocol}")
    for (name, t, cpu), (_, t_prev, cpu_prev) in zip(marks[1:], marks, strict=False):
        used = " ".join(f"{k} {cpu[k] - cpu_prev[k]:.2f}" for k in cpu)
        print(f"  {name:27s} at {t - t0:6.2f} s  (stage {t - t_prev:5.2f} s; CPU s: {used})")
    arrival, end = marks[3][1] - t0, marks[-1][1] - t0
    print(f"  arrival {args.n / arrival:,.0f} results/s; until read back {args.n / end:,.0f}/s")


if __name__ == "__main__":
    main()
