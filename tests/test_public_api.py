"""The public namespace."""

from __future__ import annotations

import inspect

import evaltrace
from evaltrace import BaseExperimentTracker


def test_all_is_complete() -> None:
    """Every public name defined at the top level is listed in __all__, and nothing else."""
    public = {name for name in dir(evaltrace) if not name.startswith("_")}
    modules = {name for name in public if inspect.ismodule(getattr(evaltrace, name))}
    assert public - modules == set(evaltrace.__all__) - {"__version__"}


def test_seed_interface() -> None:
    """The base class has exactly the seed's methods with its signatures; three are abstract."""
    assert BaseExperimentTracker.__abstractmethods__ == {"log", "alog", "log_batch"}
    for name in ("alog", "log_batch", "log_context"):
        assert inspect.iscoroutinefunction(getattr(BaseExperimentTracker, name))
    log = inspect.signature(BaseExperimentTracker.log)
    assert list(log.parameters) == [
        "self",
        "evaluation_result",
        "dataset_name",
        "data",
        "run_id",
        "metadata",
        "kwargs",
    ]
    batch = inspect.signature(BaseExperimentTracker.log_batch)
    assert list(batch.parameters)[1:4] == ["evaluation_results", "dataset_name", "data"]
    assert list(inspect.signature(BaseExperimentTracker.get_run_results).parameters) == [
        "self",
        "run_id",
        "kwargs",
    ]
    assert BaseExperimentTracker.log.__doc__ and "synchronous" in BaseExperimentTracker.log.__doc__


def test_schema_face_is_what_adapters_need() -> None:
    """``evaltrace.schema`` exports the names and the decoders a query adapter reads spans
    with; the encoding internals (the walk, limits, ``flatten``) are not part of it."""
    from evaltrace import schema
    from evaltrace.schema import _names

    readers = {
        "SummaryRecord",
        "decode_record",
        "decode_result",
        "decode_summary",
        "is_result",
        "query_terms",
        "read_keys",
        "summary_terms",
    }
    assert set(schema.__all__) == set(_names.__all__) | readers
    assert all(hasattr(schema, name) for name in schema.__all__)


def test_package_faces_list_only_what_they_define() -> None:
    """Each package's ``__all__`` names something it has, and nothing it has is unlisted."""
    from evaltrace import query, store

    for package in (store, query):
        public = {
            name
            for name in dir(package)
            if not name.startswith("_") and not inspect.ismodule(getattr(package, name))
        }
        assert public == set(package.__all__), package.__name__
