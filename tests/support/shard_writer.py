"""One shard writer of a run logged by many processes, each with its own store.

    python shard_writer.py STORE RUN_ID SHARD SHARDS COUNT ENDPOINT [DIE_AFTER] [--undeclared]

Logs ``COUNT`` results (batches of 25; sample ids ``s<SHARD>-<i>``, score ``i % 10 / 10``) to
``RUN_ID`` with ``evaltrace.shards: SHARDS`` in the run's metadata (none with
``--undeclared``), prints ``writer <id>`` first and ``returned N`` after each call returned.
With ``DIE_AFTER``, it flushes once half-way (so a summary of it and its first results are
delivered: it has reported) and SIGKILLs itself right after the call that reached that many
results returned: committed to its store, delivered or not, never closed (``kill -9`` mid-run).
"""

from __future__ import annotations

import os
import signal
import sys

import evaltrace

BATCH = 25


def rows(shard: int, start: int, n: int) -> tuple[list[dict[str, object]], list[dict[str, str]]]:
    """Results and data rows ``start .. start + n`` of one shard."""
    results = [
        {"qa": {"score": i % 10 / 10, "passed": i % 2 == 0}} for i in range(start, start + n)
    ]
    return results, [{"id": f"s{shard}-{i}"} for i in range(start, start + n)]


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--undeclared"]
    store, run_id, shard, shards, count, endpoint = args[:6]
    die_after = int(args[6]) if len(args) > 6 else None
    metadata = {} if "--undeclared" in sys.argv else {"evaltrace.shards": int(shards)}
    tracker = evaltrace.OpenTelemetryExperimentTracker(
        "shards", store=store, otlp_endpoint=endpoint, otlp_protocol="http/protobuf"
    )
    print(f"writer {tracker.writer_id}", flush=True)
    done = 0
    while done < int(count):
        n = min(BATCH, int(count) - done)
        results, data = rows(int(shard), done, n)
        tracker.log_batch_sync(results, "qa", data, run_id=run_id, metadata=metadata)
        done += n
        print(f"returned {done}", flush=True)
        if die_after is not None and done == die_after // 2:
            tracker.flush()
        if die_after is not None and done >= die_after:
            os.kill(os.getpid(), signal.SIGKILL)
    tracker.close()


if __name__ == "__main__":
    main()
