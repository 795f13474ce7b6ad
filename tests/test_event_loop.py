"""The async calls never block the event loop: checking, encoding and committing run in a
worker thread, so other tasks keep running during a large ``log_batch``."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

import evaltrace._tracker as tracker_module
from evaltrace import OpenTelemetryExperimentTracker

ROWS = 20_000
MAX_GAP = 0.3
"""A guard for slow, shared CI machines; the goal is 50 ms. Measured here 0.03-0.1 s, all of
it CPython's full garbage collections (23 ms with ``gc`` disabled)."""


def rows(n: int) -> tuple[list[Any], list[Any]]:
    """``n`` results and inputs of a typical shape."""
    results = [{"qa": {"f1": {"score": i / n, "threshold": 0.5}}} for i in range(n)]
    data = [{"id": f"s{i}", "question": f"What is {i}?"} for i in range(n)]
    return results, data


def test_log_batch_and_alog_check_and_encode_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch check and the planning (encoding) of ``log_batch`` and ``alog`` never run on
    the event loop's thread."""
    threads: list[tuple[str, int]] = []
    plan_call, check_batch = tracker_module.plan_call, tracker_module.check_batch

    def spy_plan(**kwargs: Any) -> Any:
        threads.append(("plan", threading.get_ident()))
        return plan_call(**kwargs)

    def spy_check(results: object, data: object) -> None:
        threads.append(("check", threading.get_ident()))
        check_batch(results, data)

    monkeypatch.setattr(tracker_module, "plan_call", spy_plan)
    monkeypatch.setattr(tracker_module, "check_batch", spy_check)

    async def main() -> int:
        results, data = rows(10)
        with OpenTelemetryExperimentTracker("p", store=tmp_path / "s.db") as tracker:
            await tracker.log_batch(results, "d", data, run_id="r")
            await tracker.alog(results[0], "d", data[0], run_id="r")
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert {kind for kind, _ in threads} == {"plan", "check"}
    assert all(ident != loop_thread for _, ident in threads), threads


PROBE = """
import asyncio, sys, time
from evaltrace import OpenTelemetryExperimentTracker

n, store = int(sys.argv[1]), sys.argv[2]
results = [{"qa": {"f1": {"score": i / n, "threshold": 0.5}}} for i in range(n)]
data = [{"id": f"s{i}", "question": f"What is {i}?"} for i in range(n)]


async def main() -> None:
    done, gaps = asyncio.Event(), []

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    with OpenTelemetryExperimentTracker("p", store=store) as tracker:
        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)  # the ticker runs before the batch starts
        await tracker.log_batch(results, "d", data, run_id="r")
        done.set()
        await task
        assert tracker.stats.results_stored == n
    print(max(gaps))


asyncio.run(main())
"""


def test_a_large_log_batch_leaves_the_loop_responsive(tmp_path: Path) -> None:
    """A ticker task keeps ticking during a 20,000-row ``log_batch`` (in a fresh interpreter,
    so the pauses of a test session's own large heap are not counted): the loop's largest gap
    stays under ``MAX_GAP`` (1.06 s before the fix, encoding on the loop)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROWS), str(tmp_path / "s.db")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    gap = float(done.stdout.split()[-1])
    assert gap < MAX_GAP, f"the event loop was blocked {gap:.3f} s"
