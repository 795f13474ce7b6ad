"""``get_experiment_history`` over 30 runs of 2,000 results against 30 runs of 20, cold.

* ``history.cold``: the store. Summaries are folded at write time (``run_metrics``), so a
  read costs runs, not results.
* ``history.jaeger`` (in the ``jaeger`` group: needs the servers of ``make backends-up``;
  skipped with the reason when Jaeger is down): the same runs logged to a store and straight
  to Jaeger's OTLP port (memory storage), read back over gRPC from the run-summary spans alone.
  The row checks the rows equal the store's, and notes what the results-based path (every
  result span in the lookback, summarised) costs on the same data, once.

"Cold": each sample is a fresh reader-only tracker (a fresh connection or channel, nothing
cached in Python). Target: <= 3x.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from evaltrace import JaegerQueryAdapter, OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace.query import HistoryFilter
from evaltrace.query._history_rows import summarize_runs

from . import _data
from ._report import Row, Sizes, Skipped
from ._timing import Stopwatch, alternate

__all__ = ["fill_runs", "run", "run_jaeger"]

JAEGER_HTTP = os.environ.get("EVALTRACE_TEST_JAEGER_URL", "http://127.0.0.1:16686")
JAEGER_GRPC = os.environ.get("EVALTRACE_TEST_JAEGER_GRPC", "127.0.0.1:16685")
JAEGER_OTLP = os.environ.get("EVALTRACE_TEST_JAEGER_OTLP", "http://127.0.0.1:14317")
VISIBLE_WITHIN = 180.0
"""Seconds the logged runs may take to be readable in Jaeger before the row fails."""


def fill_runs(path: Path, name: str, runs: int, per_run: int) -> None:
    """A store holding ``runs`` runs of ``per_run`` results (one ``log_batch_sync`` each)."""
    results, rows = _data.results_and_rows(per_run)
    with OpenTelemetryExperimentTracker("bench", store=path) as tracker:
        for run in range(runs):
            tracker.log_batch_sync(results, "bench-dataset", rows, run_id=f"{name}-{run:03d}")


def _sample(path: Path, runs: int) -> Callable[[], float]:
    def timed() -> float:
        tracker = OpenTelemetryExperimentTracker("bench", query=SQLiteQueryAdapter(path))
        with Stopwatch() as sw:
            got = tracker.get_experiment_history()
        tracker.close()
        assert len(got) == runs, (len(got), runs)
        return sw.seconds

    return timed


def run(sizes: Sizes) -> list[Row]:
    """Row ``history.cold``."""
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    runs = sizes.history_runs
    try:
        big, small = workdir / "big.db", workdir / "small.db"
        fill_runs(big, "big", runs, sizes.history_big)
        fill_runs(small, "small", runs, sizes.history_small)
        reps = max(3, min(sizes.reps, 5))
        cmp = alternate(
            {"small": _sample(small, runs), "big": _sample(big, runs)}, reps, sizes.warmup
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = cmp.ratio("big", "small")
    return [
        Row(
            id="history.cold",
            group="history",
            name=f"get_experiment_history, cold: {runs} runs x {sizes.history_big:,} results "
            f"vs x {sizes.history_small:,}",
            unit="ms/call",
            value=cmp.median("big") * 1e3,
            baseline_name=f"same call, {runs} runs x {sizes.history_small} results",
            baseline=cmp.median("small") * 1e3,
            ratio=ratio,
            target="<= 3",
            met=ratio <= 3,
            n=runs * sizes.history_big,
            reps=reps,
            spread=max(cmp.spread("big"), cmp.spread("small")),
            notes="fresh reader-only tracker per sample; run_metrics rows folded at write time",
        )
    ]


def _fill_jaeger(store: Path, service: str, name: str, runs: int, per_run: int) -> None:
    """``fill_runs`` into a store that also forwards to Jaeger under its own service."""
    results, rows = _data.results_and_rows(per_run)
    with OpenTelemetryExperimentTracker(
        "bench",
        store=store,
        otlp_endpoint=JAEGER_OTLP,
        otlp_protocol="grpc",
        resource_attributes={"service.name": service},
    ) as tracker:
        for run in range(runs):
            tracker.log_batch_sync(results, "bench-dataset", rows, run_id=f"{name}-{run:03d}")
        if not tracker.flush(VISIBLE_WITHIN):
            raise RuntimeError(f"Jaeger did not acknowledge the {name} runs in time")


def _visible(service: str, expected: list[object]) -> None:
    """Wait until Jaeger's history of ``service`` is the store's (summaries ingested)."""
    deadline = time.monotonic() + VISIBLE_WITHIN
    with JaegerQueryAdapter(f"grpc://{JAEGER_GRPC}", service_name=service) as adapter:
        while adapter.history(HistoryFilter("bench")) != expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Jaeger's history of {service} is not the store's in time")
            time.sleep(0.2)


def _jaeger_sample(service: str, runs: int) -> Callable[[], float]:
    def timed() -> float:
        tracker = OpenTelemetryExperimentTracker(
            "bench", query=JaegerQueryAdapter(f"grpc://{JAEGER_GRPC}", service_name=service)
        )
        with Stopwatch() as sw:
            got = tracker.get_experiment_history()
        tracker.close()
        assert len(got) == runs, (len(got), runs)
        return sw.seconds

    return timed


def _results_based(service: str) -> float:
    """Seconds of history the way it was read before summary spans: every result span of the
    project in the lookback, summarised (one cold sample)."""
    adapter = JaegerQueryAdapter(f"grpc://{JAEGER_GRPC}", service_name=service)
    with adapter, Stopwatch() as sw:
        summarize_runs(adapter.project_results(HistoryFilter("bench")))
    return sw.seconds


def run_jaeger(sizes: Sizes) -> list[Row | Skipped]:
    """Row ``history.jaeger``, or why it is skipped."""
    try:
        httpx.get(f"{JAEGER_HTTP}/api/v3/services", timeout=2.0).raise_for_status()
    except httpx.HTTPError as exc:
        reason = f"Jaeger not reachable at {JAEGER_HTTP} ({type(exc).__name__}): make backends-up"
        return [Skipped(id="history.jaeger", group="jaeger", reason=reason)]
    runs = sizes.history_runs
    tag = uuid.uuid4().hex[:8]
    services = {
        "big": f"evaltrace-bench-hist-big-{tag}",
        "small": f"evaltrace-bench-hist-small-{tag}",
    }
    per_run = {"big": sizes.history_big, "small": sizes.history_small}
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    try:
        for size, service in services.items():
            store = workdir / f"{size}.db"
            _fill_jaeger(store, service, size, runs, per_run[size])
            _visible(service, SQLiteQueryAdapter(store).history(HistoryFilter("bench")))
        before = {size: _results_based(service) for size, service in services.items()}
        reps = max(3, min(sizes.reps, 7))
        cmp = alternate(
            {size: _jaeger_sample(service, runs) for size, service in services.items()},
            reps,
            sizes.warmup,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = cmp.ratio("big", "small")
    return [
        Row(
            id="history.jaeger",
            group="jaeger",
            name=f"get_experiment_history on Jaeger (gRPC, memory storage), cold: {runs} runs x "
            f"{sizes.history_big:,} results vs x {sizes.history_small:,}",
            unit="ms/call",
            value=cmp.median("big") * 1e3,
            baseline_name=f"same call, {runs} runs x {sizes.history_small} results",
            baseline=cmp.median("small") * 1e3,
            ratio=ratio,
            target="<= 3",
            met=ratio <= 3,
            n=runs * sizes.history_big,
            reps=reps,
            spread=max(cmp.spread("big"), cmp.spread("small")),
            notes="run-summary spans only; rows equal the store's; results-based path on the "
            f"same data (one cold sample): {before['big'] * 1e3:.0f} ms vs "
            f"{before['small'] * 1e3:.0f} ms",
        )
    ]
