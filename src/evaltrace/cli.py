"""The ``evaltrace`` command: a thin layer over the library; its text comes from ``_cli_format``."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any, TypeVar

import click

from . import __version__
from ._cli_format import compare_report, export_lines, results_table, runs_table, to_json
from ._compare import compare_runs
from ._config import store_path
from ._demo import run_demo
from ._exceptions import EvalTraceError
from .query import HistoryFilter, ResultRecord, SQLiteQueryAdapter

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

PROGRESS_FROM = 5000
"""Exports of at least this many results show a progress bar on stderr."""


def store_option(f: F) -> F:
    """``--store PATH``: the embedded SQLite store."""
    return click.option(
        "--store",
        type=click.Path(dir_okay=False),
        help="SQLite store [default: $EVALTRACE_STORE, else ./.evaltrace/evaltrace.db].",
    )(f)


def json_option(f: F) -> F:
    """``--json``: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(f)


def _store_path(store: str | None) -> str:
    """Resolve --store over $EVALTRACE_STORE over the default, as the tracker does."""
    try:
        path = store_path(store)
    except EvalTraceError as exc:
        raise click.ClickException(str(exc)) from exc
    if path is None:
        raise click.ClickException(
            "the store is turned off (EVALTRACE_STORE=off): pass --store PATH"
        )
    return path


@contextmanager
def _reader(store: str | None) -> Iterator[SQLiteQueryAdapter]:
    """An open reader of an existing store; library and SQLite errors become ClickExceptions."""
    path = _store_path(store)
    if not os.path.isfile(path):
        raise click.ClickException(
            f"no evaltrace store at {path}: pass --store PATH or set EVALTRACE_STORE "
            "(or run `evaltrace demo` to make one)"
        )
    try:
        with closing(SQLiteQueryAdapter(path)) as reader:
            yield reader
    except EvalTraceError as exc:
        raise click.ClickException(str(exc)) from exc
    except sqlite3.Error as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


def _run_results(reader: SQLiteQueryAdapter, run_id: str) -> list[ResultRecord]:
    results = reader.run_results(run_id)
    if not results:
        raise click.ClickException(
            f"no results for run {run_id!r} in {reader.path} (`evaltrace runs` lists the runs)"
        )
    return results


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="evaltrace")
def main() -> None:
    """Read back, compare and export evaluation runs that evaltrace logged as spans.

    Commands read the embedded SQLite store: --store PATH, else $EVALTRACE_STORE, else
    ./.evaltrace/evaltrace.db. Results go to stdout; progress and errors to stderr.
    """


@main.command()
@click.option("--dataset", help="Only runs of this dataset.")
@click.option("--project", help="Only runs of this project [default: every project].")
@click.option(
    "--since", metavar="ISO", help="Only runs started at or after this time (UTC if no offset)."
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs.")
@json_option
@store_option
def runs(
    dataset: str | None,
    project: str | None,
    since: str | None,
    limit: int | None,
    as_json: bool,
    store: str | None,
) -> None:
    """List runs, newest first, with the mean of their first metrics.

    A boolean metric shows its pass rate. --json prints every run summary with every metric
    (count, mean, min, max, p50, p90; count and pass_rate for booleans).
    """
    filters = {"dataset_name": dataset, "project_name": project, "since": since, "limit": limit}
    with _reader(store) as reader:
        history = reader.history(HistoryFilter.from_kwargs(None, filters))
    if as_json:
        click.echo(to_json(history))
    elif history:
        click.echo(runs_table(history))
    else:
        click.echo("no runs match", err=True)


@main.command()
@click.argument("run_id")
@json_option
@store_option
def results(run_id: str, as_json: bool, store: str | None) -> None:
    """Show the results of RUN_ID in logging order: index, sample_id and metric values.

    --json prints each result dict as one JSON line, as `export --format jsonl` does.
    """
    with _reader(store) as reader:
        rows = _run_results(reader, run_id)
    if as_json:
        click.echo("".join(export_lines(rows, "jsonl")), nl=False)
    else:
        click.echo(results_table(rows))


@main.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option(
    "--threshold",
    type=click.FloatRange(min=0),
    default=0.0,
    help="How far a mean may drop before it counts as a regression.",
)
@click.option(
    "--fail-on-regression", is_flag=True, help="Exit with status 1 if any metric regressed."
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=10,
    help="How many of the largest per-sample changes to list (--json lists all).",
)
@json_option
@store_option
def compare(
    run_a: str,
    run_b: str,
    threshold: float,
    fail_on_regression: bool,
    samples: int,
    as_json: bool,
    store: str | None,
) -> None:
    """Compare RUN_B against RUN_A: metric means and per-sample changes.

    Every metric is taken as higher-is-better; a boolean metric is compared by its pass
    rate. Samples are paired by sample_id (a repeated id pairs by occurrence). A regression
    is a metric whose mean in RUN_B is more than --threshold below its mean in RUN_A.
    """
    with _reader(store) as reader:
        comparison = compare_runs(_run_results(reader, run_a), _run_results(reader, run_b))
    if as_json:
        click.echo(to_json(comparison.to_dict(threshold)))
    else:
        click.echo(compare_report(comparison, threshold, samples))
    regressions = comparison.regressions(threshold)
    if fail_on_regression and regressions:
        names = ", ".join(m.metric for m in regressions)
        raise click.ClickException(f"{len(regressions)} metric(s) regressed: {names}")


@main.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to this file [default: stdout]."
)
@store_option
def export(run_id: str, fmt: str, output: str | None, store: str | None) -> None:
    """Export every result of RUN_ID as JSON lines or CSV.

    jsonl: each result dict exactly as get_run_results returns it. csv: columns run_id,
    sample_id, timestamp, trace_id, span_id, one per flattened metric (e.g.
    qa.token_f1.score), then data and metadata as JSON.
    """
    with _reader(store) as reader:
        rows = _run_results(reader, run_id)
    bar = click.progressbar(
        export_lines(rows, fmt),
        length=len(rows) + (1 if fmt == "csv" else 0),
        label=f"exporting {run_id}",
        hidden=len(rows) < PROGRESS_FROM,
        file=sys.stderr,
    )
    with click.open_file(output or "-", "w", encoding="utf-8", atomic=bool(output)) as out, bar:
        out.writelines(bar)


@main.command()
@store_option
@click.option("--rows", type=click.IntRange(min=1), default=300, help="Questions per run.")
@click.option("--seed", type=int, default=0, help="Seed of the synthetic data.")
def demo(store: str | None, rows: int, seed: int) -> None:
    """Log a synthetic RAG evaluation as two runs, then show and compare them.

    Offline and deterministic: a baseline and a slightly better candidate pipeline answer the
    same questions; each answer is scored (exact match, token F1, context recall, passed) and
    logged with log_batch to the store, which is created if needed.
    """
    path = _store_path(store)
    try:
        run_demo(path, rows=rows, seed=seed)
    except (EvalTraceError, sqlite3.Error, OSError) as exc:
        raise click.ClickException(f"{path}: {exc}") from exc


@main.command()
@store_option
@click.option(
    "--endpoint", metavar="URL", help="OTLP endpoint [default: $OTEL_EXPORTER_OTLP_ENDPOINT]."
)
@click.option(
    "--protocol",
    type=click.Choice(["grpc", "http/protobuf"]),
    help="OTLP protocol [default: $OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf].",
)
@click.option(
    "--timeout", type=click.FloatRange(min=0), default=60.0, help="Seconds to keep trying."
)
@click.option("--spool", "spool", is_flag=True, help="--store is a spool (delivered is deleted).")
def sync(
    store: str | None, endpoint: str | None, protocol: str | None, timeout: float, spool: bool
) -> None:
    """Send what the store's outbox holds to the collector; exit 1 if some stays pending."""
    from ._sync import sync as run_sync

    with _reader(store) as reader:  # refuses a missing or foreign file before writing
        path = reader.path
    try:
        report = run_sync(path, endpoint=endpoint, protocol=protocol, timeout=timeout, spool=spool)
    except EvalTraceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{report.exported} spans delivered to {report.destination}; "
        f"{report.pending_after} pending (of {report.pending_before})"
        + (f"; dropped {report.dropped}" if report.dropped else ""),
        err=True,
    )
    if report.pending_after:
        raise click.ClickException(f"{report.pending_after} spans are still pending")


def backend_options(f: F) -> F:
    """``--store PATH | --jaeger URL | --tempo URL``: where ``ui`` and ``report`` read runs."""
    f = click.option("--tempo", metavar="URL", help="Read from Tempo (http://host:3200).")(f)
    f = click.option(
        "--jaeger", metavar="URL", help="Read from Jaeger (grpc://host:16685 or http://host:16686)."
    )(f)
    return store_option(f)


def _ui_source(store: str | None, jaeger: str | None, tempo: str | None) -> Any:
    """An ``evaltrace.ui.Source`` over the one backend asked for (the store by default)."""
    if sum(x is not None for x in (store, jaeger, tempo)) > 1:
        raise click.UsageError("pass at most one of --store, --jaeger, --tempo")
    try:
        from . import ui
    except ImportError as exc:
        raise click.ClickException(f"{exc.name} is missing: pip install 'evaltrace[ui]'") from exc
    if jaeger or tempo:
        return ui.open_source(jaeger=jaeger, tempo=tempo)
    path = _store_path(store)
    if not os.path.isfile(path):
        raise click.ClickException(f"no evaltrace store at {path}: pass --store PATH")
    return ui.open_source(store=path)


@main.command()
@backend_options
@click.option("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, help="Port to listen on.")
def ui(store: str | None, jaeger: str | None, tempo: str | None, host: str, port: int) -> None:
    """Serve the runs, run and compare pages of a store, Jaeger or Tempo (needs evaltrace[ui]).

    Every page's state is in its URL: /?dataset=D, /runs/RUN_ID?sort=M&where=M<0.5,
    /compare?a=RUN_A&b=RUN_B&lower=*latency*. Samples link to their traces when
    EVALTRACE_JAEGER_UI_URL or EVALTRACE_GRAFANA_URL is set.
    """
    source = _ui_source(store, jaeger, tempo)
    from .ui import serve

    click.echo(f"evaltrace ui on http://{host}:{port}/ reading {source.label} (Ctrl-C stops)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: other machines can read these runs", err=True)
    try:
        serve(source, host, port)
    finally:
        source.close()


@main.command()
@click.argument("run_id")
@click.option("--compare", "baseline", metavar="RUN", help="Compare RUN_ID against this run (A).")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True, help="HTML file.")
@backend_options
def report(
    run_id: str,
    baseline: str | None,
    output: str,
    store: str | None,
    jaeger: str | None,
    tempo: str | None,
) -> None:
    """Write RUN_ID's page (and its comparison with --compare) as one self-contained HTML file.

    No network reference: styles, scripts, charts and data are inline, for CI artefacts.
    """
    source = _ui_source(store, jaeger, tempo)
    from ._config import TraceLinks
    from .ui import UnknownRunError, report_html

    try:
        html = report_html(source, run_id, baseline, TraceLinks.from_env())
    except (UnknownRunError, EvalTraceError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        source.close()
    with click.open_file(output, "w", encoding="utf-8", atomic=True) as out:
        out.write(html)
    click.echo(f"wrote {output}", err=True)
