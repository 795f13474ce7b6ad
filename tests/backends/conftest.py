"""The real backends (Jaeger v2 and the collector running collector-config.yaml), started by
the project's own scripts. Without Go they skip; under CI=true anything missing fails."""

from __future__ import annotations

import os
import shutil
import subprocess
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


def _env() -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(SCRIPTS / "backends-env.sh")], check=True, capture_output=True, text=True
    ).stdout
    pairs = (line.removeprefix("export ").split("=", 1) for line in out.splitlines() if "=" in line)
    return {k: v for k, v in pairs}


@pytest.fixture(scope="session")
def backends() -> Backends:
    """Start (or reuse) Jaeger and the collector through deploy/scripts/backends-up.sh."""
    if shutil.which("go") is None:
        _unavailable("the go command is not installed: cannot build Jaeger and the collector")
    started = subprocess.run(
        ["bash", str(SCRIPTS / "backends-up.sh")], capture_output=True, text=True, timeout=3600
    )
    if started.returncode != 0:
        _unavailable(f"backends-up.sh failed:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}")
    env = _env()
    binary, run_dir = subprocess.run(
        [
            "bash",
            "-c",
            f". {SCRIPTS / 'backends-lib.sh'} >/dev/null; echo $COLLECTOR_BIN; echo $RUN_DIR",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    found = Backends(
        collector_grpc=env["EVALTRACE_TEST_COLLECTOR_OTLP"],
        collector_http=env["EVALTRACE_TEST_COLLECTOR_OTLP_HTTP"],
        jaeger_url=env["EVALTRACE_TEST_JAEGER_URL"],
        jaeger_grpc="grpc://" + env["EVALTRACE_TEST_JAEGER_GRPC"],
        collector_bin=Path(binary),
        run_dir=Path(run_dir),
    )
    httpx.get(found.jaeger_url + "/api/v3/services", timeout=10).raise_for_status()
    return found
