"""``log_context``: values and an application span that every following result carries.

Everything lives in the OpenTelemetry ``Context`` (a ``contextvars`` variable), so it follows
asyncio tasks and threads exactly as spans do: set in one task, it is seen by that task and the
tasks it starts afterwards, never by siblings or other threads. Entries are also set as W3C
baggage so the application's own outgoing calls propagate them.

Correlation uses a span *link*, not a parent: eval spans are often produced long after, and in
another process than, the application request; as children they would stretch the app trace's
duration and, for batches, bloat it past backend trace-size limits. Links are what the
OpenTelemetry specification prescribes for work caused by other traces (batch processing).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ._codec import dumps
from ._exceptions import InvalidInputError, InvalidInputTypeError
from ._validate import safe_repr

__all__ = ["EvalContext", "current", "parse_traceparent", "scoped", "snapshot", "with_values"]

_KEY = otel_context.create_key("evaltrace.eval_context")
_PROPAGATOR = TraceContextTextMapPropagator()
_W3C_KEYS = ("traceparent", "tracestate")


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What ``log_context`` set: the values, and the application span to link to."""

    values: Mapping[str, Any]
    link: trace.SpanContext | None
    json: str
    """``values`` encoded once, when set, rather than on every logged result."""


def parse_traceparent(carrier: Mapping[str, Any], field: str) -> trace.SpanContext:
    """The span a W3C ``traceparent`` (and ``tracestate``) names; raises naming ``field``
    (the traceparent's; a bad tracestate is named alike). Only real strings are read: a
    user's ``__str__`` is never called."""
    text: dict[str, str] = {}
    for key in _W3C_KEYS:
        if key in carrier:
            value = carrier[key]
            if not isinstance(value, str):
                raise InvalidInputTypeError(
                    f"{field.replace('traceparent', key)}: expected a string, got "
                    f"{type(value).__name__}"
                )
            text[key] = str.__str__(value)
    span_context = trace.get_current_span(_PROPAGATOR.extract(text)).get_span_context()
    if not span_context.is_valid:
        raise InvalidInputError(
            f"{field}: not a W3C traceparent: {safe_repr(carrier.get('traceparent'))}"
        )
    return span_context


def _link_from(kwargs: dict[str, Any], ctx: otel_context.Context) -> trace.SpanContext | None:
    if "traceparent" in kwargs:
        return parse_traceparent(kwargs, "context.traceparent")
    active = trace.get_current_span(ctx).get_span_context()
    return active if active.is_valid else None


def with_values(ctx: otel_context.Context, kwargs: dict[str, Any]) -> otel_context.Context:
    """A context that adds ``kwargs`` to any eval context already in ``ctx``."""
    # Keys as plain str first: a str subclass's ==, hash or str() of the user's never runs.
    plain = {k if type(k) is str else str.__str__(k): v for k, v in kwargs.items()}
    if len(plain) < len(kwargs):
        raise InvalidInputError("context: a key given twice (a str subclass)")
    kwargs = plain
    values = {k: v for k, v in kwargs.items() if k not in _W3C_KEYS}
    if values:
        dumps(values, "context", None)  # names the key or value refused: context.key...
    previous = current(ctx)
    link = _link_from(kwargs, ctx) or (previous.link if previous else None)
    merged = {**(previous.values if previous else {}), **values}
    for key, value in values.items():
        ctx = baggage.set_baggage(
            key, value if isinstance(value, str) else dumps(value, key, None), ctx
        )
    return otel_context.set_value(
        _KEY, EvalContext(merged, link, dumps(merged, "context", None)), ctx
    )


def current(ctx: otel_context.Context | None = None) -> EvalContext | None:
    """The eval context in force, if any."""
    value = otel_context.get_value(_KEY, ctx)
    return value if isinstance(value, EvalContext) else None


def snapshot() -> tuple[str, trace.SpanContext | None]:
    """What a result logged now carries: the context values as JSON, and the span to link
    (log_context's, else the active span)."""
    ctx = otel_context.get_current()
    eval_ctx = current(ctx)
    if eval_ctx and eval_ctx.link:
        return eval_ctx.json, eval_ctx.link
    active = trace.get_current_span(ctx).get_span_context()
    return eval_ctx.json if eval_ctx else "{}", active if active.is_valid else None


@contextmanager
def scoped(kwargs: dict[str, Any]) -> Iterator[None]:
    """Set the eval context for the ``with`` block only."""
    token = otel_context.attach(with_values(otel_context.get_current(), kwargs))
    try:
        yield
    finally:
        otel_context.detach(token)
