"""What identifies a sample that has no id of its own: its inputs, never what was generated.

gllm-evals' ``LLMTestCase`` has no ``id`` field, so its sample id used to be a hash of the
whole row, generated answer included: two runs of the same dataset then paired only the rows
whose answers happened to be identical (5 of 20 in one measured comparison). The key here is
built from the fields a dataset gives (question, reference answer, reference context, ...),
so a row pairs with the same question in another run whatever the pipeline answered or
retrieved. The rule is written out in docs/schema.md.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import orjson

__all__ = [
    "ANSWER_KEYS",
    "CONTEXT_KEYS",
    "EXPECTED_KEYS",
    "INPUT_KEYS",
    "OUTPUT_KEYS",
    "QUESTION_KEYS",
    "sample_key",
]

QUESTION_KEYS: Final = ("input", "query", "question", "prompt", "instruction", "messages")
"""Fields that ask: a sample's question, in the order a page looks for one."""
EXPECTED_KEYS: Final = (
    "expected_output",
    "expected_answer",
    "reference",
    "reference_answer",
    "ground_truth",
)
"""Fields that hold the expected answer."""
INPUT_KEYS: Final = (
    *QUESTION_KEYS,
    *EXPECTED_KEYS,
    "expected_context",
    "reference_context",
    "context",
    "expected_tools",
    "expected_agent_trajectory",
    "ground_truth_chunk_ids",
    "is_refusal",
)
"""Fields a dataset supplies: when a row has any of them, they alone make its key."""

ANSWER_KEYS: Final = (
    "actual_output",
    "answer",
    "response",
    "output",
    "generated_answer",
    "generated_output",
    "generated",
    "generation",
    "completion",
    "prediction",
)
"""Fields that hold the generated answer, in the order a page looks for one."""
CONTEXT_KEYS: Final = ("retrieved_contexts", "retrieved_context", "contexts", "retrieved_chunks")
"""Fields that hold the retrieved contexts."""
OUTPUT_KEYS: Final = frozenset(
    {
        *ANSWER_KEYS,
        *CONTEXT_KEYS,
        "tools_called",
        "agent_trajectory",
        "latency",
        "latency_ms",
        "cost",
        "token_usage",
        "attachments",
    }
)
"""Fields the pipeline under test produces (retrieval included: comparing two retrievers is
the point of many runs); left out of the key of a row that has no ``INPUT_KEYS``."""


def sample_key(data: Any) -> str | None:
    """The text a row without an id is identified by, or None when nothing but a hash of the
    whole row can tell it apart (not a mapping, or nothing in it that is not generated).

    The row's ``INPUT_KEYS`` that are set (not None), as canonical JSON; a row without any of
    them: every field but the ``OUTPUT_KEYS``.
    """
    if not isinstance(data, Mapping):
        return None
    # The keys are sorted in the output, so the set intersection (one C call) may find them in
    # any order: 0.6 us less than 18 lookups per logged row.
    inputs = {key: data[key] for key in _INPUT_SET.intersection(data) if data[key] is not None}
    if not inputs:
        inputs = {
            str(key): value
            for key, value in data.items()
            if key not in OUTPUT_KEYS and value is not None
        }
        if not inputs:
            return None
    if all(type(v) in _FAST_TYPES for v in inputs.values()):
        # The usual row (texts and ids): orjson spells these exactly as the encoder below
        # (a test proves it), at a fifth of the cost; a lone surrogate or an integer past 64
        # bits falls through to the encoder, which is what the stored keys were made with.
        try:
            return orjson.dumps(inputs, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:
            pass
    return _KEY_ENCODER.encode(inputs)


_FAST_TYPES: Final = frozenset({str, int, bool})


_INPUT_SET: Final = frozenset(INPUT_KEYS)
_KEY_ENCODER: Final = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)
"""``json.dumps`` with these options, built once: ``json.dumps`` builds an encoder per call."""
