"""Sample ids of rows without an id: from their inputs, never from what was generated."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evaltrace.schema._encode import sample_id_of

from .gllm_shapes import llm_test_case


def sid(data: Any) -> str:
    """The sample id the encoder gives ``data``."""
    return sample_id_of(data, json.dumps(data))


def test_llm_test_case_pairs_across_different_answers() -> None:
    """An id-less LLMTestCase keeps its sample id when only the generated answer changes."""
    assert sid(llm_test_case(3, "Clause 3 says 21.")) == sid(llm_test_case(3, "I do not know."))


def test_retrieval_changes_keep_the_id() -> None:
    """A row pairs across runs of different retrievers: retrieved context is an output."""
    other = {**llm_test_case(3, "x"), "retrieved_context": ["chunk 9"]}
    assert sid(other) == sid(llm_test_case(3, "x"))


@pytest.mark.parametrize("field", ["input", "expected_output", "expected_context"])
def test_another_input_is_another_sample(field: str) -> None:
    """Rows that differ in an input field get different ids."""
    changed = {**llm_test_case(3, "x"), field: "something else"}
    assert sid(changed) != sid(llm_test_case(3, "x"))


def test_own_id_wins() -> None:
    """A row's id (SAMPLE_ID_KEYS) is its sample id, whatever its inputs."""
    assert sid({**llm_test_case(3, "x"), "id": "q3"}) == "q3"
    assert sid({"question_id": 7, "question": "q"}) == "7"


def test_rows_without_known_inputs_leave_out_known_outputs() -> None:
    """A custom row with none of the input keys is keyed by everything but its outputs."""
    a = {"q": "what is 2+2?", "answer": "4", "latency_ms": 812}
    b = {"q": "what is 2+2?", "answer": "four", "latency_ms": 95}
    assert sid(a) == sid(b) != sid({**a, "q": "what is 3+3?"})


def test_key_ignores_field_order_and_unset_inputs() -> None:
    """Field order and fields left None do not change the id."""
    a = {"input": "q", "expected_output": "a", "is_refusal": None}
    b = {"expected_output": "a", "input": "q"}
    assert sid(a) == sid(b)


@pytest.mark.parametrize("data", [["a", "list"], "text", {"answer": "only an output"}])
def test_nothing_to_key_falls_back_to_the_whole_row(data: Any) -> None:
    """Without inputs, the id is the 64-bit hash of the whole row's JSON, as before."""
    expected = hashlib.blake2b(json.dumps(data).encode(), digest_size=8).hexdigest()
    assert sid(data) == expected


_RELEASED_ENCODER = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)
"""How sample keys were spelled before the orjson fast path: stored ids must not move."""


@settings(max_examples=3_000, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["input", "expected_output", "question", "other", "ünï", "𝄞"]),
        st.one_of(
            st.text(st.characters(exclude_categories=())),
            st.integers(),
            st.booleans(),
            st.none(),
            st.floats(),
        ),
        max_size=5,
    )
)
@example({"input": "\ud800 lone", "question": "\x00\x1f\u2028"})
@example({"input": 2**70, "other": -(2**63) - 1})
@example({"other": 1e16, "ünï": True})
def test_sample_keys_are_spelled_as_released(data: dict[str, Any]) -> None:
    """Whatever the texts (control characters, astral and lone-surrogate code points) and
    numbers (past 64 bits), a row's key text is the one earlier releases hashed."""
    from evaltrace.schema._samples import INPUT_KEYS, OUTPUT_KEYS, sample_key

    inputs = {k: v for k, v in data.items() if k in INPUT_KEYS and v is not None} or {
        k: v for k, v in data.items() if k not in OUTPUT_KEYS and v is not None
    }
    assert sample_key(data) == (_RELEASED_ENCODER.encode(inputs) if inputs else None)
