"""Files the CLI writes for the user (exports, reports): private and whole, or not at all.

They hold prompts, answers and scores, as the store does, so they are created 0600 like it
(``click.open_file`` creates them 0644 under the usual umask); written to a temporary file in
the same folder and renamed over the target, so a failure never leaves half a file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import TextIO

__all__ = ["private_output"]


@contextlib.contextmanager
def private_output(path: str) -> Iterator[TextIO]:
    """A text stream whose content becomes ``path`` (mode 0600) when the block ends without
    an exception; ``OSError`` (no such folder, not writable, disk full) propagates."""
    target = os.path.abspath(os.path.expanduser(path))
    fd, temporary = tempfile.mkstemp(  # 0600, whatever the umask
        prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=os.path.dirname(target)
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            yield out
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
