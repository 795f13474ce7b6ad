"""The tracer provider a tracker makes its spans on, and the limits it imposes.

The one module that reaches into the OpenTelemetry SDK's internals: a provider's span limits
(``_span_limits``, which the SDK exposes no other way) and a tracer's ``id_generator`` (set on
the tracker's own tracer only, so an application's other tracers keep theirs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.trace import Tracer

from ._codec import dumps
from ._config import Settings
from ._ids import OsRandomIdGenerator
from .schema import RESERVED_ATTRIBUTES, SCOPE_NAME
from .schema._walk import Limits

__all__ = ["limits_of", "own_provider", "resource_json_of", "tracer_of"]


def _resource(extra: Mapping[str, Any] | None) -> Resource:
    resource = Resource.create(dict(extra or {}))
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "evaltrace"}))
    return resource


def own_provider(
    settings: Settings, resource_attributes: Mapping[str, Any] | None
) -> TracerProvider:
    """The tracker's own provider (no processor): evaltrace's ids, an attribute cap that fits
    the schema's reserved attributes beside the metric cap, no length limit (``Limits`` bound
    strings already)."""
    return TracerProvider(
        resource=_resource(resource_attributes),
        id_generator=OsRandomIdGenerator(),
        span_limits=SpanLimits(
            max_span_attributes=settings.max_metric_attributes + RESERVED_ATTRIBUTES,
            max_attribute_length=SpanLimits.UNSET,
            max_span_attribute_length=SpanLimits.UNSET,
        ),
    )


def tracer_of(provider: TracerProvider) -> Tracer:
    """The tracker's tracer on ``provider``, with evaltrace's id generator (this tracer only:
    the application's other tracers keep their generator)."""
    tracer = provider.get_tracer(SCOPE_NAME)
    if hasattr(tracer, "id_generator"):
        tracer.id_generator = OsRandomIdGenerator()
    return tracer


def limits_of(provider: TracerProvider, settings: Settings) -> Limits:
    """What one span may carry on ``provider``: the settings' caps, lowered to the provider's
    span limits so that no limit evicts anything unannounced."""
    span_limits = getattr(provider, "_span_limits", None)
    max_attrs = getattr(span_limits, "max_span_attributes", None) or 128
    return Limits(
        max_metric_attributes=max(
            0, min(settings.max_metric_attributes, max_attrs - RESERVED_ATTRIBUTES)
        ),
        max_metric_string=settings.max_metric_string,
        max_events=getattr(span_limits, "max_events", None) or 128,
    )


def resource_json_of(provider: TracerProvider) -> str:
    """The provider's resource attributes as the JSON the store keeps beside each call."""
    return dumps(
        dict(getattr(provider, "resource", Resource.get_empty()).attributes),
        "resource_attributes",
        None,
    )
