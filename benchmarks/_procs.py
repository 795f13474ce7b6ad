"""CPU seconds of processes, read from ``/proc``, and the pids of the collector and Jaeger that
``make backends-up`` started: what the throughput rows charge to each process of the path.

A pid file is believed only when its process listens on the port the benchmark sends to, so a
``EVALTRACE_TEST_*`` address pointing at other servers never gets another process's CPU."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["backend_pids", "cpu_seconds", "listens"]

_LISTEN = "0A"
"""The TCP state ``/proc/net/tcp`` gives a listening socket."""


def cpu_seconds(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds (user + system, every thread) each process has used so far."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for name, pid in pids.items():
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[name] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == _LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def listens(pid: int, port: int) -> bool:
    """True when process ``pid`` holds a socket listening on TCP ``port``."""
    inodes = _listening_inodes(port)
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:[") and link[8:-1] in inodes:
            return True
    return False


def _run_dir() -> Path:
    # As deploy/scripts/backends-lib.sh: RUN_DIR=${EVALTRACE_BACKENDS_RUN:-$CACHE_DIR/run}.
    run = os.environ.get("EVALTRACE_BACKENDS_RUN")
    if run:
        return Path(run)
    cache = os.environ.get("EVALTRACE_BACKENDS_CACHE") or os.path.expanduser("~/.cache/evaltrace")
    return Path(cache) / "run"


def _port(address: str) -> int:
    parsed = urlsplit(address if "://" in address else f"//{address}")
    if parsed.port is None:
        raise ValueError(f"no port in {address!r}")
    return parsed.port


def backend_pids(collector: str, jaeger: str) -> dict[str, int] | str:
    """``{"collector": pid, "jaeger": pid}`` of the servers listening on the ``collector`` and
    ``jaeger`` addresses, from the run dir's pid files; else why they are not known."""
    run = _run_dir()
    pids = {}
    for name, address in (("collector", collector), ("jaeger", jaeger)):
        pid_file = run / name / "pid"
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return f"no {name} pid file at {pid_file} (servers not started by make backends-up)"
        if not listens(pid, _port(address)):
            return f"{name} pid {pid} ({pid_file}) does not listen on {address}"
        pids[name] = pid
    return pids
