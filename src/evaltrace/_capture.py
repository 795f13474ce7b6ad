"""What of a result's text may leave the process: content capture and the ``redact`` hook.

``all`` keeps everything everywhere. ``local`` keeps everything in the local store but sends
no text over OTLP. ``none`` keeps no text anywhere. Where text is not kept, every string of the
data row (except its id fields) and every string leaf of the evaluation result (explanations,
reasons; ``label`` values excepted, which are low-cardinality scores) becomes
``"<sha256:16 hex> len=N"``: equal texts still compare equal, lengths still tell, nothing
readable remains. Scores, booleans, identifiers and metric names always travel. The call's
``metadata`` and ``log_context`` values are masked like a data row (their id keys kept).

The mode belongs to the committed record: a store keeps each call's mode beside it, and every
span built again from the store (an outbox re-send, ``evaltrace sync``, a run summary) is masked
by that mode, whatever the re-sending tracker's own is (``outgoing``). Calls stored before the
mode was kept (store layout < 5) are re-sent as ``local``: their mode is unknown, and masking
what may have been meant to stay is the safe side. Masking is idempotent (a digest stays itself),
so text a ``none`` call stored already masked is sent unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from hashlib import sha256
from typing import Any, Final, Literal

from ._codec import dumps, loads
from .schema import SAMPLE_ID_KEYS

__all__ = [
    "ALL",
    "LEGACY",
    "LOCAL",
    "MODES",
    "NONE",
    "CaptureMode",
    "Redact",
    "mask_data",
    "mask_json",
    "mask_result",
    "outgoing",
    "stored",
]

CaptureMode = Literal["all", "local", "none"]
ALL: Final = "all"
LOCAL: Final = "local"
NONE: Final = "none"
MODES: Final = (ALL, LOCAL, NONE)
LEGACY: Final = LOCAL
"""The mode a stored call without one (store layout < 5) is re-sent under."""

Redact = Callable[[str, Any], Any]
"""``redact(field, value) -> value``, applied to ``evaluation_result``, ``data`` and
``metadata`` before anything is stored or sent."""

_KEPT_RESULT_KEYS = frozenset({"label"})
_DIGEST = re.compile(r"<sha256:[0-9a-f]{16} len=[0-9]+>")


def _digest(text: str) -> str:
    if _DIGEST.fullmatch(text):  # already masked (a ``none`` call's stored text re-sent)
        return text
    return (
        f"<sha256:{sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:16]} len={len(text)}>"
    )


def _mask(value: Any, kept: frozenset[str]) -> Any:
    if isinstance(value, str):
        return _digest(value)
    if isinstance(value, dict):
        return {
            k: v if k in kept and not isinstance(v, dict | list) else _mask(v, kept)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v, kept) for v in value]
    return value


def mask_result(value: Any) -> Any:
    """An evaluation result with its text replaced by digests (labels kept)."""
    return _mask(value, _KEPT_RESULT_KEYS)


def mask_data(value: Any) -> Any:
    """A data row with its text replaced by digests (the id fields kept, so runs still pair)."""
    return _mask(value, frozenset(SAMPLE_ID_KEYS))


def mask_json(text: str) -> str:
    """A call's metadata or context JSON with its text masked as a data row's is."""
    return dumps(mask_data(loads(text)), "metadata", None)


def stored(mode: str, text: str) -> str:
    """What the store keeps of a call's metadata or context JSON under ``mode``."""
    return mask_json(text) if mode == NONE else text


def outgoing(mode: str | None, text: str) -> str:
    """What may leave the process of a stored call's metadata or context JSON (``mode``: the
    call's, None for a call stored before modes were kept)."""
    return text if mode == ALL else mask_json(text)
