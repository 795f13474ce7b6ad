"""The embedded SQLite store: the commit point of every log call, its OTLP outbox, its reader.

Nothing outside this package knows the SQLite layout (``_ddl``); the writer (``_writer``)
commits calls and runs the outbox, the reader (``_reader``) never writes.
"""

from ._ddl import FORMAT, VERSION
from ._outbox import LEASE_NS, Outbox
from ._reader import RunRow, StoreReader
from ._readonly import read_only_store
from ._records import BatchRoot, CallRecord, ResultRow, StoredTrace
from ._writer import StoreWriter

__all__ = [
    "FORMAT",
    "LEASE_NS",
    "VERSION",
    "BatchRoot",
    "CallRecord",
    "Outbox",
    "ResultRow",
    "RunRow",
    "StoreReader",
    "StoreWriter",
    "StoredTrace",
    "read_only_store",
]
