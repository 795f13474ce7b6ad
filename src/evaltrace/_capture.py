"""What of a result's text may leave the process: content capture and the ``redact`` hook.

``all`` keeps everything everywhere. ``local`` keeps everything in the local store but sends
no text over OTLP. ``none`` keeps no text anywhere. Where text is not kept, every string of the
data row (except its id fields) and every string leaf of the evaluation result (explanations,
reasons; ``label`` values excepted, which are low-cardinality scores) becomes
``"<sha256:16 hex> len=N"``: equal texts still compare equal, lengths still tell, nothing
readable remains. Scores, booleans, identifiers and metric names always travel.
"""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256
from typing import Any, Final, Literal

from .schema import SAMPLE_ID_KEYS

__all__ = ["ALL", "LOCAL", "MODES", "NONE", "CaptureMode", "Redact", "mask_data", "mask_result"]

CaptureMode = Literal["all", "local", "none"]
ALL: Final = "all"
LOCAL: Final = "local"
NONE: Final = "none"
MODES: Final = (ALL, LOCAL, NONE)

Redact = Callable[[str, Any], Any]
"""``redact(field, value) -> value``, applied to ``evaluation_result``, ``data`` and
``metadata`` before anything is stored or sent."""

_KEPT_RESULT_KEYS = frozenset({"label"})


def _digest(text: str) -> str:
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
