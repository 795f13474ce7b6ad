"""Sample and dataset fingerprints: what a run was run *on*, so compare can tell two dataset
versions apart.

A sample's fingerprint hashes what the dataset gives it, never what the system under test
produced: the fields an id-less row pairs by (``_samples.INPUT_KEYS``: question, expected
answer, reference context, ...) plus the expected-output fields the framework integrations
keep (Inspect's ``target``, ragas's ``user_input`` and ``reference_contexts``, promptfoo's
``vars``); a row with none of them, every field but the generated ones (``OUTPUT_KEYS``), as
its sample key does. sha256 over canonical JSON (sorted keys, UTF-8, Python's shortest float
repr), so key order and a float's spelling never change it, and a row read back from any
backend hashes as it did when it was logged. A run's dataset fingerprint hashes its samples'
distinct fingerprints, sorted (repeated trials of a sample count once).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Final

import orjson

from ._samples import INPUT_KEYS, OUTPUT_KEYS

__all__ = [
    "FINGERPRINT_KEYS",
    "SampleFingerprints",
    "dataset_fingerprint",
    "fingerprints_by_sample",
    "merge_provenance",
    "sample_fingerprint",
]

FINGERPRINT_KEYS: Final = frozenset(
    {*INPUT_KEYS, "target", "user_input", "reference_contexts", "vars"}
)
"""The fields of a row that make its fingerprint when it has any of them."""

_FAST_TYPES: Final = frozenset({str, int, bool})
_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)


def sample_fingerprint(data: Any) -> str | None:
    """sha256 (hex) of the row's inputs and expected outputs, or None for a row that is not a
    mapping or holds nothing but generated fields."""
    if not isinstance(data, Mapping):
        return None
    given = {k: data[k] for k in FINGERPRINT_KEYS.intersection(data) if data[k] is not None}
    if not given:
        given = {str(k): v for k, v in data.items() if k not in OUTPUT_KEYS and v is not None}
        if not given:
            return None
    if all(type(v) in _FAST_TYPES for v in given.values()):
        # The usual row (texts and ids): orjson spells these as the encoder below does (as
        # ``_samples.sample_key`` relies on), at a fraction of the cost; anything else (a lone
        # surrogate, an int past 64 bits) falls through to the encoder.
        try:
            return hashlib.sha256(orjson.dumps(given, option=orjson.OPT_SORT_KEYS)).hexdigest()
        except orjson.JSONEncodeError:
            pass
    text = _ENCODER.encode(given)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


SampleFingerprints = dict[str, set[str | None]]
"""Each sample id's fingerprints, one per distinct row it was logged with (None: unknown)."""


def fingerprints_by_sample(pairs: Iterable[tuple[Any, str | None]]) -> SampleFingerprints:
    """``(sample id, fingerprint)`` pairs gathered by sample."""
    out: SampleFingerprints = {}
    for sample_id, fingerprint in pairs:
        out.setdefault(str(sample_id), set()).add(fingerprint)
    return out


def dataset_fingerprint(fingerprints: Iterable[str | None]) -> str | None:
    """sha256 (hex) of the distinct sample fingerprints, sorted; None when none is known."""
    known = sorted({f for f in fingerprints if f})
    if not known:
        return None
    return hashlib.sha256("\n".join(known).encode("ascii")).hexdigest()


def merge_provenance(texts: Iterable[Any]) -> dict[str, Any] | None:
    """A run's provenance from its calls' ``eval.provenance`` JSON texts: their evaluators
    merged (a later call's version of one name wins), the last code version; None when no
    call said any. A text that is not a JSON object is skipped, never fatal to a read."""
    merged: dict[str, Any] = {}
    evaluators: dict[str, str] = {}
    for text in texts:
        if not isinstance(text, str):
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        said = doc.get("evaluators")
        if isinstance(said, dict):
            evaluators.update({str(k): str(v) for k, v in said.items()})
        merged.update({k: v for k, v in doc.items() if k != "evaluators"})
    if evaluators:
        merged["evaluators"] = evaluators
    return merged or None
