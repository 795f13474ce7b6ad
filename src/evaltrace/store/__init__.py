"""The embedded SQLite store: the commit point of every log call, its outbox, its reader.

Internal to evaltrace (the public face is ``evaltrace``; ``SQLiteQueryAdapter`` reads a store).
Nothing outside this package knows the SQLite layout (``_ddl``); the writer (``_writer``)
commits calls, the outbox (``_outbox``) is what the forwarder leases and acknowledges, the
reader (``_reader``) never writes. No OpenTelemetry here: spans are ``delivery/``'s.
"""

from ._outbox import Outbox
from ._reader import RunRow, StoreReader
from ._readonly import read_only_store
from ._records import BatchRoot, CallRecord, ResultRow, ReviewRow, StoredTrace
from ._reviews import ReviewTarget
from ._reviews import record as review_record
from ._writer import StoreWriter

__all__ = [
    "BatchRoot",
    "CallRecord",
    "Outbox",
    "ResultRow",
    "ReviewRow",
    "ReviewTarget",
    "RunRow",
    "StoreReader",
    "StoreWriter",
    "StoredTrace",
    "read_only_store",
    "review_record",
]
