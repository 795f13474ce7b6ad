"""The SQLite layout of the embedded store, and the two ways to open it (writer, reader).

One row per result (``results``: ids, timestamps, the result and data JSON exactly as logged),
one per log call (``calls``: what its results share: run, metadata, context, link, resource),
one per batch trace root (``batch_roots``), one per run (``runs``), each result's
scores beside it (``results.scores``), folded every few hundred commits and at close into one
``run_metrics`` row per run (history then reads that row and the few results committed since
``folded_upto``: it costs runs, not results), the runs whose run-summary spans are forwarded
(``run_summaries``: up to which result row a delivered summary covers),
the OTLP outbox (``outbox``: traces committed but not yet acknowledged by the collector), and
where each run's stretches of results begin (``run_segments``, see ``_segments``).
Results are ordered by their rowid: the order their calls committed in.

A writer creates the file (0600, its folder 0700) and the tables; a reader never writes a byte:
it opens read-only (``immutable`` on a read-only medium) and refuses a file that is not an
evaltrace store instead of adding tables to it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Final
from urllib.parse import quote

import tenacity

from .._exceptions import ConfigurationError, StoreFormatError, StoreWriteError
from ._checkpoint import BACKSTOP
from ._wal import private_copy, unapplied_wal

__all__ = [
    "FORMAT",
    "READS",
    "UPGRADE_FROM_2",
    "UPGRADE_FROM_3",
    "UPGRADE_FROM_4",
    "UPGRADE_FROM_5",
    "VERSION",
    "atomic",
    "connect_reader",
    "connect_writer",
]

FORMAT: Final = "evaltrace-store"
VERSION: Final = 6
"""Bumped when the layout changes. A reader reads this version and those in ``READS`` (never
writing a byte); a writer upgrades an older one (``StoreWriter``); any other is refused."""
READS: Final = frozenset({2, 3, 4, 5, 6})

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS evaltrace_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO evaltrace_meta VALUES ('format', '{FORMAT}'), ('version', '{VERSION}');
CREATE TABLE IF NOT EXISTS resources (
    id INTEGER PRIMARY KEY,
    attributes TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    project_name TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    metadata TEXT NOT NULL,
    context TEXT NOT NULL,
    link_trace_id TEXT,
    link_span_id TEXT,
    batch_id TEXT,
    batch_size INTEGER,
    resource_id INTEGER NOT NULL,
    capture TEXT,
    provenance TEXT
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY,
    call_id INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    parent_span_id BLOB,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    row INTEGER,
    sample_id TEXT NOT NULL,
    result TEXT NOT NULL,
    data TEXT NOT NULL,
    link_trace_id TEXT,
    link_span_id TEXT,
    scores TEXT NOT NULL DEFAULT '[]',
    fingerprint TEXT
);
CREATE INDEX IF NOT EXISTS results_by_link ON results (link_trace_id, link_span_id)
    WHERE link_trace_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS run_segments (
    start_id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_segments_by_run ON run_segments (run_id, start_id);
CREATE TABLE IF NOT EXISTS batch_roots (
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    call_id INTEGER NOT NULL,
    chunk_start INTEGER NOT NULL,
    chunk_size INTEGER NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    PRIMARY KEY (trace_id, span_id)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    project_name TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    started_ns INTEGER NOT NULL,
    ended_ns INTEGER NOT NULL,
    num_results INTEGER NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (project_name, started_ns);
CREATE TABLE IF NOT EXISTS run_metrics (
    run_id TEXT PRIMARY KEY,
    aggregates TEXT NOT NULL,
    folded_upto INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS run_summaries (
    run_id TEXT PRIMARY KEY,
    sent_upto INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    trace_id BLOB NOT NULL,
    call_id INTEGER NOT NULL,
    spans INTEGER NOT NULL,
    enqueued_ns INTEGER NOT NULL,
    not_before_ns INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_result INTEGER NOT NULL DEFAULT 0,
    last_result INTEGER NOT NULL DEFAULT -1,
    destination TEXT NOT NULL DEFAULT '',
    holder TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_by_trace ON outbox (trace_id);
CREATE INDEX IF NOT EXISTS outbox_by_due ON outbox (not_before_ns);
"""


_SEGMENTS_FROM_RESULTS: Final = """
INSERT OR REPLACE INTO run_segments (start_id, run_id)
SELECT id, run_id FROM (SELECT id, run_id, lag(run_id) OVER (ORDER BY id) AS previous
    FROM results) WHERE previous IS NULL OR previous != run_id
"""
"""A segment for every first result of a run of consecutive rowids of one run."""

UPGRADE_FROM_2: Final = (
    "ALTER TABLE outbox ADD COLUMN first_result INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE outbox ADD COLUMN last_result INTEGER NOT NULL DEFAULT -1",
    "UPDATE outbox SET first_result = (SELECT min(id) FROM results r WHERE r.trace_id = "
    "outbox.trace_id), last_result = (SELECT max(id) FROM results r WHERE r.trace_id = "
    "outbox.trace_id) WHERE EXISTS (SELECT 1 FROM results r WHERE r.trace_id = outbox.trace_id)",
    "DROP INDEX IF EXISTS results_by_span",
)
"""Version 2 -> 3 (then ``UPGRADE_FROM_3``), in the writer's transaction, which then folds every
run (``StoreWriter``).
v3 writes two B-tree pages fewer per log call (one 4 kB WAL frame each, measured 4.3 -> 3.2
frames a ``log()`` commit for the index alone): a run's counts are kept as of its last folding
(readers add the results committed since) instead of being rewritten at every commit, and an
outbox entry names its results' rowid range instead of finding them through a
``(trace_id, span_id)`` index. A span id is still never overwritten (rows are only ever
inserted); one stored twice (a re-exported span) is read once."""

UPGRADE_FROM_3: Final = (
    _SEGMENTS_FROM_RESULTS,
    "DROP INDEX IF EXISTS results_by_run",
    "ALTER TABLE outbox ADD COLUMN destination TEXT NOT NULL DEFAULT ''",
)
"""Version 3 -> 4 (after ``UPGRADE_FROM_2`` for a version 2 store): a run's results are found
through ``run_segments`` instead of a ``(run_id, id)`` index, one 4 kB WAL frame fewer per log
call (3.2 -> 2.0 frames a ``log()`` commit, measured: the index's leaf page was rewritten at
every commit; a segment row only when the store's last result changes run).
Rows ``start_id <= id < `` the next segment's ``start_id`` belong to the segment's run (readers
still check each row's ``run_id``). Outbox entries name their collector (``destination``, a
hash of protocol and endpoint; '' for entries of earlier versions, which any tracker sends):
trackers of one store that forward to different collectors no longer send each other's."""

UPGRADE_FROM_4: Final = ("ALTER TABLE calls ADD COLUMN capture TEXT",)
"""Version 4 -> 5 (after the earlier upgrades): each call keeps the content capture mode it was
logged under (``calls.capture``), so that a re-send from the outbox, ``evaltrace sync`` or a
run summary masks its text by that mode, not by the re-sending tracker's. Calls of earlier
versions have none (NULL) and are re-sent as ``local`` (``_capture.LEGACY``)."""

UPGRADE_FROM_5: Final = (
    "ALTER TABLE results ADD COLUMN fingerprint TEXT",
    "ALTER TABLE calls ADD COLUMN provenance TEXT",
    f"UPDATE evaltrace_meta SET value = '{VERSION}' WHERE key = 'version'",
)
"""Version 5 -> 6 (after the earlier upgrades): each result keeps its sample's fingerprint
(``schema._fingerprint``: a hash of its inputs and expected outputs) and each call its run's
provenance (evaluator versions, code version, as JSON). Rows of earlier versions have NULL:
unknown, which compare says as unknown, never as a difference."""


def store_version(conn: sqlite3.Connection, path: str) -> int:
    """The version of an evaltrace store this evaltrace reads, 0 for an empty database; raises
    for anything else (another application's database, an unknown store version)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        return 0
    if "evaltrace_meta" not in tables:
        hint = (
            " (a pre-release evaltrace store: delete it and log again)" if "spans" in tables else ""
        )
        raise StoreFormatError(f"{path} is not an evaltrace store{hint}; it was left untouched")
    meta = dict(conn.execute("SELECT key, value FROM evaltrace_meta").fetchall())
    version = meta.get("version")
    if meta.get("format") != FORMAT or version not in {str(v) for v in READS}:
        raise StoreFormatError(
            f"{path}: store format {meta.get('format')!r} version {version!r}; this "
            f"evaltrace reads versions {sorted(READS)}. It was left untouched."
        )
    return int(version)


def _create_private(path: Path) -> None:
    """The store's folder (0700) and an empty file (0600): it holds prompts and answers."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


def connect_writer(path: str) -> tuple[sqlite3.Connection, int]:
    """Open (creating if needed) a store to write; WAL, so readers and writers overlap.
    Returns the connection and the store's version (the writer upgrades an older one).
    A store this call created and could not set up (a full disk) is removed again."""
    target = Path(path)
    created = path != ":memory:" and not target.exists()
    if created:
        _create_new(target)
    conn = None
    opened = False
    try:
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=60)
        version = store_version(conn, path) or VERSION  # an older one is upgraded
        opened = True
        _set_up(conn)
    except sqlite3.Error as exc:  # a read-only file, folder or medium; a full disk
        if conn is not None:
            conn.close()
        _forget(target, created)
        if not opened and not isinstance(exc, sqlite3.OperationalError):
            raise StoreFormatError(
                f"{path} is not an SQLite database ({exc}); left untouched"
            ) from exc
        raise StoreWriteError(
            f"cannot open the store {path} for writing ({exc}); to only read a read-only store, "
            "pass query=SQLiteQueryAdapter(path) without store="
        ) from exc
    return conn, version


def _create_new(target: Path) -> None:
    """Create a new store's file, or say clearly why it cannot be (never a raw ``OSError``)."""
    if target.is_symlink():
        raise StoreWriteError(
            f"the store path {target} is a symbolic link to {os.readlink(target)}, which does "
            "not exist; point it at a store, or pass another path"
        )
    try:
        _create_private(target)
    except OSError as exc:
        raise StoreWriteError(
            f"cannot create the store {target}: {exc.strerror or exc}"
            + (f" ({exc.filename})" if exc.filename and str(exc.filename) != str(target) else "")
        ) from exc


def _forget(target: Path, created: bool) -> None:
    """Remove the store file this writer created and could not set up (and its WAL files),
    only while it is still empty: a writer racing to create the same store may have filled it."""
    try:
        if not created or target.stat().st_size:
            return
    except OSError:
        return
    for leftover in (target, Path(f"{target}-wal"), Path(f"{target}-shm")):
        leftover.unlink(missing_ok=True)


def _set_up(conn: sqlite3.Connection) -> None:
    """The writer's pragmas and the layout (the first writes: where a read-only store fails)."""
    # WAL + synchronous=NORMAL: a committed transaction survives the process being killed
    # (SIGKILL, OOM); an OS crash or power loss may lose the last ones (see docs/reliability.md).
    _when_unlocked(conn, "PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    # Checkpoints run on the writer's own thread (``_checkpoint``); this is the backstop.
    conn.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP}")
    # A WAL restarted after a checkpoint is cut back to nothing, so that its size on disk is
    # what the checkpointer goes by (the frames written since).
    conn.execute("PRAGMA journal_size_limit=0")
    # Every table IF NOT EXISTS, also on a known store: cheap, and two writers creating one
    # store at the same moment both end with the whole layout.
    _when_unlocked(conn, "BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")


def _when_unlocked(conn: sqlite3.Connection, script: str) -> None:
    """Run a set-up script that needs the database unlocked: switching to WAL takes a lock
    the busy timeout does not wait for, so a second process opening the store at the same
    moment retries (bounded, 60 s) instead of failing."""
    for attempt in tenacity.Retrying(
        retry=tenacity.retry_if_exception_message(match=".*locked.*"),
        stop=tenacity.stop_after_delay(60),
        wait=tenacity.wait_random(0.01, 0.1),
        reraise=True,
    ):
        with attempt:
            try:
                conn.executescript(script)
            except sqlite3.OperationalError:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise


def _uri(path: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{quote(os.path.abspath(path))}?{query}"


def connect_reader(path: str) -> tuple[sqlite3.Connection, int]:
    """Open a store read-only; reading never writes a byte (no table, no pragma, no cache).
    Returns the connection and the store's version.

    On a read-only folder or medium SQLite cannot create the WAL index it wants, so the
    store is then opened ``immutable`` (nothing may be writing it there anyway), or, when a
    killed writer left transactions in its WAL, read from a private copy (``_wal``).
    """
    if not Path(path).is_file():
        raise ConfigurationError(f"no evaltrace store at {path}")
    conn: sqlite3.Connection | None = None
    for params in ({"mode": "ro"}, {"mode": "ro", "immutable": "1"}):
        try:
            if "immutable" in params and unapplied_wal(path):  # immutable would ignore it
                conn = private_copy(path)
            else:
                conn = sqlite3.connect(
                    _uri(path, **params), uri=True, check_same_thread=False, timeout=60
                )
            version = store_version(conn, path)
            if not version:
                raise StoreFormatError(f"{path} is an empty database, not an evaltrace store")
            return conn, version
        except sqlite3.OperationalError:
            if conn is not None:
                conn.close()
            conn = None
        except sqlite3.DatabaseError as exc:
            raise StoreFormatError(f"{path} is not an SQLite database ({exc})") from exc
    raise ConfigurationError(f"cannot open the evaltrace store at {path} for reading")


class atomic:
    """One transaction: everything inside commits together or not at all (a class, not a
    generator: this wraps every log call)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        conn = self._conn
        if conn.in_transaction:  # one an interruption (Ctrl-C) left open: nothing of it counts
            conn.execute("ROLLBACK")
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:  # Ctrl-C as the lock was granted: release it, keep nothing
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return conn

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        conn = self._conn
        if kind is None:
            try:
                conn.execute("COMMIT")
                return
            except BaseException:  # a failed (or interrupted) commit keeps nothing, no lock
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        if conn.in_transaction:
            conn.execute("ROLLBACK")
