"""The CLI at its edges: terminal-safe text, strict JSON, private files, clear errors."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace._cli_format import compare_report, results_table, runs_table, terminal_safe
from evaltrace._compare import compare_runs
from evaltrace.cli import main

_UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _terminal_safe(text: str) -> bool:
    return all(c == "\n" or unicodedata.category(c) not in _UNSAFE for c in text)


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _cli(store: Path, *args: str) -> Any:
    return CliRunner().invoke(main, [*args, "--store", str(store)])


def test_a_newline_in_a_run_id_cannot_forge_a_row(store_path: Path) -> None:
    """The issue's example: `runs` prints one row (escaped), not a fake second one."""
    fake = "run\nfake-row  ds  2099-01-01  999  1.000\x1b]0;owned\x07"
    with Tracker("p", store=store_path) as tracker:
        tracker.log({"m": {"score": 0.5}}, "ds", {"id": "a\x1b[2J"}, run_id=fake)
    out = _cli(store_path, "runs")
    assert out.exit_code == 0 and out.stdout.count("\n") == 2, out.stdout
    assert "run\\nfake-row" in out.stdout and "\x1b" not in out.stdout
    shown = _cli(store_path, "results", fake)
    assert shown.exit_code == 0 and "\x1b" not in shown.stdout and "a\\x1b[2J" in shown.stdout


_TEXT = st.text(
    st.characters(codec="utf-8")
    | st.sampled_from(["\n", "\r", "\x1b", "\x9b", "\u202e", "\u2066", "\u2028", "\x00", "\x7f"]),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(run=_TEXT, other=_TEXT, sample=_TEXT, metric=_TEXT, dataset=_TEXT, label=_TEXT)
def test_any_string_through_every_cli_table_is_terminal_safe(
    run: str, other: str, sample: str, metric: str, dataset: str, label: str
) -> None:
    """Run ids, dataset and project names, sample ids, metric names and labels of any text:
    runs, results and compare print no control, escape, bidi or separator character, and
    exactly as many lines as the same tables of the names escaped."""

    def tables(run: str, other: str, sample: str, metric: str, dataset: str, label: str) -> str:
        result = {metric: {"score": 0.5, "label": label}}
        a = [{"run_id": run, "sample_id": sample, "evaluation_result": result}]
        b = [{"run_id": other, "sample_id": sample, "evaluation_result": {metric: {"score": 0.7}}}]
        history = [
            {
                "run_id": r,
                "project_name": p,
                "dataset_name": dataset,
                "started_at": "2024-01-01T00:00:00",
                "num_results": 1,
                "metrics": {f"{metric}.score": {"mean": 0.5}},
            }
            for r, p in ((run, "p"), (other, label))
        ]
        comparison = compare_runs(a, b)  # type: ignore[arg-type]
        return "\n".join(
            [
                runs_table(history, 200),
                results_table(a, 200),  # type: ignore[arg-type]
                compare_report(comparison, 10, 0, 200),
            ]
        )

    text = tables(run, other, sample, metric, dataset, label)
    assert _terminal_safe(text)
    # The same names already escaped (terminal_safe is idempotent) make the same tables; a raw
    # newline that slipped through would add a line the escaped twin does not have.
    escaped = tables(*(terminal_safe(t) for t in (run, other, sample, metric, dataset, label)))
    assert text.count("\n") == escaped.count("\n")


@given(st.text())
def test_terminal_safe_is_safe_and_idempotent(text: str) -> None:
    """Any string comes out with no unsafe character, and escaping twice changes nothing."""
    once = terminal_safe(text)
    assert _terminal_safe(once) and "\n" not in once and terminal_safe(once) == once


def test_results_json_and_export_write_strict_json(store_path: Path, tmp_path: Path) -> None:
    """NaN and the infinities: every line parses with a strict parser, as strings."""
    row = {"m": {"score": math.nan}, "hi": {"score": math.inf}, "lo": {"score": -math.inf}}
    with Tracker("p", store=store_path) as tracker:
        tracker.log(row, "qa", {"id": 1, "x": math.nan}, run_id="r", metadata={"t": math.inf})
    out = _cli(store_path, "results", "r", "--json")
    assert out.exit_code == 0
    (line,) = [_strict(text) for text in out.stdout.splitlines()]
    assert line["evaluation_result"] == {
        "m": {"score": "NaN"},
        "hi": {"score": "Infinity"},
        "lo": {"score": "-Infinity"},
    }
    assert line["data"]["x"] == "NaN" and line["metadata"] == {"t": "Infinity"}
    target = tmp_path / "x.jsonl"
    assert _cli(store_path, "export", "r", "-o", str(target)).exit_code == 0
    assert [_strict(t) for t in target.read_text().splitlines()] == [line]
    assert _strict(_cli(store_path, "runs", "--json").stdout)[0]["run_id"] == "r"


def test_export_and_report_files_are_private(store_path: Path, tmp_path: Path) -> None:
    """Exports and reports hold the same text as the store: created 0600 like it."""
    pytest.importorskip("jinja2")
    with Tracker("p", store=store_path) as tracker:
        tracker.log({"m": 1.0}, "qa", {"id": 1, "q": "private"}, run_id="r")
    os.umask(0o022)
    for args, name in ((["export", "r", "-o"], "x.jsonl"), (["report", "r", "-o"], "x.html")):
        out = _cli(store_path, *args, str(tmp_path / name))
        assert out.exit_code == 0, out.output
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    "args",
    [
        ["export", "r", "-o", "/nonexistent/x.jsonl"],
        ["report", "r", "-o", "/nonexistent/x.html"],
        ["sync", "--endpoint", "http://[::1"],
        ["sync", "--endpoint", "notaurl"],
        ["sync", "--endpoint", "ftp://h/x"],
    ],
)
def test_a_users_mistake_is_a_message_not_a_traceback(args: list[str], store_path: Path) -> None:
    """Unwritable outputs and bad endpoints: exit 1, one clear line naming what is wrong."""
    pytest.importorskip("jinja2")
    with Tracker("p", store=store_path) as tracker:
        tracker.log({"m": 1.0}, "qa", {"id": 1}, run_id="r")
    out = _cli(store_path, *args)
    assert out.exit_code == 1 and "Traceback" not in out.output, out.output
    assert out.exception is None or isinstance(out.exception, SystemExit)
    named = "--endpoint" if args[0] == "sync" else "/nonexistent/x"
    assert named in out.output


@pytest.mark.parametrize("endpoint", ["notaurl", "ftp://collector:4318", "http://[::1"])
def test_an_endpoint_that_cannot_work_is_refused_naming_the_argument(
    endpoint: str, store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """otlp_endpoint= and the OTEL variable: refused at construction, the source named."""
    with pytest.raises(evaltrace.ConfigurationError, match="otlp_endpoint="):
        Tracker("p", store=store_path, otlp_endpoint=endpoint)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    with pytest.raises(evaltrace.ConfigurationError, match="OTEL_EXPORTER_OTLP_ENDPOINT="):
        Tracker("p", store=store_path)


@pytest.mark.parametrize("field", ["run_id", "dataset_name", "project_name"])
def test_a_lone_surrogate_is_refused_naming_its_field(field: str) -> None:
    """A surrogate in a name is an InvalidInputError naming the field, not a TypeError."""
    bad = "x\udc80y"
    with pytest.raises(evaltrace.InvalidInputError, match=field):
        if field == "project_name":
            Tracker(bad, store=False)
        else:
            kwargs = {"run_id": bad} if field == "run_id" else {}
            with Tracker("p", store=False, exporters=[InMemorySpanExporter()]) as tracker:
                tracker.log({"m": 1}, bad if field == "dataset_name" else "qa", {}, **kwargs)


def test_a_dangling_symlink_or_a_file_as_folder_is_a_clear_store_error(tmp_path: Path) -> None:
    """Store paths that cannot be created: StoreWriteError naming the path, nothing made."""
    link = tmp_path / "s.db"
    link.symlink_to(tmp_path / "gone" / "s.db")
    with pytest.raises(evaltrace.StoreWriteError, match="symbolic link"):
        Tracker("p", store=link)
    (tmp_path / "file").write_text("x")
    with pytest.raises(evaltrace.StoreWriteError, match="cannot create the store"):
        Tracker("p", store=tmp_path / "file" / "s.db")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "s.db"]


_FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # every write past byte 0 fails: a full disk
import evaltrace
try:
    evaltrace.OpenTelemetryExperimentTracker("p", store=sys.argv[1])
except evaltrace.StoreWriteError as exc:
    sys.exit(f"StoreWriteError: {exc}")
"""


def test_a_full_disk_at_construction_is_a_store_error_and_leaves_no_file(tmp_path: Path) -> None:
    """No room to set the store up: StoreWriteError (not OperationalError), no 0-byte file."""
    store = tmp_path / "s.db"
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(store)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert "StoreWriteError: cannot open the store" in done.stderr, done.stderr
    assert "disk I/O error" in done.stderr
    assert list(tmp_path.iterdir()) == []
