"""Reading evaltrace's quality metrics out of OTLP requests, and re-sending a store's
acknowledged spans as a collector that lost its acknowledgements would get them again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality


@dataclass(frozen=True)
class Point:
    """The last cumulative point of one stream."""

    count: int
    total: float
    buckets: tuple[int, ...]


Key = tuple[str, str, frozenset[tuple[str, str]]]
"""(service.instance.id, metric name, attributes)."""


def last_points(bodies: Iterable[bytes]) -> dict[Key, Point]:
    """Each stream's latest cumulative point (a later export of a stream replaces an earlier
    one, as Prometheus keeps the latest sample); refuses anything not cumulative."""
    out: dict[Key, tuple[int, Point]] = {}
    for body in bodies:
        request = ExportMetricsServiceRequest.FromString(body)
        for rm in request.resource_metrics:
            resource = {kv.key: kv.value.string_value for kv in rm.resource.attributes}
            instance = resource.get("service.instance.id", "")
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    kind = metric.WhichOneof("data")
                    data = getattr(metric, kind)
                    cumulative = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE
                    assert data.aggregation_temporality == cumulative
                    for dp in data.data_points:
                        attrs = frozenset((kv.key, kv.value.string_value) for kv in dp.attributes)
                        if kind == "histogram":
                            point = Point(dp.count, dp.sum, tuple(dp.bucket_counts))
                        else:
                            point = Point(int(dp.as_int), float(dp.as_int), ())
                        key = (instance, metric.name, attrs)
                        if key not in out or out[key][0] <= dp.time_unix_nano:
                            out[key] = (dp.time_unix_nano, point)
    return {key: point for key, (_, point) in out.items()}


def keep_acknowledged(store: Path) -> None:
    """From now on, every outbox entry the store's writer deletes (acknowledged) is kept."""
    with sqlite3.connect(store) as conn:
        conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS test_acknowledged AS SELECT trace_id, call_id, spans,
                enqueued_ns, first_result, last_result, destination FROM outbox WHERE 0;
            CREATE TRIGGER IF NOT EXISTS test_keep AFTER DELETE ON outbox BEGIN
                INSERT INTO test_acknowledged VALUES (OLD.trace_id, OLD.call_id, OLD.spans,
                    OLD.enqueued_ns, OLD.first_result, OLD.last_result, OLD.destination);
            END;
            """
        )
    conn.close()


def requeue_acknowledged(store: Path) -> int:
    """Put the acknowledged entries back in the outbox, due now: what a writer that died
    between the collector's answer and its commit would find. Returns how many (they are
    kept again when acknowledged again)."""
    with sqlite3.connect(store) as conn:
        moved = conn.execute(
            "INSERT INTO outbox (trace_id, call_id, spans, enqueued_ns, not_before_ns, "
            "first_result, last_result, destination) SELECT trace_id, call_id, spans, "
            "enqueued_ns, 0, first_result, last_result, destination FROM test_acknowledged"
        ).rowcount
        conn.execute("DELETE FROM test_acknowledged")
    conn.close()
    return moved
