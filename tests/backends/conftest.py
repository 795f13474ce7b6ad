"""The real backends (Jaeger v2 and the collector running collector-config.yaml), started by
the project's own scripts. Without Go they skip; under CI=true anything missing fails.

Servers this session starts are its own (``EVALTRACE_BACKENDS_OWNER=test``) and are stopped
when it ends; servers already running (``make backends-up``, from any checkout: the run dir is
shared) are reused and left running. See docs/backends.md, "Who stops what"."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "deploy" / "scripts"


@dataclass(frozen=True)
class Backends:
    """Where the running backends listen, and the built collector binary."""

    collector_grpc: str
    collector_http: str
    jaeger_url: str
    jaeger_grpc: str
    collector_bin: Path
    run_dir: Path


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"backends required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def script(name: str, *args: str, storage: str | None = None, timeout: float = 900) -> str:
    """Run deploy/scripts/NAME as this test session (its servers are the session's own);
    return its stdout, or fail with the script's own words."""
    env = {**os.environ, "EVALTRACE_BACKENDS_OWNER": "test"}
    if storage is not None:
        env["EVALTRACE_BACKENDS_STORAGE"] = storage
    done = subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        raise RuntimeError(f"{name} {' '.join(args)} failed:\n{output}")
    return done.stdout


def lib_value(name: str) -> str:
    """A setting of deploy/scripts/backends-lib.sh (RUN_DIR, OPENSEARCH_DIR, ...)."""
    return subprocess.run(
        ["bash", "-c", f'. {SCRIPTS / "backends-lib.sh"} >/dev/null; echo "${name}"'],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _env() -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(SCRIPTS / "backends-env.sh")], check=True, capture_output=True, text=True
    ).stdout
    pairs = (line.removeprefix("export ").split("=", 1) for line in out.splitlines() if "=" in line)
    return {k: v for k, v in pairs}


@pytest.fixture(scope="session")
def backends() -> Iterator[Backends]:
    """Start (or reuse) Jaeger (memory storage) and the collector through backends-up.sh; at
    the end of the session stop what the session started (backends-down.sh --test-owned)."""
    if shutil.which("go") is None:
        _unavailable("the go command is not installed: cannot build Jaeger and the collector")
    with pytest.MonkeyPatch.context() as patch:
        # Also for scripts the tests run themselves (a restart after an outage): a server the
        # session restarts keeps its owner, one it starts is its own.
        patch.setenv("EVALTRACE_BACKENDS_OWNER", "test")
        try:
            try:
                script("backends-up.sh", storage="memory", timeout=3600)
            except RuntimeError as exc:
                _unavailable(str(exc))
            env = _env()
            found = Backends(
                collector_grpc=env["EVALTRACE_TEST_COLLECTOR_OTLP"],
                collector_http=env["EVALTRACE_TEST_COLLECTOR_OTLP_HTTP"],
                jaeger_url=env["EVALTRACE_TEST_JAEGER_URL"],
                jaeger_grpc="grpc://" + env["EVALTRACE_TEST_JAEGER_GRPC"],
                collector_bin=Path(lib_value("COLLECTOR_BIN")),
                run_dir=Path(lib_value("RUN_DIR")),
            )
            httpx.get(found.jaeger_url + "/api/v3/services", timeout=10).raise_for_status()
            yield found
        finally:
            script("backends-down.sh", "--test-owned", timeout=300)


@pytest.fixture(scope="module")
def opensearch(backends: Backends) -> Iterator[Backends]:
    """For one test module: Jaeger on the 3-node OpenSearch cluster (same ports), started by
    ``backends-up.sh`` with STORAGE=opensearch; Jaeger goes back to the memory store after
    it. The cluster itself stays up until the session ends (then stopped if the session
    started it); its data stays on disk."""
    if shutil.which("java") is None:
        _unavailable("no java on PATH: OpenSearch needs a JDK 17+")
    zip_there = Path(lib_value("OPENSEARCH_ZIP")).is_file()
    unpacked = (Path(lib_value("OPENSEARCH_HOME")) / "bin" / "opensearch").is_file()
    if shutil.which("mvn") is None and not (zip_there or unpacked):
        _unavailable("no mvn on PATH to fetch OpenSearch from Maven Central")
    try:
        script("backends-up.sh", storage="opensearch")
    except RuntimeError as exc:
        _unavailable(str(exc))
    try:
        yield backends
    finally:
        script("backends-up.sh", storage="memory")
