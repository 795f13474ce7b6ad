"""What a tracker connects to, per combination of arguments: ``_wiring.resolve`` as a table.

``resolve`` opens nothing, so these run without SQLite, an exporter or a collector.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest

from evaltrace._exceptions import ConfigurationError
from evaltrace._wiring import Wiring, resolve

URL = "http://collector:4318"
STORE = "/data/evaltrace.db"
SPOOL = "/spool/spool.db"

_ENV = (
    "EVALTRACE_STORE",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "EVALTRACE_METRICS",
)


@pytest.fixture(autouse=True)
def _quiet_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the arguments of each row count: no endpoint or store from the environment."""
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EVALTRACE_SPOOL", SPOOL)


def _decisions(wiring: Wiring) -> dict[str, Any]:
    """The decisions of a wiring, without its settings."""
    out = asdict(wiring)
    del out["settings"]
    out["refusal"] = None if wiring.refusal is None else wiring.refusal.split(":")[0]
    return out


_KEEPS_NOTHING = "this tracker would keep nothing"
_READS_ONLY = "this tracker only reads (query= without store=, otlp_endpoint= or exporters=)"

# arguments -> (store, spool, forward, owns_provider, metrics, summaries, query_store, refusal)
TABLE: list[tuple[str, dict[str, Any], tuple[Any, ...]]] = [
    ("store only", {"store": STORE}, (STORE, None, False, True, False, False, STORE, None)),
    (
        "store and endpoint",
        {"store": STORE, "otlp_endpoint": URL},
        (STORE, None, True, True, True, True, STORE, None),
    ),
    (
        "endpoint, no store: a spool",
        {"store": False, "otlp_endpoint": URL},
        (None, SPOOL, True, True, True, True, None, None),
    ),
    (
        "endpoint, no store, no spool: memory only",
        {"store": False, "spool": False, "otlp_endpoint": URL},
        (None, None, True, True, True, True, None, None),
    ),
    (
        "exporters only",
        {"store": False, "has_exporters": True},
        (None, None, False, True, False, True, None, None),
    ),
    (
        "an application's provider: no store unless asked, no OTLP",
        {"has_provider": True},
        (None, None, False, False, False, False, None, None),
    ),
    (
        "an application's provider with a store and an endpoint asked for",
        {"has_provider": True, "store": STORE, "otlp_endpoint": URL},
        (STORE, None, True, False, True, True, STORE, None),
    ),
    (
        "query only: reads, log refuses",
        {"has_query": True},
        (None, None, False, True, False, False, None, _READS_ONLY),
    ),
    (
        "query with store=False: reads, log refuses (not 'keeps nothing')",
        {"has_query": True, "store": False},
        (None, None, False, True, False, False, None, _READS_ONLY),
    ),
    (
        "query and a store: logs to the store, reads the query",
        {"has_query": True, "store": STORE},
        (STORE, None, False, True, False, False, None, None),
    ),
    (
        "nothing kept",
        {"store": False},
        (None, None, False, True, False, False, None, _KEEPS_NOTHING),
    ),
]


@pytest.mark.parametrize(
    ("arguments", "expected"), [t[1:] for t in TABLE], ids=[t[0] for t in TABLE]
)
def test_wiring_table(arguments: dict[str, Any], expected: tuple[Any, ...]) -> None:
    """Each combination of store / spool / endpoint / provider / exporters / query connects
    what the README says it does, and refuses when nothing would be kept."""
    wiring = resolve("proj", **arguments)
    store, spool, forward, owns, metrics, summaries, query_store, refusal = expected
    got = _decisions(wiring)
    assert (
        got["store"],
        got["spool"],
        got["forward"],
        got["owns_provider"],
        got["metrics"],
        got["summaries"],
        got["query_store"],
        got["refusal"],
    ) == (store, spool, forward, owns, metrics, summaries, query_store, refusal)
    assert got["recover_summaries"] == forward
    assert (got["destination"] is not None) == forward
    assert got["reader_only"] == (refusal == _READS_ONLY)


def test_endpoint_from_the_environment_forwards(monkeypatch: pytest.MonkeyPatch) -> None:
    """``OTEL_EXPORTER_OTLP_ENDPOINT`` forwards like ``otlp_endpoint=``; not through an
    application's provider, which exports by itself unless ``otlp_endpoint=`` is passed."""
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", URL)
    assert resolve("proj", store=STORE).forward
    assert not resolve("proj", has_provider=True).forward


def test_metrics_switch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """``EVALTRACE_METRICS=off`` keeps forwarding spans but sends no metrics."""
    monkeypatch.setenv("EVALTRACE_METRICS", "off")
    wiring = resolve("proj", store=STORE, otlp_endpoint=URL)
    assert wiring.forward and not wiring.metrics


def test_destination_names_the_collector_not_its_address() -> None:
    """Two endpoints get two destination keys, none of which holds the URL."""
    one = resolve("proj", store=STORE, otlp_endpoint=URL).destination
    two = resolve("proj", store=STORE, otlp_endpoint="http://other:4318").destination
    assert one and two and one != two
    assert "collector" not in one


def test_a_bad_protocol_is_refused_naming_it() -> None:
    """A protocol that cannot be right fails before anything is wired."""
    with pytest.raises(ConfigurationError, match="otlp_protocol"):
        resolve("proj", store=STORE, otlp_endpoint=URL, otlp_protocol="carrier-pigeon")
