"""The alert and recording rules in deploy/prometheus/ pass `promtool test rules` and
`promtool check config`: pass rate below the threshold, mean dropped against the week
before (docs/metrics.md).

Needs promtool, built by `make backends` (deploy/scripts/build-backends.sh): without it the
test skips, under CI=true it fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.backends

ROOT = Path(__file__).resolve().parents[1]
PROMETHEUS = ROOT / "deploy" / "prometheus"


def _promtool() -> str:
    """promtool from the backend cache (the version the scripts run), else from PATH."""
    built = subprocess.run(
        [
            "bash",
            "-c",
            f'. {ROOT / "deploy/scripts/backends-lib.sh"} >/dev/null; echo "$PROMTOOL_BIN"',
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if built and os.access(built, os.X_OK):
        return built
    found = shutil.which("promtool")
    if found:
        return found
    reason = f"promtool is not built ({built}): run `make backends`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"promtool required under CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def test_the_rules_pass_their_promtool_tests() -> None:
    """Every case of rules_test.yml holds (alerts fire and stay quiet as written there)."""
    done = subprocess.run(
        [_promtool(), "test", "rules", "rules_test.yml"],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_prometheus_config_and_rules_are_valid() -> None:
    """prometheus.yml (with its rule file) is what Prometheus accepts."""
    done = subprocess.run(
        [_promtool(), "check", "config", "prometheus.yml"],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
