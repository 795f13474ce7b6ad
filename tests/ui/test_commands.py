"""``evaltrace ui`` and ``evaltrace report`` as commands: options and error messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from evaltrace.cli import main

from .conftest import BASELINE, CANDIDATE


def test_report_without_compare_writes_the_run(store: Path, tmp_path: Path) -> None:
    """report RUN_ID -o FILE writes the run page alone, each metric with its interval."""
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", BASELINE, "-o", str(out), "--store", str(store)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert BASELINE in html and "Compare" not in html and "qa.f1.score" in html
    assert '<span class="pm"> ± ' in html and "95 % CI " in html  # the metrics' intervals


def test_report_of_an_unknown_run_fails_naming_it(store: Path, tmp_path: Path) -> None:
    """An unknown run id, or baseline, is an error that says which, and writes nothing."""
    out = tmp_path / "r.html"
    for args in (["nope"], [CANDIDATE, "--compare", "gone"]):
        result = CliRunner().invoke(main, ["report", *args, "-o", str(out), "--store", str(store)])
        assert result.exit_code == 1
        assert repr(args[-1]) in result.output
    assert not out.exists()


def test_ui_and_report_need_an_existing_store(tmp_path: Path) -> None:
    """A store path that does not exist is refused before anything is served or written."""
    missing = str(tmp_path / "none.db")
    for args in (["ui"], ["report", "x", "-o", str(tmp_path / "r.html")]):
        result = CliRunner().invoke(main, [*args, "--store", missing])
        assert result.exit_code == 1 and "no evaltrace store" in result.output


def test_ui_and_report_are_documented() -> None:
    """Both commands have help text that names their options."""
    for command, option in (("ui", "--jaeger"), ("report", "--compare")):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and option in result.output


@pytest.mark.parametrize("args", [["--jaeger", "grpc://x:1", "--tempo", "http://y"], ["--tempo"]])
def test_ui_rejects_bad_backend_options(args: list[str]) -> None:
    """ui refuses two remote backends at once, and options without values (``--store`` beside
    ``--jaeger`` names the store reviews go to)."""
    assert CliRunner().invoke(main, ["ui", *args]).exit_code == 2


def test_report_reads_one_backend() -> None:
    """report refuses --store beside --jaeger: it reads one backend."""
    args = ["report", "r", "-o", "x.html", "--store", "a", "--jaeger", "grpc://x:1"]
    assert CliRunner().invoke(main, args).exit_code == 2
