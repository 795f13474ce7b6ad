"""Credentials in a URL are never shown: logs, errors, reprs, page headers, reports, the CLI."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace._urls import check_endpoint, redact_text, redact_url
from evaltrace.cli import main
from evaltrace.delivery._otlp import describe
from evaltrace.query import ClientOptions, JaegerQueryAdapter, TempoQueryAdapter

from .support.otlp_receiver import Receiver

_SECRET = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=8, max_size=20)
_NAME = st.sampled_from(["api_key", "token", "access_token", "sig", "x"])


@st.composite
def _urls(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A URL with a password (and maybe a user) and secret query values; and the secrets."""
    password, value = "PW" + draw(_SECRET), "QV" + draw(_SECRET)
    user = draw(st.sampled_from(["", "alice", "svc-account"]))
    scheme = draw(st.sampled_from(["http", "https", "grpc"]))
    host = draw(st.sampled_from(["127.0.0.1", "jaeger.internal", "[::1]"]))
    port = draw(st.sampled_from(["", ":1", ":16686"]))
    query = f"?{draw(_NAME)}={value}" + draw(st.sampled_from(["", "&a=b"]))
    url = f"{scheme}://{user}:{password}@{host}{port}/path{query}"
    return url, [password, value]


@settings(max_examples=300, deadline=None)
@given(_urls())
def test_no_secret_of_any_url_reaches_a_repr_str_error_or_label(
    case: tuple[str, list[str]],
) -> None:
    """Any URL with user info and query values: redacted forms, endpoint errors, adapter
    errors and reprs, and the UI's source label hold none of its secrets."""
    url, secrets = case
    shown = [redact_url(url), redact_text(f"failed: {url} (x)"), describe(url, "grpc")]
    for grpc in (False, True):
        try:
            check_endpoint(url, "otlp_endpoint", grpc=grpc)
        except evaltrace.ConfigurationError as exc:
            shown.append(str(exc))
    if url.startswith("grpc"):
        with pytest.raises(evaltrace.ConfigurationError) as refused:
            JaegerQueryAdapter(url)
        shown.append(str(refused.value))
    else:

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

        options = ClientOptions(transport=httpx.MockTransport(refuse), retries=0)
        for adapter in (
            JaegerQueryAdapter(url, options=options),
            TempoQueryAdapter(url, options=options),
        ):
            shown += [repr(adapter), str(vars(adapter))]
            with pytest.raises(evaltrace.EvalTraceError) as failed:
                adapter.run_results("r")
            shown += [str(failed.value), repr(failed.value)]
        from evaltrace.ui import open_source

        shown.append(open_source(jaeger=url).label)
    for text in shown:
        assert not any(secret in text for secret in secrets), text


def test_ui_never_prints_nor_shows_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """`evaltrace ui --jaeger http://alice:S3CRET@…` prints and serves pages without it."""
    import evaltrace.ui as ui
    from evaltrace._config import TraceLinks
    from evaltrace.ui._app import create_app

    served: list[Any] = []
    monkeypatch.setattr(ui, "serve", lambda source, *_: served.append(source))
    url = "http://alice:S3CRET@127.0.0.1:1/?api_key=K3Y"
    out = CliRunner().invoke(main, ["ui", "--jaeger", url])
    assert out.exit_code == 0 and "127.0.0.1" in out.output
    assert "S3CRET" not in out.output and "K3Y" not in out.output
    (source,) = served
    source.adapter = evaltrace.InMemoryQueryAdapter(InMemorySpanExporter())  # no network
    app = create_app(source, TraceLinks(None, None))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return await c.get("/")

    page = asyncio.run(get())
    assert page.status_code == 200 and "127.0.0.1" in page.text
    assert "S3CRET" not in page.text and "K3Y" not in page.text


def test_report_never_writes_the_password(tmp_path: Path) -> None:
    """`evaltrace report --jaeger URL`: neither its error nor its HTML holds the password."""
    from evaltrace._config import TraceLinks
    from evaltrace.ui import open_source, report_html

    url = "http://alice:S3CRET@127.0.0.1:1"
    out = CliRunner().invoke(main, ["report", "r", "-o", str(tmp_path / "r.html"), "--jaeger", url])
    assert out.exit_code == 1 and "Jaeger" in out.output and "S3CRET" not in out.output
    source = open_source(jaeger=url)
    spans = InMemorySpanExporter()
    with Tracker("p", store=False, exporters=[spans]) as tracker:
        tracker.log({"m": {"score": 1.0}}, "qa", {"id": 1}, run_id="r")
    source.adapter = evaltrace.InMemoryQueryAdapter(spans)
    html = report_html(source, "r", None, TraceLinks(None, None))
    assert "127.0.0.1" in html and "S3CRET" not in html


def test_a_grpc_endpoint_with_credentials_is_refused_without_showing_them(
    store_path: Path,
) -> None:
    """user:pass@ cannot work with gRPC (it becomes the host name): refused, clearly."""
    with pytest.raises(evaltrace.ConfigurationError, match="header") as refused:
        Tracker(
            "p", store=store_path, otlp_endpoint="http://u:hunter2@h:4317", otlp_protocol="grpc"
        )
    assert "hunter2" not in str(refused.value) and "otlp_endpoint" in str(refused.value)


def test_a_query_token_in_the_endpoint_is_never_logged(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """?api_key= in the endpoint appears in no evaltrace log line (failures included)."""
    rx = Receiver()
    rx.stop()
    url = f"http://127.0.0.1:{rx.port}/v1/traces?api_key=SEKRIT"
    with (
        caplog.at_level(logging.DEBUG, logger="evaltrace"),
        Tracker("p", store=store_path, otlp_endpoint=url) as tracker,
    ):
        tracker.log({"m": 1}, "qa", {"id": 1})
        tracker.flush(timeout=1)
        tracker.close(timeout=0.2)
    ours = [r.getMessage() for r in caplog.records if r.name == "evaltrace"]
    assert ours and not any("SEKRIT" in m for m in ours)
