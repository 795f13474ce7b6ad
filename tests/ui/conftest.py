"""The UI's fixtures: a store filled through the public tracker, the real server, Chromium."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from evaltrace import OpenTelemetryExperimentTracker

if os.environ.get("CI", "").lower() == "true":
    import starlette  # noqa: F401 - under CI the ui extra is required: missing, it fails
else:
    pytest.importorskip("starlette", reason="needs the ui extra: pip install -e '.[dev,ui]'")

ARTIFACTS = Path(os.environ.get("EVALTRACE_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
BASELINE, CANDIDATE, OTHER = "run-baseline", "run-candidate", "run-other-dataset"


def _row(sid: str, f1: float, latency: float, extra: dict[str, Any] | None = None) -> Any:
    """A result with an explanation, and a RAG row: question, reference, answer, contexts."""
    result = {
        "qa": {
            "f1": {
                "score": f1,
                "threshold": 0.5,
                "strict_mode": False,
                "explanation": f"token overlap {f1:.2f} with the reference",
            },
            "passed": f1 >= 0.5,
            "latency": {"score": latency, "higher_is_better": False},
            **(extra or {}),
        }
    }
    verdict = "surely" if f1 >= 0.5 else "perhaps not"
    data = {
        "id": sid,
        "question": f"What is {sid}?",
        "reference": f"{sid} is a sample",
        "answer": f"{sid} is {verdict} a sample",
        "contexts": [f"{sid} is described here.", "Samples are rows of a dataset."],
    }
    return result, data


def fill(path: Path) -> None:
    """Baseline and candidate of one dataset, and one run of another dataset.

    Candidate vs baseline: ``s-regressed`` drops from 0.9 to 0.1 (the worst), ``s000`` from
    0.6 to 0.55 (the second regression), ``s-improved`` rises,
    ``s-only-a`` / ``s-only-b`` are unpaired, latency (lower is better) goes down, and the
    baseline's ``qa.rouge`` metric vanishes from the candidate.
    """
    base = [_row("s-regressed", 0.9, 2.0, {"rouge": {"score": 0.4}}), _row("s-improved", 0.2, 2.0)]
    base += [_row(f"s{i:03d}", 0.6, 2.0) for i in range(60)] + [_row("s-only-a", 0.5, 2.0)]
    cand = [_row("s-regressed", 0.1, 1.0), _row("s-improved", 0.95, 1.0)]
    cand += [_row(f"s{i:03d}", 0.6 + (i % 5) / 20 if i else 0.55, 1.0) for i in range(60)]
    cand += [_row("s-only-b", 0.7, 1.0)]
    with OpenTelemetryExperimentTracker("ui-proj", store=path) as tracker:
        for run_id, rows, model in ((BASELINE, base, "small"), (CANDIDATE, cand, "large")):
            tracker.log_batch_sync(
                [r for r, _ in rows],
                "faq",
                [d for _, d in rows],
                run_id=run_id,
                metadata={"model": model, "seed": 0},
            )
        tracker.log_batch_sync(
            [_row("c1", 0.3, 1.0)[0]], "chat", [{"id": "c1"}], run_id=OTHER, metadata={"model": "x"}
        )


@pytest.fixture(scope="session")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the three runs of ``fill``."""
    path = tmp_path_factory.mktemp("ui") / "evaltrace.db"
    fill(path)
    return path


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


GLLM_RUNS = Path(__file__).parent / "data" / "gllm_runs.json"
"""Three real gllm-evals ``evaluate()`` runs (ClassicalRetrievalEvaluator, k = 1, 3, 5), 20
samples each, as its tracker hook received them; recorded with gllm-evals-binary 0.1.41 by
``data/make_gllm_runs.py`` (in ``.venv-gllm``: this venv has no gllm-evals)."""


@pytest.fixture(scope="session")
def gllm_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding the recorded gllm-evals runs, logged through the public tracker."""
    path = tmp_path_factory.mktemp("gllm") / "evaltrace.db"
    runs = json.loads(GLLM_RUNS.read_text())
    for run_id, run in runs.items():
        with OpenTelemetryExperimentTracker(run["project"], store=path) as tracker:
            tracker.log_batch_sync(
                [r["evaluation_result"] for r in run["rows"]],
                run["dataset"],
                [r["data"] for r in run["rows"]],
                run_id=run_id,
                metadata=run["metadata"],
            )
    return path


@pytest.fixture(scope="session")
def gllm_server(gllm_store: Path) -> Iterator[str]:
    """``evaltrace ui`` over the gllm-evals runs."""
    yield from _serve(gllm_store)


@pytest.fixture(scope="session")
def server(store: Path) -> Iterator[str]:
    """``evaltrace ui`` on a free loopback port, up once /healthz answers."""
    yield from _serve(store)


def _serve(store: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    port = free_port()
    cli = Path(sys.executable).parent / "evaltrace"
    env = {**os.environ, "EVALTRACE_JAEGER_UI_URL": "http://127.0.0.1:16686", **(extra_env or {})}
    proc = subprocess.Popen(
        [str(cli), "ui", "--store", str(store), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"evaltrace ui exited {proc.returncode}: {proc.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("evaltrace ui did not answer /healthz within 30 s")
            time.sleep(0.05)  # between polls of a condition, bounded by the deadline
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass(frozen=True)
class Browser:
    """Debian's Chromium, headless, a fresh profile per page."""

    binary: str

    def _run(self, *args: str) -> str:
        with tempfile.TemporaryDirectory() as profile:
            done = subprocess.run(
                [self.binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                capture_output=True,
                text=True,
                timeout=90,
                check=True,
            )
        return done.stdout

    def dom(self, url: str) -> str:
        """The DOM after the page's scripts ran."""
        return self._run("--dump-dom", url)

    def screenshot(self, url: str, name: str, height: int = 900) -> Path:
        """A PNG of the page at 1280 px wide, kept under the artefacts folder."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self._run(f"--screenshot={path}", f"--window-size=1280,{height}", url)
        assert path.stat().st_size > 10_000, f"{path} looks empty"
        return path


class Page:
    """A Chromium page driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
    NUL-terminated JSON on fds 3 and 4, no extra package), for what a person clicks."""

    def __init__(self, binary: str, url: str) -> None:
        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)  # late renderers
        commands_r, self._commands_w = os.pipe()
        self._events_r, events_w = os.pipe()
        # Park the child's ends above 4 so dup2 onto 3 and 4 cannot clobber one another.
        child_in, child_out = (
            fcntl.fcntl(commands_r, fcntl.F_DUPFD, 10),
            fcntl.fcntl(events_w, fcntl.F_DUPFD, 10),
        )
        os.close(commands_r)
        os.close(events_w)

        def remap() -> None:
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self._proc = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-pipe",
                "--window-size=1400,1000",
                "about:blank",
            ],
            pass_fds=(3, 4, child_in, child_out),  # 3, 4: the ends remap() puts there
            preexec_fn=remap,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(child_in)
        os.close(child_out)
        self._buffer = b""
        self._next = 0
        target = self._call("Target.createTarget", url=url)["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.wait_for(  # the new tab starts blank: wait for the page itself
            f"location.href.startsWith({json.dumps(url)}) && document.readyState === 'complete'"
        )

    def _call(self, method: str, session: str | None = None, **params: Any) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._commands_w, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._events_r, 1 << 16)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(reply["error"])
                return reply.get("result", {})

    def run(self, expression: str) -> Any:
        """The value of ``expression`` (a promise is awaited) in the page."""
        result = self._call(
            "Runtime.evaluate",
            self._session,
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """Re-evaluate ``expression`` until it is truthy (a navigation may be under way)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.run(expression)
            except RuntimeError:  # the context went away with a navigation: ask again
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"never true within {timeout} s: {expression}")
            time.sleep(0.05)  # between polls of a condition, bounded by the deadline

    def press(self, key: str, timeout: float = 30) -> str:
        """Press ``key`` (a real key event, as a person types) and return the URL the page
        is at once it has left the current one and loaded."""
        start = self.run("location.href")
        for kind in ("keyDown", "keyUp"):
            self._call("Input.dispatchKeyEvent", self._session, type=kind, key=key, text=key)
        return str(
            self.wait_for(
                f"location.href !== {json.dumps(start)} && document.readyState === 'complete'"
                " ? location.href : ''",
                timeout,
            )
        )

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)
        os.close(self._commands_w)
        os.close(self._events_r)
        self._profile.cleanup()


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Chromium, or a skip (a failure under CI=true, where it must be installed)."""
    binary = os.environ.get("EVALTRACE_CHROMIUM") or shutil.which("chromium")
    if binary is None:
        message = "chromium not found: apt-get install -y chromium (or make chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return Browser(binary)
