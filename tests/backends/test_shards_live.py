"""A run written by four processes, each with its own store, through the real collector into
Jaeger (memory store, then the 3-node OpenSearch cluster), one writer killed -9 mid-run: a
reader names it until `evaltrace sync` of its store, then reads the run back exact and
complete; history and the web UI hold the run once."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

import evaltrace
from evaltrace._config import TraceLinks
from evaltrace.cli import main
from evaltrace.ui import open_source
from evaltrace.ui._app import create_app

from ..support.wait import wait_for
from .conftest import Backends

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parents[2]
SHARD_WRITER = ROOT / "tests" / "support" / "shard_writer.py"
WRITERS, EACH, KILLED_AT = 4, 200, 100
"""Four writers of 200 results; the last SIGKILLs itself after 100 (flushing at 50)."""


def _start(
    backends: Backends, store: Path, run_id: str, shard: int, *extra: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(SHARD_WRITER),
            str(store),
            run_id,
            str(shard),
            str(WRITERS),
            str(EACH),
            backends.collector_http,
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "EVALTRACE_SUMMARY_EVERY": "50"},
    )


def _writer_of(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=300)
    assert out.startswith("writer "), (out, err)
    return out.split()[1]


def _expected() -> list[str]:
    sizes = [EACH] * (WRITERS - 1) + [KILLED_AT]
    return sorted(f"s{shard}-{i}" for shard, n in enumerate(sizes) for i in range(n))


def _ids(results: list[dict[str, object]]) -> list[str]:
    return sorted(str(r["sample_id"]) for r in results)


def _reader(
    backends: Backends, monkeypatch: pytest.MonkeyPatch, timeout: float
) -> evaltrace.OpenTelemetryExperimentTracker:
    monkeypatch.setenv("EVALTRACE_READ_TIMEOUT", str(timeout))
    return evaltrace.OpenTelemetryExperimentTracker(
        "shards", store=False, spool=False, query=evaltrace.JaegerQueryAdapter(backends.jaeger_grpc)
    )


def _report(adapter: evaltrace.JaegerQueryAdapter, run_id: str) -> evaltrace.RunCompleteness | None:
    """The run's completeness; None while a trace is seen half-stored (Jaeger and OpenSearch
    ingest span by span, so a read during ingestion refuses rather than count part of it)."""
    try:
        return adapter.run_completeness(run_id)
    except evaltrace.IncompleteResultsError:
        return None


def _closed_writers_in(adapter: evaltrace.JaegerQueryAdapter, run_id: str, n: int) -> bool:
    """The writers that closed are stored whole."""
    report = _report(adapter, run_id)
    whole = (
        [w for w in report["writers"] if w["closed"] and w["said"] == w["found"]] if report else []
    )
    return len(whole) == n and all(w["said"] == EACH for w in whole)


def _refused_naming(
    reader: evaltrace.OpenTelemetryExperimentTracker, run_id: str, who: str
) -> bool:
    """The declared run's read raises, naming ``who`` (not merely a trace still arriving); a
    read that returns the run lacking a writer fails the test at once."""
    try:
        reader.get_run_results(run_id)
    except evaltrace.IncompleteResultsError as exc:
        return who in str(exc)
    raise AssertionError(f"{run_id} read as whole while {who} had not closed")


def _sharded_run(backends: Backends, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tag = uuid.uuid4().hex[:8]
    declared, undeclared = f"shards-{tag}-declared", f"shards-{tag}-undeclared"
    stores = {
        run: [tmp_path / run / f"w{i}" / "evaltrace.db" for i in range(WRITERS)]
        for run in (declared, undeclared)
    }
    procs = {
        run: [
            _start(backends, store, run, i, *((str(KILLED_AT),) if i == WRITERS - 1 else ()), *flag)
            for i, store in enumerate(stores[run])
        ]
        for run, flag in ((declared, ()), (undeclared, ("--undeclared",)))
    }
    writers = {run: [_writer_of(p) for p in ps] for run, ps in procs.items()}
    for ps in procs.values():
        assert [p.returncode for p in ps] == [0] * (WRITERS - 1) + [-9]
    adapter = evaltrace.JaegerQueryAdapter(backends.jaeger_grpc)
    for run in (declared, undeclared):
        wait_for(lambda run=run: _closed_writers_in(adapter, run, WRITERS - 1), 300, "3 writers")

    # Before the sync: declared, the read waits and names the killed writer; undeclared, the
    # read returns what is there and the report shows the killed writer unclosed.
    killed = writers[declared][-1]
    early = _reader(backends, monkeypatch, 1.0)
    wait_for(lambda: _refused_naming(early, declared, killed), 300, "a read naming the writer")
    early.close()
    assert len(adapter.run_results(undeclared)) <= len(_expected())
    report = _report(adapter, undeclared)
    assert report is not None
    short = {w["writer"]: w for w in report["writers"]}[writers[undeclared][-1]]
    assert not report["complete"] and not short["closed"] and short["said"] is not None
    ui = TestClient(
        create_app(open_source(jaeger=backends.jaeger_grpc), TraceLinks(None, None)),
        base_url="http://127.0.0.1",
    )
    page = ui.get(f"/runs/{declared}")
    assert page.status_code == 200 and "incomplete" in page.text and killed in page.text

    # `evaltrace sync` of each killed writer's store: both runs read back exact and complete.
    for run in (declared, undeclared):
        done = CliRunner().invoke(
            main,
            ["sync", "--store", str(stores[run][-1]), "--endpoint", backends.collector_http],
        )
        assert done.exit_code == 0, done.output
    reader = _reader(backends, monkeypatch, 300.0)
    assert _ids(reader.get_run_results(declared)) == _expected()
    wait_for(
        lambda: (_report(adapter, undeclared) or {}).get("complete") is True,
        300,
        "the synced writer",
    )
    assert _ids(adapter.run_results(undeclared)) == _expected()
    for run in (declared, undeclared):
        report = reader.get_run_completeness(run)
        assert report["complete"], report["problems"]
        assert {w["writer"]: (w["said"], w["found"]) for w in report["writers"]} == {
            w: (n, n) for w, n in zip(writers[run], [EACH] * 3 + [KILLED_AT], strict=True)
        }
    total = len(_expected())
    wait_for(
        lambda: (
            {
                r["run_id"]: r["num_results"]
                for r in reader.get_experiment_history(dataset_name="qa")
                if r["run_id"] in (declared, undeclared)
            }
            == {declared: total, undeclared: total}
        ),
        300,
        "history holding each run once, whole",
    )
    fresh = TestClient(
        create_app(open_source(jaeger=backends.jaeger_grpc), TraceLinks(None, None)),
        base_url="http://127.0.0.1",
    )
    assert "4 writers (4 declared): complete" in fresh.get(f"/runs/{declared}").text
    reader.close()
    adapter.close()


def test_a_sharded_run_on_jaeger_memory(
    backends: Backends, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Jaeger's memory store: four shard processes, one killed -9 and synced, read back
    exact and complete."""
    _sharded_run(backends, tmp_path, monkeypatch)


def test_the_readme_sharded_runs_block_runs_as_pasted(backends: Backends, tmp_path: Path) -> None:
    """README "Sharded runs": its shell block (without the make lines, which the fixtures
    stand for) prints what the README says it prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Sharded runs", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    kept = [line for line in block.splitlines() if not line.startswith("make ")]
    script = "\n".join(kept).replace(".venv/bin/python", shlex.quote(sys.executable))
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["300", "True [(100, 100), (100, 100), (100, 100)]"]


def test_a_sharded_run_on_opensearch(
    opensearch: Backends, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same on the 3-node OpenSearch cluster (indexing lags: every wait is bounded)."""
    _sharded_run(opensearch, tmp_path, monkeypatch)
