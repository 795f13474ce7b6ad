"""Row 3: evaltrace against gllm-evals' CSV/JSON trackers and MLflow, at 1,000 and 10,000.

Every sample is one fresh process running a script from ``benchmarks/peers/`` (the peers in
``benchmarks/.venv-peers``, evaltrace in the project venv) that logs the same results into a
fresh directory and reports the seconds spent logging and flushing. Pairings: the gllm-evals
trackers against evaltrace's ``log_batch`` (both fed chunks of 100); MLflow (one call per
result) against evaltrace's ``log``.

At 1,000 every variant runs ``peer_reps`` times, alternating. Evaltrace then runs at 10,000 and
1,000 in one alternation of its own (at least ``FLAT_REPS`` times): the flat rows. A peer at
10,000 can take hours (the gllm-evals trackers rewrite their files on every batch), so each
runner also reports the time of every chunk of 100 results; a
least-squares fit ``chunk cost = a + b * rows already logged`` (plus a flush tail proportional
to n) predicts what a run of any size takes. A peer then runs once at 10,000 if the prediction
fits ``budget`` seconds; else once at the largest of 5,000 / 2,000 that fits, and its 10,000
figure is projected from that run's own fit; else it is projected from the 1,000 runs. Every
projected figure is labelled EXTRAPOLATED in the row.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._report import Row, Sizes, Skipped
from ._timing import alternate

__all__ = ["PEER_PYTHON", "run"]

REPO = Path(__file__).resolve().parents[1]
PEERS_DIR = REPO / "benchmarks" / "peers"
PEER_PYTHON = REPO / "benchmarks" / ".venv-peers" / "bin" / "python"
SMALL, LARGE = 1_000, 10_000
LADDER = (10_000, 5_000, 2_000)
CHUNK = 100  # = peers/_runner.py CHUNK
FLAT_REPS = 5
"""Alternating reps of evaltrace at both sizes for the flat rows (~2 s a 10,000 run)."""

Sample = dict[str, Any]


@dataclass(frozen=True)
class Variant:
    """One tracker under test: which interpreter runs which runner with which variant."""

    key: str
    python: Path
    script: str
    variant: str
    pair: str = ""  # the evaltrace variant it is compared with
    install: str = ""  # the name setup.sh installs it under
    until_exit: str = ""  # SQL counting stored results, for a peer that finishes at exit

    def run(self, n: int) -> Sample:
        """One fresh process in a fresh directory; RuntimeError with its stderr on failure."""
        workdir = Path(tempfile.mkdtemp(prefix="evaltrace-peer-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        try:
            proc = subprocess.run(
                [
                    str(self.python),
                    str(PEERS_DIR / self.script),
                    "--variant",
                    self.variant,
                    "--n",
                    str(n),
                    "--workdir",
                    str(workdir / "run"),
                ],
                cwd=workdir,
                capture_output=True,
                text=True,
                env={**env, "DEEPEVAL_TELEMETRY_OPT_OUT": "YES"},
            )
            exited = time.time()
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.strip().splitlines()[-6:])
                raise RuntimeError(f"{self.key} exited {proc.returncode}: {tail}")
            out = dict(json.loads(proc.stdout.strip().splitlines()[-1]))
            if self.until_exit:  # its work ends at interpreter exit: count and time to there
                with sqlite3.connect(workdir / "run" / "mlflow.db") as conn:
                    out["stored_in_process"] = out.get("stored")
                    out["stored"] = int(conn.execute(self.until_exit).fetchone()[0])
                out["tail_seconds"] += exited - out["start_epoch"] - out["seconds"]
                out["seconds"] = exited - out["start_epoch"]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return out


EVALTRACE = (
    Variant("evaltrace.log_batch", Path(sys.executable), "run_evaltrace.py", "log_batch"),
    Variant("evaltrace.log", Path(sys.executable), "run_evaltrace.py", "log"),
)
PEERS = (
    Variant(
        "gllm-evals.csv",
        PEER_PYTHON,
        "run_gllm_evals.py",
        "csv",
        "evaltrace.log_batch",
        "gllm-evals",
    ),
    Variant(
        "gllm-evals.json",
        PEER_PYTHON,
        "run_gllm_evals.py",
        "json",
        "evaltrace.log_batch",
        "gllm-evals",
    ),
    Variant("mlflow.metrics", PEER_PYTHON, "run_mlflow.py", "metrics", "evaltrace.log", "mlflow"),
    Variant(
        "mlflow.tracing",
        PEER_PYTHON,
        "run_mlflow.py",
        "tracing",
        "evaltrace.log",
        "mlflow",
        until_exit="SELECT count(*) FROM spans",
    ),
)


@dataclass(frozen=True)
class Fit:
    """``chunk seconds = a + b * rows already logged``; ``tail`` seconds per result."""

    a: float
    b: float
    tail: float

    @classmethod
    def of(cls, samples: list[Sample]) -> Fit:
        """Least squares over every chunk of ``samples``; growth clamped at >= 0."""
        xs = [j * CHUNK for s in samples for j in range(len(s["chunk_seconds"]))]
        ys = [c for s in samples for c in s["chunk_seconds"]]
        tail = statistics.median(s["tail_seconds"] / s["n"] for s in samples)
        if len(set(xs)) < 2:
            return cls(statistics.mean(ys), 0.0, tail)
        b = max(0.0, statistics.linear_regression(xs, ys).slope)
        return cls(statistics.mean(ys) - b * statistics.mean(xs), b, tail)

    def seconds(self, n: int) -> float:
        """Predicted seconds of one run of ``n`` results."""
        chunks = n // CHUNK
        return self.tail * n + chunks * self.a + self.b * CHUNK * chunks * (chunks - 1) / 2


def _install_error(variant: Variant) -> str:
    log = PEER_PYTHON.parents[1] / f"install-{variant.install}.log"
    if not log.exists():
        return ""
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    return " | ".join(lines[-4:])


def _large(
    peer: Variant, small: list[Sample], budget: float, log: Callable[[str], None]
) -> tuple[float, str, Sample | None]:
    """Per-result seconds at 10,000, how they were obtained, and the run made for them."""
    fit = Fit.of(small)
    predicted = {size: fit.seconds(size) for size in LADDER}
    fitting = [size for size in LADDER if predicted[size] <= budget]
    if not fitting:
        least = LADDER[-1]
        log(
            f"  {peer.key}: {least:,} would take ~{predicted[least]:.0f} s: projecting from "
            f"{SMALL:,}"
        )
        return (
            fit.seconds(LARGE) / LARGE,
            (
                f"EXTRAPOLATED from the {SMALL:,}-result runs' chunk-cost fit (one run at "
                f"{least:,} would take ~{predicted[least]:.0f} s, over the {budget:.0f} s budget)"
            ),
            None,
        )
    size = fitting[0]
    log(f"  {peer.key}: one run at {size:,} (predicted {predicted[size]:.0f} s)")
    sample = peer.run(size)
    measured = sample["seconds"] / size
    if size == LARGE:
        return (
            measured,
            (
                f"measured once at {LARGE:,} (the {SMALL:,} fit predicted {predicted[size]:.0f} s, "
                f"took {sample['seconds']:.0f} s)"
            ),
            sample,
        )
    projected = Fit.of([sample]).seconds(LARGE) / LARGE
    return (
        projected,
        (
            f"EXTRAPOLATED: one run at {size:,} measured {measured * 1e3:.2f} ms/result; its "
            f"chunk-cost fit projected to {LARGE:,} "
            f"({LARGE:,} would take ~{predicted[LARGE]:.0f} s)"
        ),
        sample,
    )


def run(
    sizes: Sizes, budget: float = 60.0, log: Callable[[str], None] = print
) -> tuple[list[Row], list[Skipped]]:
    """Rows ``peers.*``; peers that cannot run become skipped entries with the exact error."""
    skipped: list[Skipped] = []
    available: list[Variant] = []
    for peer in PEERS:
        if not PEER_PYTHON.exists():
            skipped.append(
                Skipped(
                    f"peers.{peer.key}",
                    "peers",
                    "peer venv absent: run bash benchmarks/peers/setup.sh",
                )
            )
            continue
        try:
            peer.run(CHUNK)  # availability probe; also warms the page cache and .pyc files
        except RuntimeError as exc:
            detail = _install_error(peer)
            skipped.append(
                Skipped(
                    f"peers.{peer.key}", "peers", f"{exc}" + (f" | pip: {detail}" if detail else "")
                )
            )
            continue
        available.append(peer)
    if not available:
        return [], skipped
    reps = sizes.peer_reps
    for variant in EVALTRACE:
        variant.run(CHUNK)

    samples: dict[str, list[Sample]] = {}

    def sampler(variant: Variant, n: int) -> Callable[[], float]:
        def sample() -> float:
            out = variant.run(n)
            samples.setdefault(f"{variant.key}@{n}", []).append(out)
            return float(out["seconds"])

        return sample

    log(f"peers: {SMALL:,} results, {reps} alternating reps of {len(available) + 2} variants")
    small = alternate({v.key: sampler(v, SMALL) for v in (*EVALTRACE, *available)}, reps, 0)
    # The flat rows compare each evaltrace variant at both sizes in this one alternation, not
    # with its 1,000-result runs above (timed among the peers' heavy processes).
    flat_reps = max(reps, FLAT_REPS)
    log(f"peers: evaltrace at {LARGE:,} and {SMALL:,}, {flat_reps} alternating reps")
    large = alternate(
        {
            key: sampler(v, size)
            for v in EVALTRACE
            for key, size in ((v.key, LARGE), (f"{v.key}@{SMALL}", SMALL))
        },
        flat_reps,
        0,
    )

    def stored(key: str) -> str:
        """How many results the samples of ``key`` really kept, e.g. ``1000/1000``."""
        got = [f"{s.get('stored', '?')}/{s['n']}" for s in samples.get(key, [])]
        return "stored " + ", ".join(got)

    rows: list[Row] = []
    for variant in EVALTRACE:
        per_1k = large.median(f"{variant.key}@{SMALL}") / SMALL * 1e6
        per_10k = large.median(variant.key) / LARGE * 1e6
        rows.append(
            Row(
                id=f"peers.{variant.key}.flat",
                group="peers",
                name=f"{variant.key} per result at 10,000 vs at 1,000 (embedded store)",
                unit="us/result",
                value=per_10k,
                baseline_name="same, 1,000 results per run (same alternation)",
                baseline=per_1k,
                ratio=per_10k / per_1k,
                target="ratio <= 1.2",
                met=per_10k / per_1k <= 1.2,
                n=LARGE,
                reps=flat_reps,
                spread=max(large.spread(f"{variant.key}@{SMALL}"), large.spread(variant.key)),
                notes=f"{stored(f'{variant.key}@{SMALL}')}; {stored(f'{variant.key}@{LARGE}')}",
            )
        )
    for peer in available:
        per_1k = small.median(peer.key) / SMALL * 1e6
        ours_1k = small.median(peer.pair) / SMALL * 1e6
        rows.append(
            Row(
                id=f"peers.{peer.key}@1k",
                group="peers",
                name=f"{peer.pair} vs {peer.key}, 1,000 results",
                unit="us/result",
                value=ours_1k,
                baseline_name=peer.key,
                baseline=per_1k,
                ratio=small.ratio(peer.pair, peer.key),
                target="(reported)",
                met=None,
                n=SMALL,
                reps=reps,
                spread=small.spread(peer.key),
                notes=f"peer is {per_1k / ours_1k:.0f}x slower per result; "
                f"{stored(f'{peer.key}@{SMALL}')}",
                extra={"samples": samples.get(f"{peer.key}@{SMALL}", [])},
            )
        )
        try:
            per_10k, how, big = _large(peer, samples[f"{peer.key}@{SMALL}"], budget, log)
        except RuntimeError as exc:
            skipped.append(Skipped(f"peers.{peer.key}@10k", "peers", str(exc)))
            continue
        ours_10k = large.median(peer.pair) / LARGE * 1e6
        ratio = ours_10k / (per_10k * 1e6)
        rows.append(
            Row(
                id=f"peers.{peer.key}@10k",
                group="peers",
                name=f"{peer.pair} vs {peer.key}, 10,000 results",
                unit="us/result",
                value=ours_10k,
                baseline_name=peer.key,
                baseline=per_10k * 1e6,
                ratio=ratio,
                target="ratio <= 0.1 (>= 10x cheaper)",
                met=ratio <= 0.1,
                n=LARGE,
                reps=1,
                notes=f"peer is {1 / ratio:.0f}x slower per result; peer figure: {how}"
                + (f"; stored {big.get('stored')}/{big['n']}" if big else ""),
                extra={
                    "peer_large_run": {
                        k: v for k, v in (big or {}).items() if k != "chunk_seconds"
                    },
                    "fit_1k": Fit.of(samples[f"{peer.key}@{SMALL}"]).__dict__,
                },
            )
        )
    return rows, skipped
