"""Leaving cleanly: at interpreter exit and on SIGTERM, trackers flush within a bounded time.

Nothing committed can be lost at exit (the store is the commit point); what this adds is one
last try to deliver what the collector has not acknowledged yet. SIGTERM is never swallowed:
after the flush the application's own handler runs, or, if there was none, the signal is
delivered again with the default action, so the process still ends as SIGTERM says. A handler
is installed only from the main thread and never over ``SIG_IGN``.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import time
import weakref
from types import FrameType
from typing import Any, Protocol

__all__ = ["register"]

_log = logging.getLogger("evaltrace")


class _Closable(Protocol):
    def close_for_exit(self, deadline: float) -> None: ...

    def flush_for_signal(self, deadline: float) -> None: ...


_TRACKERS: weakref.WeakSet[Any] = weakref.WeakSet()
_LOCK = threading.Lock()
_INSTALLED = False
_PREVIOUS: Any = signal.SIG_DFL


def _flush_all(timeout: float, signalled: bool) -> None:
    deadline = time.monotonic() + timeout
    for tracker in list(_TRACKERS):
        try:
            if signalled:
                tracker.flush_for_signal(deadline)
            else:
                tracker.close_for_exit(deadline)
        except Exception:  # exiting: say it, never raise
            _log.exception("evaltrace: flushing a tracker at exit failed")


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # The handler runs on the main thread between two bytecodes, maybe inside a commit that
    # holds the store's lock: it only waits (bounded) for the forwarder, never takes a lock
    # the interrupted code may hold. Committed results need nothing: they are in the store.
    timeouts = [getattr(t, "exit_timeout", 5.0) for t in list(_TRACKERS)]
    _flush_all(max(timeouts, default=0.0), signalled=True)
    previous = _PREVIOUS
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def _at_exit() -> None:
    timeouts = [getattr(t, "exit_timeout", 5.0) for t in list(_TRACKERS)]
    _flush_all(max(timeouts, default=0.0), signalled=False)


def register(tracker: _Closable) -> None:
    """Flush ``tracker`` at exit and on SIGTERM (the hooks are installed once)."""
    global _INSTALLED, _PREVIOUS
    with _LOCK:
        _TRACKERS.add(tracker)
        if _INSTALLED:
            return
        _INSTALLED = True
        atexit.register(_at_exit)
        if threading.current_thread() is not threading.main_thread():
            return
        try:
            current = signal.getsignal(signal.SIGTERM)
        except (ValueError, OSError):
            return
        if current is signal.SIG_IGN or current is None:
            return
        _PREVIOUS = current
        signal.signal(signal.SIGTERM, _on_sigterm)


def unregister(tracker: _Closable) -> None:
    """A closed tracker needs no exit flush."""
    with _LOCK:
        _TRACKERS.discard(tracker)
