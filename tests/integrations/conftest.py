"""The gllm-evals bridge tests run in .venv-gllm (`make test-gllm`, which `make test` runs).
Elsewhere gllm-evals is not installed: the module is not collected (every other run deselects
the `gllm` marker anyway). `make test-gllm` sets EVALTRACE_REQUIRE_GLLM=1, so a venv without
gllm-evals fails there instead of passing with nothing run."""

from __future__ import annotations

import importlib.util
import os

if importlib.util.find_spec("gllm_evals") is None:
    if os.environ.get("EVALTRACE_REQUIRE_GLLM") == "1":
        raise RuntimeError("gllm-evals is required here (EVALTRACE_REQUIRE_GLLM=1): make test-gllm")
    collect_ignore = ["test_gllm_evals.py"]
