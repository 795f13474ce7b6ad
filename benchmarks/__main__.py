"""``python -m benchmarks``: run every benchmark, print the table, write ``results.json``.

    .venv/bin/python -m benchmarks                  # everything (~15 min with the peers)
    .venv/bin/python -m benchmarks --quick          # tiny sizes, 2 reps, no peers (smoke test)
    .venv/bin/python -m benchmarks --only log,readback

Peers run only when ``benchmarks/.venv-peers`` exists (``bash benchmarks/peers/setup.sh``).
``--quick`` writes ``benchmarks/results-quick.json`` unless ``--out`` says otherwise, so the
committed full results are never overwritten by a smoke run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._report import FULL, QUICK, Row, Skipped, table, write_json

HERE = Path(__file__).resolve().parent
GROUPS = ("log", "store", "readback", "memory", "history", "wire", "scale", "jaeger", "peers")
JAEGER_ROWS = (
    "readback.jaeger.grpc",
    "readback.jaeger.grpc.floor",
    "readback.jaeger.http",
    "throughput.collector_jaeger",
    "throughput.collector_jaeger.readable",
    "throughput.collector_jaeger.cpu",
    "history.jaeger",
)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the selected groups; returns the document written to ``--out``."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 reps, no peers")
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated groups among {', '.join(GROUPS)}"
    )
    parser.add_argument("--no-peers", action="store_true", help="skip the peer comparison")
    parser.add_argument(
        "--peer-budget",
        type=float,
        default=60.0,
        help="seconds one peer run may take at its large size (default 60)",
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    args = parser.parse_args(argv)

    sizes = QUICK if args.quick else FULL
    if args.no_peers:
        sizes = dataclasses.replace(sizes, peers=False)
    selected = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(selected) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {unknown}; known: {', '.join(GROUPS)}")
    out = args.out or HERE / ("results-quick.json" if args.quick else "results.json")

    from . import (
        bench_history,
        bench_jaeger,
        bench_log,
        bench_memory,
        bench_peers,
        bench_readback,
        bench_scale,
        bench_store,
        bench_wire,
    )

    def peers() -> list[Row | Skipped]:
        if not sizes.peers:
            return []
        rows, skipped = bench_peers.run(sizes, budget=args.peer_budget, log=_say)
        return [*rows, *skipped]

    runners: dict[str, Callable[[], list[Any]]] = {
        "log": lambda: bench_log.run(sizes),
        "store": lambda: bench_store.run(sizes),
        "readback": lambda: bench_readback.run(sizes),
        "memory": lambda: bench_memory.run(sizes),
        "history": lambda: bench_history.run(sizes),
        "wire": lambda: bench_wire.run(sizes),
        "scale": lambda: bench_scale.run(sizes),
        "jaeger": lambda: bench_jaeger.run(sizes),
        "peers": peers,
    }
    rows: list[Row] = []
    skipped: list[Skipped] = []
    durations: dict[str, float] = {}
    started = time.monotonic()
    load_start = _load()
    for group in GROUPS:
        if group not in selected:
            if group == "jaeger":
                skipped.extend(
                    Skipped(row_id, "jaeger", "not measured in this pass (jaeger not selected)")
                    for row_id in JAEGER_ROWS
                )
            continue
        _say(f"== {group}")
        t0 = time.monotonic()
        for item in runners[group]():
            (rows if isinstance(item, Row) else skipped).append(item)
            if isinstance(item, Row):
                _say(
                    f"   {item.id}: {item.value:.4g} {item.unit} vs {item.baseline:.4g} "
                    f"-> ratio {item.ratio:.3g}"
                )
        durations[group] = round(time.monotonic() - t0, 1)

    doc = write_json(
        out,
        rows,
        skipped,
        {
            "command": "python -m benchmarks "
            + " ".join(argv if argv is not None else sys.argv[1:]),
            "quick": args.quick,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "total_seconds": round(time.monotonic() - started, 1),
            "group_seconds": durations,
            "cpu_count": os.cpu_count(),
            "loadavg_start": load_start,
            "loadavg_end": _load(),
            "sizes": dataclasses.asdict(sizes),
        },
    )
    print(table(rows, skipped))
    _say(f"wrote {out} in {doc['meta']['total_seconds']:.0f} s")
    return doc


if __name__ == "__main__":
    main()
