"""Trace and span ids: unique across threads and forks (seeded ``random``: test_durability)."""

from __future__ import annotations

import os
import threading

from evaltrace._ids import OsRandomIdGenerator


def test_threads_never_get_the_same_id() -> None:
    """Eight threads drawing from the shared pool of random bytes get distinct ids."""
    ids = OsRandomIdGenerator()
    out: list[list[int]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def draw(mine: list[int]) -> None:
        barrier.wait()
        mine.extend(ids.generate_span_id() for _ in range(5000))

    threads = [threading.Thread(target=draw, args=(mine,)) for mine in out]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for mine in out for i in mine]
    assert len(set(every)) == len(every) == 40_000


def test_a_forked_child_never_reuses_the_parents_bytes() -> None:
    """Parent and child draw after a fork from what would be the same pool: distinct ids."""
    ids = OsRandomIdGenerator()
    ids.generate_span_id()  # the pool now holds unused bytes the child inherits
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its ids, exit at once
        try:
            os.write(write, ",".join(str(ids.generate_span_id()) for _ in range(100)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = {int(x) for x in pipe.read().split(",")}
    os.waitpid(pid, 0)
    parent = {ids.generate_span_id() for _ in range(100)}
    assert len(child) == 100 and not child & parent
