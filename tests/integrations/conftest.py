"""The gllm-evals bridge tests run in .venv-gllm (`make test-gllm`, which `make test` runs).
Elsewhere gllm-evals is not installed: the module is not collected (every other run deselects
the `gllm` marker anyway). `make test-gllm` sets EVALTRACE_REQUIRE_GLLM=1, so a venv without
gllm-evals fails there instead of passing with nothing run.

The framework bridges (marker ``frameworks``) run alike in the venv `make test-frameworks`
builds: a test module whose framework is missing is not collected, unless
EVALTRACE_REQUIRE_FRAMEWORKS=1 (which that target sets) makes the absence an error."""

from __future__ import annotations

import importlib.util
import os

if importlib.util.find_spec("gllm_evals") is None:
    if os.environ.get("EVALTRACE_REQUIRE_GLLM") == "1":
        raise RuntimeError("gllm-evals is required here (EVALTRACE_REQUIRE_GLLM=1): make test-gllm")
    collect_ignore = ["test_gllm_evals.py"]

_FRAMEWORK_TESTS = {
    "inspect_ai": "test_inspect_ai.py",
    "deepeval": "test_deepeval.py",
    "ragas": "test_ragas.py",
}
for _module, _test in _FRAMEWORK_TESTS.items():
    if importlib.util.find_spec(_module) is None:
        if os.environ.get("EVALTRACE_REQUIRE_FRAMEWORKS") == "1":
            raise RuntimeError(f"{_module} is required here (EVALTRACE_REQUIRE_FRAMEWORKS=1)")
        globals().setdefault("collect_ignore", []).append(_test)
