"""Hostile input, case by case: what the issue "Nothing lost" names, and what the fuzzer found."""

from __future__ import annotations

import dataclasses
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace.cli import main
from evaltrace.schema import ATTR_METRICS_OMITTED
from tests.hostile import Hostile, HostileInt, HostileKey, Model, Record, SubStr, nest, same

from .support.spans import logged_spans

Tracker = evaltrace.OpenTelemetryExperimentTracker
DEEP = "nesting deeper than 254 levels (or a circular reference)"


def refused(tracker: Tracker, result: Any, data: Any, **kwargs: Any) -> str:
    """Log one result that must be refused; the message, once nothing was stored."""
    run_id = f"refused-{id(result)}-{id(data)}"
    with pytest.raises((evaltrace.InvalidInputError, evaltrace.InvalidInputTypeError)) as error:
        tracker.log(result, "ds", data, run_id=run_id, **kwargs)
    assert isinstance(error.value, evaltrace.EvalTraceError)
    assert tracker.get_run_results(run_id) == []
    return str(error.value)


def stored(tracker: Tracker, result: Any, data: Any, run_id: str) -> dict[str, Any]:
    """Log one result and read it back."""
    tracker.log(result, "ds", data, run_id=run_id)
    (row,) = tracker.get_run_results(run_id)
    return dict(row)


# -- deep nesting ----------------------------------------------------------------------------


def test_985_deep_result_is_refused_naming_the_field(tracker: Tracker) -> None:
    """A result nested ~985 deep is refused at the first container past 254, by path."""
    message = refused(tracker, {"m": nest(984, 1, False)}, {"q": "x"})
    assert message == "evaluation_result.m" + ".a" * 254 + f": {DEEP}"


def test_985_deep_row_of_a_batch_names_the_row_and_stores_nothing(tracker: Tracker) -> None:
    """In a batch the row is named, and nothing of the batch is stored."""
    results: list[Any] = [{"m": 1.0}] * 4
    results[3] = {"m": nest(984, 1, True)}
    with pytest.raises(evaltrace.InvalidInputError) as error:
        tracker.log_batch_sync(results, "ds", [{"q": i} for i in range(4)], run_id="deep-batch")
    assert str(error.value) == "evaluation_result.m" + "[0]" * 254 + f" (row 3): {DEEP}"
    assert tracker.get_run_results("deep-batch") == []
    assert stored(tracker, {"m": 1.0}, {"q": 1}, "after-deep")["evaluation_result"] == {"m": 1.0}


def test_nesting_up_to_the_limit_is_stored_exactly(tracker: Tracker) -> None:
    """Containers 254 deep (a scalar inside the deepest) are stored and read back exactly."""
    for as_list in (False, True):
        value = {"m": nest(253, [float("nan"), 2**70], as_list)}
        back = stored(tracker, value, {"q": nest(254, "x", as_list)}, f"limit-{as_list}")
        assert same(back["evaluation_result"], value)
        assert same(back["data"], {"q": nest(254, "x", as_list)})
        message = refused(tracker, {"m": nest(254, [], as_list)}, {"q": 1})
        assert message.endswith(f"{'[0]' if as_list else '.a'}: {DEEP}")


def test_deep_nesting_inside_a_dataclass_is_refused_not_overflowed(tracker: Tracker) -> None:
    """A dataclass holding a 985-deep value is refused by path (asdict used to recurse and
    overflow, which read as 'a circular reference' at the top)."""
    message = refused(tracker, {"m": Record(x=nest(984, 1, False))}, {"q": 1})
    assert message == "evaluation_result.m.x" + ".a" * 253 + f": {DEEP}"


def test_a_store_with_an_over_deep_old_row_still_reads(tmp_path: Path) -> None:
    """A row written before the limit (put in with SQL) spoils neither history, nor the other
    runs, nor the CLI: its own run reads back or fails with a QueryError naming it."""
    path = tmp_path / "old.db"
    with Tracker("p", store=path) as tracker:
        tracker.log({"m": 1.0}, "ds", {"q": 1}, run_id="old")
        tracker.log({"m": 2.0}, "ds", {"q": 2}, run_id="other")
    with sqlite3.connect(path) as conn:
        text = "[" * 985 + "1" + "]" * 985  # json.dumps itself may overflow this deep
        conn.execute("UPDATE results SET result = ? WHERE run_id = 'old'", (text,))
    conn.close()
    with Tracker("p", store=path) as tracker:
        history = {run["run_id"]: run for run in tracker.get_experiment_history()}
        # history comes from the aggregates committed with the row (it never re-reads it)
        assert history["old"]["num_results"] == 1
        assert history["other"]["metrics"]["m"]["mean"] == 2.0
        (other,) = tracker.get_run_results("other")
        assert other["evaluation_result"] == {"m": 2.0}
        try:
            (old,) = tracker.get_run_results("old")
        except evaltrace.QueryError as error:  # how deep the decoder gets depends on the stack
            assert "result 1 of run 'old' cannot be decoded (RecursionError)" in str(error)
        else:
            value, depth = old["evaluation_result"], 0
            while value != 1:  # iteratively: == itself would recurse 985 deep
                (value,), depth = value, depth + 1
            assert depth == 985
    runner = CliRunner()
    listed = runner.invoke(main, ["runs", "--store", str(path), "--json"])
    assert listed.exit_code == 0
    assert [run["run_id"] for run in json.loads(listed.stdout)] == ["other", "old"]
    shown = runner.invoke(main, ["results", "other", "--store", str(path), "--json"])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout)["evaluation_result"] == {"m": 2.0}
    old_run = runner.invoke(main, ["results", "old", "--store", str(path), "--json"])
    assert old_run.exit_code in (0, 1) and not isinstance(old_run.exception, RecursionError)


# -- big numbers -----------------------------------------------------------------------------


def test_10_to_the_400_is_stored_exactly_and_its_flat_attribute_counted(
    tracker: Tracker, memory: InMemorySpanExporter
) -> None:
    """JSON carries 10**400 exactly: it reads back as that int; its flat attribute (a double)
    is omitted and counted; history leaves it out of the statistics."""
    back = stored(tracker, {"m": 10**400, "s": 0.5}, {"q": -(10**400)}, "big")
    assert back["evaluation_result"] == {"m": 10**400, "s": 0.5}
    assert type(back["evaluation_result"]["m"]) is int
    assert back["data"] == {"q": -(10**400)}
    (span,) = logged_spans(memory)
    attributes = dict(span.attributes or {})
    assert "eval.metric.m" not in attributes
    assert attributes["eval.metric.s"] == 0.5
    assert attributes[ATTR_METRICS_OMITTED] == 1
    assert tracker.stats.metric_attributes_omitted == 1
    (run,) = tracker.get_experiment_history()
    assert run["metrics"] == {
        "m": {},
        "s": {
            **{"count": 1, "mean": 0.5, "min": 0.5, "max": 0.5, "p50": 0.5, "p90": 0.5},
            **{"quantiles_exact": True, "interval": "t95"},
            **{"se": None, "ci_low": None, "ci_high": None},  # one value: no interval
        },
    }


def test_ints_past_the_str_limit_are_refused_naming_the_field(tracker: Tracker) -> None:
    """4300 digits read back exactly; 4301 (which json cannot read back) are refused."""
    most = 10**4300 - 1
    assert stored(tracker, {"m": [most, 2**64]}, {"q": 1}, "digits")["evaluation_result"] == {
        "m": [most, 2**64]
    }
    message = refused(tracker, {"m": [1, 10**4300]}, {"q": 1})
    assert message == "evaluation_result.m[1]: an integer with more than 4300 digits"


# -- cycles ------------------------------------------------------------------------------------


def test_cycles_are_refused_naming_the_field(tracker: Tracker) -> None:
    """A dict or list containing itself, in a result, data or metadata, is refused by path."""
    loop: dict[str, Any] = {"score": 1.0}
    loop["self"] = loop
    message = refused(tracker, {"m": loop}, {"q": 1})
    assert message == "evaluation_result.m" + ".self" * 254 + f": {DEEP}"
    items: list[Any] = [1]
    items.append(items)
    assert refused(tracker, {"m": 1}, {"q": items}) == "data.q" + "[1]" * 254 + f": {DEEP}"
    assert refused(tracker, {"m": 1}, {"q": 1}, metadata={"l": items}).startswith("metadata.l[1]")
    model_loop = Record(x=None)
    model_loop.x = model_loop
    assert refused(tracker, model_loop, {"q": 1}) == "evaluation_result" + ".x" * 255 + f": {DEEP}"


def test_a_cycle_in_context_is_refused_naming_the_key(tracker: Tracker) -> None:
    """``context(**ctx)`` refuses a cycle by path, and the tracker logs on afterwards."""
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(evaltrace.InvalidInputError) as error, tracker.context(run_note=loop):
        pass
    assert str(error.value) == "context.run_note" + "[0]" * 254 + f": {DEEP}"
    assert stored(tracker, {"m": 1.0}, {"q": 1}, "after-ctx")["context"] == {}


# -- lone surrogates -------------------------------------------------------------------------


def test_lone_surrogates_are_refused_in_values_and_keys(tracker: Tracker) -> None:
    """A lone surrogate cannot be UTF-8: refused wherever it is, value or key, by path."""
    bad = "ok \ud800"
    assert refused(tracker, {"m": {"why": bad}}, {"q": 1}) == (
        "evaluation_result.m.why: a string that is not valid UTF-8 (lone surrogate)"
    )
    assert refused(tracker, {"m": 1}, {"q": [{bad: 1}]}) == (
        "data.q[0]['ok \\ud800']: a key that is not valid UTF-8 (lone surrogate)"
    )
    assert refused(tracker, {"m": 1}, {"q": 1}, metadata={"k": SubStr(bad)}) == (
        "metadata.k: a string that is not valid UTF-8 (lone surrogate)"
    )


def test_lone_surrogates_in_context_are_refused_naming_the_key(tracker: Tracker) -> None:
    """In ``context``, the surrogate key (once only the whole context was named) or value."""
    with pytest.raises(evaltrace.InvalidInputError) as error, tracker.context(**{"\udc80": 1}):
        pass
    assert str(error.value) == "context['\\udc80']: a key that is not valid UTF-8 (lone surrogate)"
    with pytest.raises(evaltrace.InvalidInputError) as error, tracker.context(k=["\udfff"]):
        pass
    assert str(error.value) == "context.k[0]: a string that is not valid UTF-8 (lone surrogate)"


# -- objects whose dunders raise ---------------------------------------------------------------


def test_an_object_whose_repr_raises_is_refused_by_path(tracker: Tracker) -> None:
    """Its repr, str, == and hash all raise: refused naming the path, never calling them."""
    message = refused(tracker, {"m": {"judge": [1, Hostile()]}}, {"q": 1})
    assert (
        message
        == "evaluation_result.m.judge[1]: an object of type Hostile that is not JSON-serializable"
    )

    class ReprBoom:
        def __repr__(self) -> str:
            raise RuntimeError("repr")

    message = refused(tracker, {"m": {ReprBoom(): 1}}, {"q": 1})
    assert (
        message == "evaluation_result.m[<ReprBoom whose repr() failed>]: "
        "a ReprBoom key (keys must be strings)"
    )


def test_str_subclass_keys_whose_dunders_raise_are_stored_as_their_text(
    tracker: Tracker,
) -> None:
    """A str-subclass key whose repr, str and == raise (even one named "score", which the
    encoder looks up) is stored as its own characters, and its score still makes an event."""
    result = {"judge": {HostileKey("score"): 0.5, SubStr("label"): SubStr("good")}}
    data = {HostileKey("id"): HostileInt(7)}
    back = stored(tracker, result, data, "str-keys")
    assert same(back["evaluation_result"], {"judge": {"score": 0.5, "label": "good"}})
    assert same(back["data"], {"id": 7})
    assert back["sample_id"] == "7"


def test_an_int_subclass_id_whose_repr_raises_is_the_sample_id(tracker: Tracker) -> None:
    """The sample id is the id as the stored JSON spells it, not the subclass's own str()."""
    back = stored(tracker, {"m": 1}, {"id": HostileInt(42)}, "int-id")
    assert back["sample_id"] == "42" and back["data"] == {"id": 42}


def test_a_str_subclass_key_given_twice_is_refused(tracker: Tracker) -> None:
    """Two keys with the same text (a subclass with its own hash) would lose one: refused."""

    class Twin(str):
        def __hash__(self) -> int:
            return 1

        def __eq__(self, other: object) -> bool:
            return other is self

    assert refused(tracker, {"m": {"a": 1, Twin("a"): 2}}, {"q": 1}) == (
        "evaluation_result.m['a']: a key given twice (a str subclass)"
    )


def test_context_keys_whose_str_and_repr_raise_are_stored_as_text(tracker: Tracker) -> None:
    """``context(**{Key("k"): v})`` with a str subclass whose str() and repr() raise: stored
    as its characters. (One whose == raises cannot get in: Python's own call machinery
    compares keyword names with ``==``.)"""

    class Key(str):
        def __repr__(self) -> str:
            raise RuntimeError("repr")

        __str__ = __repr__

    with tracker.context(**{Key("k"): SubStr("v"), Key("tracestate"): "a=1"}):
        back = stored(tracker, {"m": 1}, {"q": 1}, "ctx-keys")
    assert same(back["context"], {"k": "v"})


def test_a_traceparent_whose_str_raises_is_refused(tracker: Tracker) -> None:
    """``context(traceparent=...)`` takes a string; anything else is a named type error."""
    with (
        pytest.raises(evaltrace.InvalidInputTypeError) as error,
        tracker.context(traceparent=Hostile()),
    ):
        pass
    assert str(error.value) == "context.traceparent: expected a string, got Hostile"
    with pytest.raises(evaltrace.InvalidInputError) as error, tracker.context(traceparent="00-zz"):
        pass
    assert str(error.value) == "context.traceparent: not a W3C traceparent: '00-zz'"


# -- models and dataclasses holding such things ------------------------------------------------


def test_a_dataclass_with_an_int_key_is_refused_not_stringified(tracker: Tracker) -> None:
    """A dataclass's dict with an int key was written with ``"1"`` (the stdlib's silent
    conversion): now refused by path, as a plain dict is."""
    message = refused(tracker, {"m": Record(x={1: "a"})}, {"q": 1})
    assert message == "evaluation_result.m.x[1]: a int key (keys must be strings)"


def test_models_and_dataclasses_with_big_ints_and_nan_round_trip(tracker: Tracker) -> None:
    """Exact values inside a pydantic model or dataclass come back as their dumps."""

    @dataclasses.dataclass
    class Scores:
        big: int
        nan: float
        keys: dict[str, Any]

    result = {"m": Scores(10**400, math.nan, {"t": (1, SubStr("x"))}), "p": Model(x=2**70)}
    back = stored(tracker, result, {"q": Record(x=[math.inf])}, "models")
    want = {"m": {"big": 10**400, "nan": math.nan, "keys": {"t": [1, "x"]}}, "p": {"x": 2**70}}
    assert same(back["evaluation_result"], want)
    assert same(back["data"], {"q": {"x": [math.inf]}})
    message = refused(tracker, {"m": Model(x=Hostile())}, {"q": 1})
    assert message.startswith("evaluation_result.m: a Model that cannot be converted to JSON (")


# -- statistics over values near and past the double range ------------------------------------


def test_history_of_values_at_the_double_range_does_not_overflow(tracker: Tracker) -> None:
    """Two 1e308 sum past the double range (fsum raised OverflowError); -1e308..1e308 is a
    spread past it (the median interpolated to inf*0 = nan; its variance is 2e616): the
    quantiles are numpy's where numpy's stay finite, se is finite, and a t bound past the
    range is None, never inf."""
    for run_id, values in (("top", [1e308, 1e308]), ("spread", [-1e308, 1e308])):
        tracker.log_batch_sync(
            [{"m": v} for v in values], "ds", [{"q": v} for v in values], run_id=run_id
        )
    history = {run["run_id"]: run["metrics"]["m"] for run in tracker.get_experiment_history()}
    assert history["top"] == {
        "count": 2,
        "mean": 1e308,
        "min": 1e308,
        "max": 1e308,
        "p50": 1e308,
        "p90": 1e308,
        "quantiles_exact": True,
        **{"se": None, "ci_low": None, "ci_high": None, "interval": "t95"},  # no spread
    }
    # numpy's linear p50/p90 of {-1e308, 1e308}, as a convex combination (numpy's b - a is inf)
    spread = history["spread"]
    assert (spread["mean"], spread["p50"], spread["p90"]) == (0.0, 0.0, pytest.approx(8e307))
    assert spread["se"] == pytest.approx(1e308)  # s = √2·1e308, over √2
    assert spread["ci_low"] is None and spread["ci_high"] is None  # ± 12.7·1e308


def test_compare_of_runs_with_ints_past_the_double_range(store_path: Path) -> None:
    """``evaltrace compare`` pairs 10**400 with 1.0 (float() of it raised OverflowError)."""
    with Tracker("p", store=store_path) as tracker:
        tracker.log({"m": 1.0}, "ds", {"id": "s"}, run_id="a")
        tracker.log({"m": 10**400}, "ds", {"id": "s"}, run_id="b")
    result = CliRunner().invoke(main, ["compare", "a", "b", "--store", str(store_path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (metric,) = report["metrics"]
    assert (metric["metric"], metric["mean_a"], metric["mean_b"]) == ("m", 1.0, None)
    assert metric["improved"] == 1


# -- what orjson must never see ------------------------------------------------------------------


def tuples(depth: int) -> Any:
    """``1`` inside ``depth`` nested tuples."""
    value: Any = 1
    for _ in range(depth):
        value = (value,)
    return value


def test_a_tuple_chain_100000_deep_is_refused_not_a_crash(tracker: Tracker) -> None:
    """orjson does not count tuples toward its depth limit: 100,000 nested tuples crashed the
    interpreter (heap corruption). In data, metadata, context and a record: refused by path."""
    deep = "[0]" * 254 + f": {DEEP}"
    assert refused(tracker, {"m": 1}, {"q": tuples(100_000)}) == "data.q" + deep
    assert refused(tracker, {"m": 1}, {"q": 1}, metadata={"t": tuples(100_000)}) == (
        "metadata.t" + deep
    )
    assert refused(tracker, {"m": 1}, {"q": Record(x=tuples(100_000))}) == (
        "data.q.x" + "[0]" * 253 + f": {DEEP}"
    )
    assert refused(tracker, {"m": tuples(100_000)}, {"q": 1}) == "evaluation_result.m" + deep
    with pytest.raises(evaltrace.InvalidInputError) as error, tracker.context(t=tuples(100_000)):
        pass
    assert str(error.value) == "context.t" + deep
    back = stored(tracker, {"m": 1}, {"q": tuples(200)}, "tuples-ok")
    assert back["data"] == {"q": nest(200, 1, True)}


def test_a_mapping_whose_iteration_raises_is_refused(tracker: Tracker) -> None:
    """A user's Mapping whose ``__iter__`` raises: an input error naming the field, not the
    user's own exception."""
    from collections.abc import Iterator, Mapping

    class Broken(Mapping[str, Any]):
        def __getitem__(self, key: str) -> Any:
            raise KeyError(key)

        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("iter")

        def __len__(self) -> int:
            return 1

    assert refused(tracker, {"m": 1}, Broken()) == (
        "data: a Broken whose own methods raised (RuntimeError('iter'))"
    )
    assert refused(tracker, {"m": {"x": [Broken()]}}, {"q": 1}) == (
        "evaluation_result.m.x[0]: a Broken whose own methods raised (RuntimeError('iter'))"
    )
