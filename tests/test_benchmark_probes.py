"""The probe scripts of ``benchmarks/probes/`` run against today's internals.

They import private modules (the writer's SQL, the schema's walk) to time one step at a
time, so a refactor could break them silently: each is imported here, and those that need no
backend and no valgrind run on tiny sizes.
"""

from __future__ import annotations

import importlib

import pytest

PROBES = ("ab", "breakdown", "instructions", "profiles", "stages", "wal_frames")


@pytest.mark.parametrize("name", PROBES)
def test_probe_imports(name: str) -> None:
    """Every probe module imports and has a ``main``."""
    module = importlib.import_module(f"benchmarks.probes.{name}")
    assert callable(module.main)


@pytest.mark.parametrize(
    ("name", "argv", "expect"),
    [
        ("breakdown", ["encode", "--number", "3"], "encode_result (whole)"),
        ("breakdown", ["commit", "--n", "6"], "WAL frames"),
        ("breakdown", ["readback", "--n", "40"], "iter_run_results (whole)"),
        ("profiles", ["log", "--n", "5", "--top", "1"], "plain:"),
        ("profiles", ["log_batch", "--n", "100", "--top", "1"], "plain:"),
        ("profiles", ["stream", "--n", "40", "--top", "1"], "plain:"),
        ("profiles", ["history", "--n", "3", "--top", "1"], "plain:"),
        ("wal_frames", ["--n", "5"], "frames"),
    ],
)
def test_probe_runs(
    name: str, argv: list[str], expect: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The backend-free probes run end to end on tiny sizes and print their figures."""
    importlib.import_module(f"benchmarks.probes.{name}").main(argv)
    assert expect in capsys.readouterr().out
