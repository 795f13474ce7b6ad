"""WAL checkpoints on a thread of their own, so that a log call never waits for one.

SQLite's automatic checkpoint runs inside the COMMIT that crosses ``wal_autocheckpoint``
frames: that commit copies the WAL into the database and fsyncs both. Measured on this
machine for 3,000 ``log()``-sized commits: 138 us of wall time per commit with it, 53 us
without (the CPU time barely moves: it is the fsync the caller waits on). SQLite's advice for
that is this module: turn the automatic checkpoint down to a backstop and checkpoint from
another thread.

Durability is unchanged: a commit is in the WAL when ``commit`` returns (a killed process
loses nothing; with ``synchronous=NORMAL`` an OS crash may lose the last commits, as before),
and a checkpoint only moves committed pages into the database file.

The WAL stays bounded. The writer wakes this thread every ``WAKE_PAGES`` pages it estimates it
committed (from the bytes of its results: a wake-up every 16 commits cost a log() call ~2 % in
thread switches, measured with py-spy); it checkpoints
(PASSIVE: it never blocks the writer or readers) once ``FRAMES`` frames were written since its
last checkpoint. While the writer keeps committing, such a checkpoint never catches up with
the last frame, so SQLite cannot restart the WAL from its beginning; the automatic checkpoint
at ``BACKSTOP`` frames does, inside one commit, cheaply: all but the last few frames are copied
already. Should the thread not run (a forked child has no threads), the backstop does all the
work, as SQLite would by default.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from typing import Final

__all__ = ["BACKSTOP", "FRAMES", "WAKE_PAGES", "Checkpointer"]

_log = logging.getLogger("evaltrace")

WAKE_PAGES: Final = 250
"""Pages committed (as the writer estimates them) between two wake-ups of the checkpointer,
which then looks at the WAL's size: a quarter of ``FRAMES``."""
FRAMES: Final = 1000
"""New frames that make the thread checkpoint: SQLite's default ``wal_autocheckpoint``."""
BACKSTOP: Final = 10_000
"""``wal_autocheckpoint`` of the writer's connection: ~40 MB of WAL at 4 kB pages."""
_FRAME_BYTES: Final = 4096 + 24
"""A WAL frame: a page and its header (the store keeps SQLite's default page size)."""


class Checkpointer:
    """A daemon thread with its own connection that checkpoints when enough was written."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._wal = path + "-wal"
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="evaltrace-checkpoint", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the WAL now (the writer calls this every ``WAKE_PAGES`` pages)."""
        self._wake.set()

    def _frames(self) -> int:
        """Frames in the WAL (its size: it is cut back to nothing when SQLite restarts it)."""
        try:
            return os.stat(self._wal).st_size // _FRAME_BYTES
        except OSError:
            return 0

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self._path, check_same_thread=False, timeout=0.1)
        except sqlite3.Error as exc:  # the backstop still bounds the WAL
            _log.warning("evaltrace: no checkpoint thread for %s: %s", self._path, exc)
            return
        done = 0  # frames of the WAL already checkpointed by this thread
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    return
                frames = self._frames()
                if frames < done:  # SQLite restarted the WAL
                    done = 0
                if frames - done < FRAMES:
                    continue
                try:
                    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    done = row[2] if row and row[2] >= 0 else frames
                except sqlite3.Error as exc:  # busy or locked: the next wake-up retries
                    _log.debug("evaltrace: checkpoint of %s deferred: %s", self._path, exc)
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def close(self) -> None:
        """Stop the thread (the writer's own close checkpoints what is left)."""
        self._stop = True
        self._wake.set()
        self._thread.join(timeout=10)
