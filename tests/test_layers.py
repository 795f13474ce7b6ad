"""The layering docs/architecture.md promises, read from the source (AST), not from imports run.

Every ``import`` counts, at module level or inside a function (a function-level import hides a
cycle from Python, not from this test). The rules:

- ``schema/`` and ``_codec`` import nothing of the tracker: only the foundation leaves;
- ``store/`` imports ``schema/`` and the leaves, and no OpenTelemetry;
- ``query/`` imports ``store/``, ``schema/`` and the leaves;
- ``ui/`` reads through ``query/``: never ``store/``, the tracker, or delivery;
- no cycle between private modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "evaltrace"

FOUNDATION = frozenset(
    f"{PACKAGE}.{name}"
    for name in (
        "_codec",
        "_exceptions",
        "_intervals",
        "_quantiles",
        "_types",
        "_urls",
        "_validate",
    )
)
"""Leaves every layer may import: each imports nothing of evaltrace but another leaf."""


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module under ``src/evaltrace`` by dotted name, with whether it is a package."""
    out: dict[str, tuple[Path, bool]] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        out[".".join(parts)] = (path, is_package)
    return out


MODULES = _modules()


def _imported(name: str) -> Iterator[tuple[str, int]]:
    """``(module, line)`` for every import in module ``name``, relative ones resolved; a
    ``from package import submodule`` names the submodule too."""
    path, is_package = MODULES[name]
    package = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    yield f"{target}.{alias.name}", node.lineno


def _ours(name: str) -> set[str]:
    """The evaltrace modules ``name`` imports (itself left out)."""
    return {t for t, _ in _imported(name) if t in MODULES and t != name}


def _in(name: str, *layers: str) -> bool:
    return any(
        name == f"{PACKAGE}.{layer}" or name.startswith(f"{PACKAGE}.{layer}.") for layer in layers
    )


def _breaches(layer: str, allowed: tuple[str, ...]) -> list[str]:
    """``module -> import`` for each import of ``layer``'s modules outside ``allowed`` layers
    and the foundation."""
    return sorted(
        f"{name} -> {target}"
        for name in MODULES
        if _in(name, layer)
        for target in _ours(name)
        if not _in(target, layer, *allowed) and target not in FOUNDATION
    )


def test_the_scan_sees_the_package() -> None:
    """The scan finds the layers it checks, and resolves relative imports (a scan that saw
    nothing would pass every rule)."""
    assert {
        f"{PACKAGE}.schema._encode",
        f"{PACKAGE}.store._writer",
        f"{PACKAGE}.query._base",
    } <= set(MODULES)
    assert f"{PACKAGE}.schema._names" in _ours(f"{PACKAGE}.schema._encode")


def test_schema_imports_only_the_foundation() -> None:
    """``schema/`` (names, the walk, encode/decode, scores, aggregates) is the bottom layer."""
    assert _breaches("schema", ()) == []


def test_codec_imports_only_the_foundation() -> None:
    """``_codec`` is a leaf: every layer encodes JSON through it."""
    assert _ours(f"{PACKAGE}._codec") <= FOUNDATION


def test_store_imports_schema_and_nothing_above() -> None:
    """``store/`` knows the SQLite layout and the schema; never the tracker, delivery or query."""
    assert _breaches("store", ("schema",)) == []


def test_store_imports_no_opentelemetry() -> None:
    """``store/`` holds rows, not spans: no OpenTelemetry import (that is delivery's)."""
    found = sorted(
        f"{name}:{line} {target}"
        for name in MODULES
        if _in(name, "store")
        for target, line in _imported(name)
        if target == "opentelemetry" or target.startswith("opentelemetry.")
    )
    assert found == []


def test_query_imports_store_schema_and_nothing_above() -> None:
    """``query/`` reads through ``store/`` and ``schema/``; never the tracker's modules."""
    assert _breaches("query", ("store", "schema")) == []


def test_ui_reads_through_query() -> None:
    """``ui/`` never reaches the store, the tracker or delivery: it reads through ``query/``."""
    above = ("store", "_tracker", "_spans", "_plan", "_forward", "_otlp", "_sync", "delivery")
    found = sorted(
        f"{name} -> {target}"
        for name in MODULES
        if _in(name, "ui")
        for target in _ours(name)
        if _in(target, *above)
    )
    assert found == []


def _edges(name: str) -> list[str]:
    """The modules ``name`` depends on when it is imported: an import of another package
    stands for what that package's ``__init__`` imports (``from .schema import flatten`` runs
    ``schema/_encode``); a module's own package is left out, since Python imports it first."""
    out: set[str] = set()
    todo = sorted(_ours(name))
    seen: set[str] = set()
    while todo:
        target = todo.pop()
        if target in seen or name.startswith(target + "."):
            continue
        seen.add(target)
        if MODULES[target][1]:
            todo.extend(_ours(target))
        else:
            out.add(target)
    out.discard(name)
    return sorted(out)


def _cycles() -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm)."""
    nodes = [n for n, (_, is_package) in MODULES.items() if not is_package]
    edges = {n: _edges(n) for n in nodes}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return groups


def test_no_cycle_between_modules() -> None:
    """No two modules import each other, directly or round a loop, even inside a function."""
    assert _cycles() == []
