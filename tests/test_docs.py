"""The README keeps the promises CI and users rely on."""

from __future__ import annotations

from pathlib import Path

from evaltrace._config import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_two_commands() -> None:
    """The first code block is `make demo` then `make test`, and .ci/run calls `make test`."""
    block = README.split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_environment_variable_is_documented() -> None:
    """Each variable evaltrace reads has a row in the README's configuration table."""
    missing = [name for name in ENVIRONMENT_VARIABLES if f"`{name}`" not in README]
    assert missing == []
