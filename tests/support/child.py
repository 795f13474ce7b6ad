"""A child process that logs through evaltrace and reports each call that returned.

    python child.py STORE RUN_ID MODE COUNT [ENDPOINT]

MODE: ``log`` (one result per call), ``batch`` (log_batch of 100), ``seeded`` (random.seed(42),
then log), ``handler`` (installs its own SIGTERM handler first, exits 3 from it), ``noclose``
(logs and exits without close). Prints ``returned N`` after each call returned (N = results
so far), flushed, so the parent knows exactly what it may expect to find stored.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys

import evaltrace


def main() -> None:
    store, run_id, mode, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    endpoint = sys.argv[5] if len(sys.argv) > 5 else None
    if mode == "seeded":
        random.seed(42)
    if mode == "handler":

        def handler(signum: int, frame: object) -> None:
            print("app handler ran", flush=True)
            sys.exit(3)

        signal.signal(signal.SIGTERM, handler)
    tracker = evaltrace.OpenTelemetryExperimentTracker(
        "child", store=store, otlp_endpoint=endpoint, otlp_protocol="http/protobuf"
    )
    done = 0
    while done < count or (mode in ("log", "handler") and count == 0):
        if mode == "batch":
            rows = [{"id": f"{run_id}-{done + i}"} for i in range(100)]
            results = [{"judge": {"score": (done + i) % 7 / 7}} for i in range(100)]
            asyncio.run(tracker.log_batch(results, "qa", rows, run_id=run_id))
            done += 100
        else:
            tracker.log({"m": done}, "qa", {"id": f"{run_id}-{done}"}, run_id=run_id)
            done += 1
        print(f"returned {done}", flush=True)
    if mode != "noclose":
        tracker.close()


if __name__ == "__main__":
    main()
