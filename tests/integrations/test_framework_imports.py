"""The framework bridges stay optional: nothing imports a framework until its bridge is used,
and a missing one is a message saying what to install (runs in every venv)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evaltrace._config import INTEGRATION_VARIABLES, inspect_project
from evaltrace._exceptions import ConfigurationError
from evaltrace.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
BRIDGES = {
    "evaltrace.integrations.inspect_ai": ("inspect_ai", "inspect"),
    "evaltrace.integrations.deepeval": ("deepeval", "deepeval"),
    "evaltrace.integrations.ragas": ("ragas", "ragas"),
}


def test_importing_evaltrace_and_its_cli_imports_no_framework() -> None:
    """`import evaltrace` (and the CLI) never pays for Inspect, DeepEval or ragas."""
    code = (
        "import sys, evaltrace, evaltrace.cli, evaltrace.integrations.promptfoo;"
        "print(sorted(m for m in ('inspect_ai', 'deepeval', 'ragas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("bridge", sorted(BRIDGES))
def test_a_missing_framework_says_what_to_install(
    bridge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Importing a bridge without its framework raises ImportError naming the extra."""
    framework, extra = BRIDGES[bridge]
    monkeypatch.setitem(sys.modules, framework, None)  # as if not installed
    monkeypatch.delitem(sys.modules, bridge, raising=False)
    with pytest.raises(ImportError, match=rf"pip install 'evaltrace\[{extra}\]'"):
        importlib.import_module(bridge)


def test_cli_import_without_inspect_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`evaltrace import inspect` without inspect-ai: one line saying what to install."""
    monkeypatch.setitem(sys.modules, "inspect_ai", None)
    monkeypatch.delitem(sys.modules, "evaltrace.integrations.inspect_ai", raising=False)
    log = tmp_path / "x.eval"
    log.write_bytes(b"")
    out = CliRunner().invoke(main, ["import", "inspect", str(log), "--store", str(tmp_path / "s")])
    assert out.exit_code == 1
    assert "inspect_ai is not installed: pip install 'evaltrace[inspect]'" in out.output


@pytest.mark.parametrize(
    ("value", "project", "expected"),
    [
        (None, None, None),
        ("0", None, None),
        ("off", None, None),
        ("1", None, "inspect"),
        ("true", "evals", "evals"),
    ],
)
def test_inspect_hook_is_on_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, value: str | None, project: str | None, expected: str | None
) -> None:
    """EVALTRACE_INSPECT turns the hook on; EVALTRACE_INSPECT_PROJECT names its project."""
    for name, setting in (("EVALTRACE_INSPECT", value), ("EVALTRACE_INSPECT_PROJECT", project)):
        if setting is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, setting)
    assert inspect_project() == expected


def test_a_wrong_inspect_switch_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A value that is neither on nor off fails loudly, naming the variable."""
    monkeypatch.setenv("EVALTRACE_INSPECT", "maybe")
    with pytest.raises(ConfigurationError, match="EVALTRACE_INSPECT='maybe'"):
        inspect_project()


def test_every_integration_variable_is_documented() -> None:
    """Each variable the bridges read is in docs/integrations.md."""
    text = DOCS.read_text(encoding="utf-8")
    assert [name for name in INTEGRATION_VARIABLES if f"`{name}`" not in text] == []
