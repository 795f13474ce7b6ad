"""Hostile input, fuzzed: every example is stored exactly or refused naming field and row, and
whatever is stored reads back (library and CLI)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evaltrace
from evaltrace._validate import where
from evaltrace.cli import main
from tests.hostile import (
    Bad,
    Hostile,
    HostileInt,
    HostileKey,
    Level,
    Model,
    Record,
    SubStr,
    Verdict,
    expected,
    nest,
    same,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10000"))
"""10,000 (the issue's floor) unless ``FUZZ_EXAMPLES`` says otherwise, for a quick local run."""


def often(
    usual: st.SearchStrategy[Any], *rare: st.SearchStrategy[Any], odds: int = 3
) -> st.SearchStrategy[Any]:
    """``usual`` in ``odds`` branches for each of ``rare``'s: hypothesis picks branches by its
    own lights, not uniformly, but this keeps the hostile kinds from crowding out the rest."""
    return st.one_of([usual] * (odds * len(rare)) + list(rare))


surrogated = st.tuples(
    st.text(max_size=4), st.characters(categories=["Cs"]), st.text(max_size=4)
).map("".join)
"""Text with a lone surrogate in it."""
texts = often(st.text(max_size=12), surrogated, odds=8)
HUGE_INTS = (2**63, -(2**63) - 1, 2**64, 2**200, 10**308, 10**400, -(10**400), 10**4299, 10**4300)
HUGE_STRINGS = ("x" * 100_000, "é🚀" * 30_000)
# Indexes, not the values: hypothesis reprs a sampled_from's elements (and repr(10**4300) raises).
huge_ints = st.integers(0, len(HUGE_INTS) - 1).map(HUGE_INTS.__getitem__)
huge_strings = st.integers(0, len(HUGE_STRINGS) - 1).map(HUGE_STRINGS.__getitem__)
scalars = often(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    huge_ints,
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    texts.map(SubStr),
    huge_strings,
    st.binary(max_size=6),
    st.builds(Hostile),
    st.integers(-5, 5).map(HostileInt),
    st.sampled_from([*Verdict, *Level]) | st.uuids(),
    odds=6,
)
keys = often(
    st.text(max_size=12),
    surrogated,
    st.text(max_size=12).map(SubStr),
    st.text(max_size=12).map(HostileKey),
    st.integers(),
    st.none(),
    st.tuples(st.integers(0, 3)),
    st.booleans(),
    odds=12,
)


def _mapping(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """A dict from pairs, skipping keys that cannot go in (a HostileKey equal to another)."""
    out: dict[Any, Any] = {}
    for key, value in pairs:
        with contextlib.suppress(Exception):
            out[key] = value
    return out


def _cycle(value: Any, as_list: bool) -> Any:
    """A dict or list that contains itself (beside ``value``)."""
    if as_list:
        items: list[Any] = [value]
        items.append(items)
        return items
    mapping: dict[str, Any] = {"v": value}
    mapping["self"] = mapping
    return mapping


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return often(
        st.lists(inner, max_size=4) | st.lists(st.tuples(keys, inner), max_size=4).map(_mapping),
        st.lists(inner, max_size=3).map(tuple),
        st.builds(Model, x=inner),
        st.builds(Record, x=inner),
    )


values = st.recursive(scalars, _containers, max_leaves=8)
hostile = values
twists = often(
    st.none(),
    st.builds(nest, st.sampled_from([252, 253, 254, 255, 256, 985]), values, st.booleans()),
    st.builds(_cycle, values, st.booleans()),
    odds=1,
)
"""Deep nesting or a cycle, put into one place of about one call in two."""
records = often(
    st.lists(st.tuples(keys, hostile), max_size=4).map(_mapping),
    st.builds(Model, x=hostile),
    st.builds(Record, x=hostile),
)
contexts = st.none() | st.lists(st.tuples(texts | texts.map(SubStr), hostile), max_size=3).map(
    lambda pairs: {k: v for k, v in pairs if str.__str__(k) not in ("traceparent", "tracestate")}
)


def _first_refusal(
    context: dict[str, Any] | None, metadata: Any, rows: list[tuple[Any, Any]], batch: bool
) -> str | None:
    """The message prefix evaltrace must refuse the call with, in the order it checks: context,
    metadata, then each row's result and data; None when everything can be stored."""
    checks: list[tuple[Any, str, int | None]] = []
    if context:
        checks.append((context, "context", None))
    if metadata:
        checks.append((metadata, "metadata", None))
    for i, (result, data) in enumerate(rows):
        checks.append((result, "evaluation_result", i if batch else None))
        checks.append((data, "data", i if batch else None))
    for value, field, row in checks:
        try:
            expected(value, field)
        except Bad as bad:
            return f"{where(bad.path, row)}: "
    return None


@pytest.mark.slow
def test_hostile_input_is_stored_exactly_or_refused(tmp_path: Path) -> None:
    """10,000 hostile log / log_batch_sync (flat and row-grouped) calls: each stored exactly or
    refused naming field and row; the tracker stays usable; the store holding every accepted
    example reads back through get_run_results, history and the CLI."""
    store = tmp_path / "fuzz.db"
    accepted: list[str] = []
    refused: Counter[str] = Counter()
    started = time.monotonic()
    with evaltrace.OpenTelemetryExperimentTracker("fuzz", store=store) as tracker:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(
            rows=st.lists(st.tuples(records, records), min_size=1, max_size=3),
            mode=st.sampled_from(["log", "batch", "grouped"]),
            metadata=st.none() | st.lists(st.tuples(keys, hostile), max_size=3).map(_mapping),
            context=contexts,
            twist=twists,
            spot=st.integers(0, 3),
        )
        def example(
            rows: list[tuple[Any, Any]],
            mode: str,
            metadata: dict[Any, Any] | None,
            context: dict[str, Any] | None,
            twist: Any,
            spot: int,
        ) -> None:
            batch = mode != "log"
            if not batch:
                rows = rows[:1]
            if twist is not None:
                target = [rows[-1][0], rows[-1][1], metadata, context][spot]
                if type(target) is dict:
                    target["twist"] = twist
            if mode == "grouped":  # gllm-evals 0.1.x: a list of {evaluator: output} per row
                rows = [([result, {"other": 0.5}], data) for result, data in rows]
            run_id = f"run-{uuid.uuid4().hex}"
            refusal = _first_refusal(context, metadata, rows, batch)
            try:
                with tracker.context(**(context or {})):
                    if batch:
                        tracker.log_batch_sync(
                            [r for r, _ in rows],
                            "ds",
                            [d for _, d in rows],
                            run_id=run_id,
                            metadata=metadata,
                        )
                    else:
                        tracker.log(rows[0][0], "ds", rows[0][1], run_id=run_id, metadata=metadata)
            except (evaltrace.InvalidInputError, evaltrace.InvalidInputTypeError) as error:
                assert refusal is not None, f"refused what JSON can carry: {error}"
                assert str(error).startswith(refusal), (str(error), refusal)
                assert tracker.get_run_results(run_id) == []
                refused[str(error).rsplit(": ", 1)[-1].split(" (")[0]] += 1
                return
            assert refusal is None, f"accepted what must be refused at {refusal}"
            accepted.append(run_id)
            back = tracker.get_run_results(run_id)
            assert len(back) == len(rows)
            want_context = expected(context or {}, "context")
            want_metadata = expected(metadata or {}, "metadata")
            for got, (result, data) in zip(back, rows, strict=True):
                assert same(got["evaluation_result"], expected(result, "r"))
                assert same(got["data"], expected(data, "d"))
                assert same(got["metadata"], want_metadata)
                assert same(got["context"], want_context)

        example()
        fuzzed = time.monotonic() - started
        # Still usable, and every accepted example reads back through history and the CLI.
        tracker.log({"m": {"score": 1.0}}, "ds", {"q": "after"}, run_id="after")
        (after,) = tracker.get_run_results("after")
        assert after["evaluation_result"] == {"m": {"score": 1.0}}
        history = tracker.get_experiment_history(limit=len(accepted) + 10)
        assert {run["run_id"] for run in history} == {*accepted, "after"}
    runner = CliRunner()
    listed = runner.invoke(main, ["runs", "--store", str(store), "--json"])
    assert listed.exit_code == 0, listed.output
    assert len(json.loads(listed.output)) == len(accepted) + 1
    for run_id in accepted:
        shown = runner.invoke(main, ["results", run_id, "--store", str(store), "--json"])
        assert shown.exit_code == 0, (run_id, shown.output, shown.exception)
    for run_a, run_b in itertools.pairwise(accepted[:201]):
        compared = runner.invoke(main, ["compare", run_a, run_b, "--store", str(store), "--json"])
        assert compared.exit_code == 0, (run_a, run_b, compared.output, compared.exception)
    total = refused.total()
    print(f"fuzz: {EXAMPLES} examples, {len(accepted)} stored, {total} refused, {fuzzed:.0f}s")
    for reason, count in refused.most_common():
        print(f"  {count:6d}  {reason}")
