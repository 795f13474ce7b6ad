"""A store that can be read but not written (a read-only file, folder or medium): a tracker on
it still reads history; its first write fails, naming the path and the cause."""

from __future__ import annotations

import os

from .._exceptions import EvalTraceError, StoreWriteError
from ._ddl import connect_reader

__all__ = ["read_only_store"]


def _cause(path: str) -> str:
    """Why ``path`` cannot be written, in the system's words where it has some."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError as exc:
        return f"the file: {exc.strerror}"
    os.close(fd)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK):
        return f"its folder {folder} is not writable (SQLite makes its -wal and -shm files there)"
    return ""


def read_only_store(path: str, refused: StoreWriteError) -> StoreWriteError:
    """The error a first write raises on a store that opens for reading only; ``refused``
    itself is raised when the store cannot even be read."""
    try:
        conn, _ = connect_reader(path)
    except EvalTraceError:
        raise refused from None
    conn.close()
    cause = _cause(path) or str(refused.__cause__ or refused)
    return StoreWriteError(
        f"the store {path} is read-only ({cause}): this tracker reads its history but cannot "
        "log to it; pass store= a writable path to log"
    )
