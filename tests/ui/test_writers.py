"""The run page of a run written by many writers says how complete it reads: per writer what
it said against what was found, and a short writer named, without refusing the page."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from evaltrace import InMemoryQueryAdapter, OpenTelemetryExperimentTracker
from evaltrace._config import TraceLinks
from evaltrace.ui import Source
from evaltrace.ui._app import create_app

from ..test_shards import RUN, Shared, _log_shard


def test_the_run_page_shows_each_writer_and_names_the_short_one(tmp_path: Path) -> None:
    """Two writers declared, one closed, one still open: the page shows the results there
    are and names the open writer as incomplete; once it closed, the page says complete."""
    memory = Shared()
    done = OpenTelemetryExperimentTracker("p", store=tmp_path / "a.db", exporters=[memory])
    open_ = OpenTelemetryExperimentTracker("p", store=tmp_path / "b.db", exporters=[memory])
    _log_shard(done, 0, 30, shards=2)
    _log_shard(open_, 1, 20, shards=2)
    done.close()
    source = Source(InMemoryQueryAdapter(memory), "memory")
    client = TestClient(create_app(source, TraceLinks(None, None)), base_url="http://127.0.0.1")
    page = client.get(f"/runs/{RUN}")
    assert page.status_code == 200
    assert '2 writers (2 declared): <span class="warn">incomplete</span>' in page.text
    assert f"{open_.writer_id}: 20 results found, no run summary of it" in page.text
    assert f'<code>{done.writer_id}</code></td><td class="num">30</td>' in page.text
    open_.close()
    fresh = Source(InMemoryQueryAdapter(memory), "memory")
    client = TestClient(create_app(fresh, TraceLinks(None, None)), base_url="http://127.0.0.1")
    page = client.get(f"/runs/{RUN}")
    assert "2 writers (2 declared): complete" in page.text
    assert "50" in page.text and 'class="warn"' not in page.text.split('id="writers"')[1][:400]
