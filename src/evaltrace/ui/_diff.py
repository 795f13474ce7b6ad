"""A word-level diff of two answers, as two escaped HTML halves (A's deletions, B's insertions).

``difflib.SequenceMatcher`` over word, punctuation and whitespace tokens: joining the tokens
gives the text back exactly, so nothing of either answer is lost in the marked-up copy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Final

from markupsafe import Markup, escape

__all__ = ["apply_ops", "diff_ops", "tokens", "word_diff"]

_TOKEN: Final = re.compile(r"\w+|[^\w\s]+|\s+")

Op = tuple[str, int, int, int, int]


def tokens(text: str) -> list[str]:
    """Words, runs of punctuation and runs of whitespace; ``"".join(tokens(t)) == t``."""
    return _TOKEN.findall(text)


def diff_ops(a: list[str], b: list[str]) -> list[Op]:
    """``SequenceMatcher`` opcodes turning ``a`` into ``b`` (no autojunk: a common word in a
    long answer is still a word)."""
    return list(SequenceMatcher(None, a, b, autojunk=False).get_opcodes())


def apply_ops(a: list[str], b: list[str], ops: Sequence[Op]) -> list[str]:
    """``a`` edited by ``ops`` (what the diff claims); ``b`` supplies inserted tokens."""
    out: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        out.extend(a[i1:i2] if tag == "equal" else b[j1:j2])
    return out


def word_diff(a: str, b: str) -> tuple[Markup, Markup]:
    """A's text with what B dropped in ``<del>``, B's with what it added in ``<ins>``; every
    token escaped before it is marked (the only markup is the diff's own)."""
    ta, tb = tokens(a), tokens(b)
    left: list[str] = []
    right: list[str] = []
    for tag, i1, i2, j1, j2 in diff_ops(ta, tb):
        old, new = escape("".join(ta[i1:i2])), escape("".join(tb[j1:j2]))
        if tag == "equal":
            left.append(old)
            right.append(new)
            continue
        if old:
            left.append(f"<del>{old}</del>")
        if new:
            right.append(f"<ins>{new}</ins>")
    return Markup("".join(left)), Markup("".join(right))
