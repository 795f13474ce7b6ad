"""Rows ``scale.*``: two runs of ``scale_n`` results each in the embedded store (1,000,000 in
the full suite): compare them, open their pages, and keep ``/`` answering meanwhile.

The store is built once per size and kept at ``~/.cache/evaltrace/bench-scale-v5-<n>.db``
(``VERSION`` changes when what it holds does; older files there are deleted). Every figure
is a first load in a fresh process: the compare and the full read each in their own
interpreter (peak RSS, ``VmHWM``, above the interpreter with evaltrace imported), the pages
from a fresh ``evaltrace ui`` server (its own VmHWM read from ``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from ._report import Row, Sizes

__all__ = ["fixture", "run"]

REPO = Path(__file__).resolve().parents[1]
VERSION = 5
"""Of the fixture: bump when the runs it holds (or the store's columns) change."""
RUNS = ("scale-a", "scale-b")
BATCH = 10_000
COMPARE_BUDGET = 0.3
"""Compare time per time of reading both runs' full results (issue 22)."""
PAGE_BUDGET_S = 1.0
COMPARE_PAGE_BUDGET_S = 3.0
INDEX_BUDGET_S = 0.5


def _cache() -> Path:
    return Path(os.environ.get("EVALTRACE_BENCH_CACHE") or Path.home() / ".cache" / "evaltrace")


def _result(i: int, run: int) -> dict[str, Any]:
    from . import _data

    # B differs from A on one sample in ten: moves in both directions, most samples unchanged
    return _data.result(i + 1 if run and i % 10 == 0 else i)


def fixture(n: int) -> Path:
    """The store holding ``RUNS``, ``n`` results each (built once, then reused)."""
    from evaltrace import OpenTelemetryExperimentTracker

    from . import _data

    cache = _cache()
    path = cache / f"bench-scale-v{VERSION}-{n}.db"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob("bench-scale-v*"):  # earlier versions' stores (GBs), never a later
        # one's: another checkout may be building it
        version = old.name.removeprefix("bench-scale-v").split("-", 1)[0]
        if version.isdigit() and int(version) < VERSION:
            old.unlink(missing_ok=True)
    building = path.with_name(path.name + ".building")
    for leftover in building.parent.glob(building.name + "*"):
        leftover.unlink()
    with OpenTelemetryExperimentTracker("bench-scale", store=building) as tracker:
        for run, run_id in enumerate(RUNS):
            for start in range(0, n, BATCH):
                rows = range(start, min(n, start + BATCH))
                tracker.log_batch_sync(
                    [_result(i, run) for i in rows],
                    "bench-scale",
                    [{"id": f"q{i:07d}", **_data.data_row(i)} for i in rows],
                    run_id=run_id,
                )
    building.rename(path)
    return path


def _status_kb(field: str, pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _child(mode: str, store: Path) -> dict[str, Any]:
    """In a fresh interpreter: compare the two runs as ``evaltrace compare`` does, or read
    both runs' full results (the baseline)."""
    from evaltrace._compare import compare_scores
    from evaltrace._compare_text import compare_report
    from evaltrace._provenance_diff import diff_fingerprints
    from evaltrace.query import SQLiteQueryAdapter

    baseline = _status_kb("VmHWM")
    started = time.perf_counter()
    with SQLiteQueryAdapter(store) as reader:
        if mode == "compare":
            # as `evaltrace compare` does: the dataset check reads each result's fingerprint
            dataset = diff_fingerprints(*(reader.sample_fingerprints(run) for run in RUNS))
            comparison = compare_scores(
                reader.run_scores(RUNS[0]), reader.run_scores(RUNS[1]), dataset=dataset
            )
            text = compare_report(comparison, 10, 0, 80)
            count = len(comparison.changes)
            del text
        else:
            count = sum(len(reader.run_results(run)) for run in RUNS)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "growth_mb": (_status_kb("VmHWM") - baseline) / 1024,
        "count": count,
    }


def _in_child(mode: str, store: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_scale", "--child", mode, "--store", str(store)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """A fresh ``evaltrace ui`` on the store: nothing read before the first request."""

    def __init__(self, store: Path) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from evaltrace.cli import main; main()",
                "ui",
                "--store",
                str(store),
                "--port",
                str(self.port),
            ],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO / "src")},
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=600)
        deadline = time.monotonic() + 60
        while True:  # a condition awaited: the server answering /healthz
            try:
                if self.client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    why = self.proc.stderr.read() if self.proc.stderr else b""
                    raise RuntimeError(f"evaltrace ui did not start: {why!r}") from None
                time.sleep(0.05)
        self.baseline_kb = _status_kb("VmHWM", self.proc.pid)

    def get(self, path: str, **params: str) -> float:
        started = time.perf_counter()
        response = self.client.get(path, params=params)
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} {params}: {response.status_code}")
        return seconds

    def growth_mb(self) -> float:
        return (_status_kb("VmHWM", self.proc.pid) - self.baseline_kb) / 1024

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def _pages(store: Path, n: int) -> dict[str, float]:
    """First loads on a fresh server each: the run page and a sample page, the compare page,
    then the compare page again with ``/`` requested over and over meanwhile."""
    out: dict[str, float] = {}
    server = _Server(store)
    try:
        out["run_page"] = server.get(f"/runs/{RUNS[1]}")
        out["sample_page"] = server.get(f"/runs/{RUNS[1]}/samples/q{n // 2:07d}")
        out["pages_growth_mb"] = server.growth_mb()
    finally:
        server.close()
    server = _Server(store)
    try:
        out["compare_page"] = server.get("/compare", a=RUNS[0], b=RUNS[1])
        out["compare_growth_mb"] = server.growth_mb()
    finally:
        server.close()
    server = _Server(store)
    try:
        server.get("/")
        index: list[float] = []
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                index.append(server.get("/"))

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            out["compare_page_polled"] = server.get("/compare", a=RUNS[0], b=RUNS[1])
        finally:
            done.set()
            poller.join()
        out["index_max"] = max(index)
        out["index_median"] = statistics.median(index)
        out["index_count"] = len(index)
    finally:
        server.close()
    return out


def run(sizes: Sizes) -> list[Row]:
    """The ``scale.*`` rows and ``memory``'s whole-batch row's companion figures."""
    n = sizes.scale_n
    store = fixture(n)
    compare = _in_child("compare", store)
    read = _in_child("read", store)
    pages = _pages(store, n)
    ratio = compare["seconds"] / read["seconds"]
    note = f"two runs of {n:,} results in the embedded store, first load in a fresh process"
    rows = [
        Row(
            id="scale.compare",
            group="scale",
            name=f"evaltrace compare of two {n:,}-result runs (statistics, MDE, text)",
            unit="s",
            value=compare["seconds"],
            baseline_name="reading both runs' full results (s)",
            baseline=read["seconds"],
            ratio=ratio,
            target=f"<= {COMPARE_BUDGET} x reading both runs' results",
            met=ratio <= COMPARE_BUDGET,
            n=n,
            reps=1,
            notes=note + f"; {compare['count']:,} per-sample moves",
        ),
        Row(
            id="scale.compare.rss",
            group="scale",
            name=f"peak RSS growth of that compare ({n:,} x 2 results)",
            unit="MB growth",
            value=compare["growth_mb"],
            baseline_name="peak RSS growth reading both runs' full results (MB)",
            baseline=read["growth_mb"],
            ratio=compare["growth_mb"] / max(read["growth_mb"], 1e-9),
            target=f"<= {COMPARE_BUDGET} x the full read's",
            met=compare["growth_mb"] <= COMPARE_BUDGET * read["growth_mb"],
            n=n,
            reps=1,
            notes=note,
        ),
    ]
    for key, label, budget in (
        ("run_page", "the run page", PAGE_BUDGET_S),
        ("sample_page", "a sample page", PAGE_BUDGET_S),
        ("compare_page", "the compare page of the two", COMPARE_PAGE_BUDGET_S),
    ):
        rows.append(
            Row(
                id=f"scale.{key}",
                group="scale",
                name=f"evaltrace ui: {label} of a {n:,}-result run, first load",
                unit="s",
                value=pages[key],
                baseline_name="budget (s)",
                baseline=budget,
                ratio=pages[key] / budget,
                target=f"<= {budget:g} s",
                met=pages[key] <= budget,
                n=n,
                reps=1,
                notes=f"server peak RSS growth {pages['pages_growth_mb']:.0f} MB (run + sample), "
                f"{pages['compare_growth_mb']:.0f} MB (compare)",
            )
        )
    rows.append(
        Row(
            id="scale.index_during_compare",
            group="scale",
            name="evaltrace ui: slowest `/` while the compare page of the two loads",
            unit="s",
            value=pages["index_max"],
            baseline_name="budget (s)",
            baseline=INDEX_BUDGET_S,
            ratio=pages["index_max"] / INDEX_BUDGET_S,
            target=f"<= {INDEX_BUDGET_S:g} s (never blocked)",
            met=pages["index_max"] <= INDEX_BUDGET_S,
            n=n,
            reps=int(pages["index_count"]),
            notes=f"median {pages['index_median']:.3f} s over {pages['index_count']:.0f} requests; "
            f"the compare page took {pages['compare_page_polled']:.2f} s meanwhile",
        )
    )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="scale child: compare or read, as JSON")
    parser.add_argument("--child", choices=("compare", "read"), required=True)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(_child(args.child, args.store)))
