"""Write side: what a run was run *with* (``eval.provenance``): the evaluators' names and
versions a caller or an integration says (``log(..., evaluators={name: version})``), and the
code version (the git commit of the working directory's repository, when it is one).

The commit is asked of ``git`` once per tracker, at its first log call, with a timeout: a
machine without git, or a directory outside a repository, just has no code version.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from typing import Any, Final

from ._codec import dumps
from ._exceptions import InvalidInputTypeError

__all__ = ["GIT_TIMEOUT_S", "Provenance", "code_version"]

GIT_TIMEOUT_S: Final = 2.0
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


def code_version() -> str | None:
    """``git rev-parse HEAD`` of the working directory, or None (no git, no repository, or
    no answer within ``GIT_TIMEOUT_S``)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and _SHA.fullmatch(sha) else None


def _checked(evaluators: Any) -> dict[str, str]:
    if not isinstance(evaluators, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in evaluators.items()
    ):
        raise InvalidInputTypeError(
            f"evaluators: expected a mapping of evaluator name to version string, got "
            f"{evaluators!r:.200}"
        )
    return dict(sorted(evaluators.items()))


class Provenance:
    """One tracker's provenance: the code version, found once; the JSON per evaluators said."""

    def __init__(self) -> None:
        self._code: str | None = None
        self._asked = False
        self._last: tuple[dict[str, str], str | None] | None = None

    def json(self, evaluators: Any) -> str | None:
        """The provenance JSON of a call (None when nothing is known); raises
        ``InvalidInputTypeError`` for evaluators that are not names -> version strings."""
        said = _checked(evaluators) if evaluators is not None else {}
        last = self._last
        if last is not None and last[0] == said:
            return last[1]
        if not self._asked:
            self._code, self._asked = code_version(), True
        doc: dict[str, Any] = {}
        if said:
            doc["evaluators"] = said
        if self._code:
            doc["code_version"] = self._code
        text = dumps(doc, "provenance", None) if doc else None
        self._last = (said, text)
        return text
