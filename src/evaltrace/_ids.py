"""Trace and span ids from the operating system's generator, never from ``random``.

OpenTelemetry's default ``RandomIdGenerator`` draws from the global ``random`` module, so two
processes that call ``random.seed(42)`` (routine in eval scripts) mint the same ids and one
run's spans replace or join the other's. ``os.urandom`` is unaffected by seeding and by
``fork`` (each call asks the kernel), at ~0.3 µs an id.
"""

from __future__ import annotations

import os

from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import INVALID_SPAN_ID, INVALID_TRACE_ID

__all__ = ["OsRandomIdGenerator"]


class OsRandomIdGenerator(IdGenerator):
    """Ids from ``os.urandom``: 64 random bits per span id, 128 per trace id."""

    def generate_span_id(self) -> int:
        """A non-zero 64-bit id."""
        while True:
            value = int.from_bytes(os.urandom(8), "big")
            if value != INVALID_SPAN_ID:
                return value

    def generate_trace_id(self) -> int:
        """A non-zero 128-bit id."""
        while True:
            value = int.from_bytes(os.urandom(16), "big")
            if value != INVALID_TRACE_ID:
                return value
