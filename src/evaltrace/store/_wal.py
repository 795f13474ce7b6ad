"""Readers and the WAL: read every committed transaction, and leave no file behind.

A store whose writer was killed keeps its last transactions in ``-wal``. Where a reader cannot
make the ``-shm`` index SQLite needs to read them (a read-only folder or medium, without the
``-shm`` a copy or a bind mount left behind), opening it ``immutable`` would silently ignore
them; the reader instead reads a private copy with the WAL applied (``private_copy``).
A read-only connection cannot remove the ``-wal``/``-shm`` files it made: ``release`` lets
SQLite do it the way it does for a writer (only as the last connection, with nothing to copy).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path
from urllib.parse import quote

from .._exceptions import ConfigurationError

__all__ = ["SIDE_FILES", "has_side_files", "private_copy", "release", "unapplied_wal"]

_log = logging.getLogger("evaltrace")

SIDE_FILES = ("-wal", "-shm")


def has_side_files(path: str) -> bool:
    """Whether a ``-wal`` or ``-shm`` file is next to the store."""
    return any(os.path.exists(path + side) for side in SIDE_FILES)


def unapplied_wal(path: str) -> bool:
    """A ``-wal`` holding frames is next to the store."""
    try:
        return os.path.getsize(path + "-wal") > 0
    except OSError:
        return False


def private_copy(path: str) -> sqlite3.Connection:
    """A read-only connection to a copy of the store with its WAL applied; the copy is
    unlinked once open (the connection keeps it), so nothing is left behind."""
    try:
        return _copy(path)
    except (OSError, sqlite3.Error) as exc:  # never read it partially instead
        raise ConfigurationError(
            f"cannot read the evaltrace store at {path}: its -wal holds transactions that "
            f"need a -shm index this folder cannot hold, and a private copy failed ({exc})"
        ) from exc


def _copy(path: str) -> sqlite3.Connection:
    folder = tempfile.mkdtemp(prefix="evaltrace-read-")
    try:
        copy = os.path.join(folder, "store.db")
        shutil.copyfile(path, copy)
        shutil.copyfile(path + "-wal", copy + "-wal")
        with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        uri = f"file:{quote(copy)}?mode=ro&immutable=1"
        out = sqlite3.connect(uri, uri=True, check_same_thread=False)
        out.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opened before unlinking
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _log.info(
        "evaltrace: %s has a WAL its reader cannot index here (no -shm, read-only folder): "
        "read from a private copy with the WAL applied",
        path,
    )
    return out


def release(path: str) -> None:
    """Remove the empty ``-wal``/``-shm`` files a reader made: a connection that may write
    reads once and closes; SQLite deletes them only if it is the last connection and the WAL
    holds nothing (then no byte of the store is written)."""
    if unapplied_wal(path) or not Path(path).is_file():
        return
    uri = f"file:{quote(os.path.abspath(path))}?mode=rw"
    with contextlib.suppress(sqlite3.Error, OSError):
        conn = sqlite3.connect(uri, uri=True, timeout=0)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
