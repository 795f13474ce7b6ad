"""Who holds an outbox lease, and whether that process is gone.

A forwarder leases the entries it sends (``LEASE_NS``, 60 s) so that other processes on the
store do not send them at the same time. A process SIGKILLed while holding leases used to
make the next tracker wait them out: a restarted short run closed with its predecessor's
spans still pending. Each lease now names its holder: host, boot, pid and the process's start
time (a pid is reused; a boot ends every process), the host named with its pid namespace. On
the same host, namespace and boot, a holder whose pid is gone, or is another process now, is
gone: its leases are taken over at once. A lease of another host (or container) cannot be
checked and still runs out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sqlite3
from functools import cache
from typing import Final

__all__ = ["add_holder_column", "holder", "is_gone", "take_over"]

_log = logging.getLogger("evaltrace")

_SEP: Final = "|"


@cache
def _boot() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc``), '' where there is no
    ``/proc``; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return _alive_without_proc(pid)
    return stat.rsplit(")", 1)[1].split()[19]


def _alive_without_proc(pid: int) -> str | None:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


@cache
def _host() -> str:
    """The host name and the pid namespace: containers of one host may share a name (and a
    boot) while their pids are not each other's."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{socket.gethostname()}@{namespace}"


@cache
def _holder_of(pid: int) -> str:
    return _SEP.join((_host(), _boot(), str(pid), _started(pid) or ""))


def holder() -> str:
    """This process's lease identity (after a fork, the child's own)."""
    return _holder_of(os.getpid())


def is_gone(lease_holder: str) -> bool:
    """Whether the process that holds a lease is known to be gone (never for another host,
    or for a holder this evaltrace cannot read)."""
    parts = lease_holder.split(_SEP)
    if len(parts) != 4 or not parts[2].isdigit():
        return False
    host, boot, pid, started = parts
    if host != _host():
        return False
    if boot and _boot() and boot != _boot():
        return True
    now = _started(int(pid))
    return now is None or (bool(started) and bool(now) and now != started)


def add_holder_column(conn: sqlite3.Connection) -> None:
    """A store made before leases named their holder gets the column (older evaltrace
    versions name their columns and leave it '': their leases run out as before)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    if "holder" not in columns:
        with contextlib.suppress(sqlite3.OperationalError):  # another writer was first
            conn.execute("ALTER TABLE outbox ADD COLUMN holder TEXT NOT NULL DEFAULT ''")


def take_over(conn: sqlite3.Connection, now: int) -> None:
    """Make the entries leased by processes that are gone due now (in the caller's
    transaction)."""
    leased = conn.execute(
        "SELECT DISTINCT holder FROM outbox WHERE not_before_ns > ? AND holder NOT IN ('', ?)",
        (now, holder()),
    ).fetchall()
    for (gone,) in leased:
        if is_gone(gone):
            taken = conn.execute(
                "UPDATE outbox SET not_before_ns = ?, holder = '' "
                "WHERE holder = ? AND not_before_ns > ?",
                (now, gone, now),
            ).rowcount
            _log.info(
                "evaltrace: took over %d outbox entries leased by %s, a process that is gone",
                taken,
                gone,
            )
