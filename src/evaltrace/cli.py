"""The ``evaltrace`` command: a thin layer over the library; its text comes from ``_cli_format``.

Longer than 450 lines: one short function per command (median 18 lines), each docstring its
``--help``; kept in one module so that the command table reads in one place.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from typing import Any, TypeVar

import click

from . import __version__
from ._cli_format import (
    RESULTS_LIMIT,
    compare_report,
    export_lines,
    results_table,
    review_lines,
    reviews_summary,
    runs_table,
    terminal_safe,
    terminal_width,
    to_json,
)
from ._compare import cluster_key, compare_scores
from ._config import store_path
from ._demo import run_demo
from ._exceptions import EvalTraceError
from ._files import private_output
from ._provenance_diff import diff_fingerprints
from ._urls import check_endpoint
from .query import HistoryFilter, ResultRecord, RunScores, SQLiteQueryAdapter
from .schema._columns import from_results

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])

PROGRESS_EVERY = 50_000
"""An export says how far it got on stderr every this many lines."""


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
def _output(path: str | None) -> Iterator[Any]:
    """stdout, or the private file ``path`` written whole (``_files``); a file that cannot be
    written is a clear error, never a traceback."""
    if path is None or path == "-":
        with click.open_file("-", "w", encoding="utf-8") as out:
            yield out
        return
    try:
        with private_output(path) as out:
            yield out
    except OSError as exc:
        raise click.ClickException(
            f"cannot write {terminal_safe(path)}: {exc.strerror or exc}"
        ) from exc


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
    except RecursionError as exc:  # a row an older writer let through, too deep to print
        raise click.ClickException(
            f"{path}: a stored result is nested too deep to decode or print; the store's "
            "other runs are unaffected"
        ) from exc


def _streamed(reader: SQLiteQueryAdapter, run_id: str) -> Iterator[ResultRecord]:
    """The run's results as a stream; an unknown run is an error before the first line."""
    stream = reader.iter_run_results(run_id)
    first = next(stream, None)
    if first is None:
        raise click.ClickException(
            f"no results for run {run_id!r} in {reader.path} (`evaltrace runs` lists the runs)"
        )
    return itertools.chain([first], stream)


def _run_results_exist(reader: SQLiteQueryAdapter, run_id: str) -> None:
    """An unknown run is an error, not an empty export."""
    next(_streamed(reader, run_id))


def _run_scores(reader: SQLiteQueryAdapter, run_id: str, cluster: str | None) -> RunScores:
    """The run's score columns (``--cluster``: from its results, whose fields hold the key)."""
    if cluster is not None:
        return from_results(_run_results(reader, run_id), cluster_key(cluster))
    scores = reader.run_scores(run_id)
    if not len(scores):
        _run_results(reader, run_id)  # says there is no such run
    return scores


def _run_results(reader: SQLiteQueryAdapter, run_id: str) -> list[ResultRecord]:
    results = reader.run_results(run_id)
    if not results:
        raise click.ClickException(
            f"no results for run {run_id!r} in {reader.path} (`evaltrace runs` lists the runs)"
        )
    return results


def _evaluators(reader: SQLiteQueryAdapter, run_id: str) -> dict[str, str] | None:
    """The evaluator versions the run's provenance says, None when unknown."""
    provenance = reader.run_provenance(run_id) or {}
    evaluators = provenance.get("evaluators")
    return evaluators if isinstance(evaluators, dict) else None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.version_option(__version__, prog_name="evaltrace")
def main() -> None:
    """Read back, compare and export evaluation runs that evaltrace logged as spans.

    Commands read the embedded SQLite store: --store PATH, else $EVALTRACE_STORE, else
    ./.evaltrace/evaltrace.db. Results go to stdout; progress and errors to stderr.
    """


def metrics_option(f: F) -> F:
    """``--metrics PATTERN``: only the scores whose dotted path matches (repeatable)."""
    return click.option(
        "--metrics",
        "metrics",
        multiple=True,
        metavar="PATTERN",
        help="Only scores whose dotted path matches this glob, e.g. 'generation.*' (repeatable).",
    )(f)


@main.command()
@click.option("--dataset", help="Only runs of this dataset.")
@click.option("--project", help="Only runs of this project [default: every project].")
@click.option(
    "--since", metavar="ISO", help="Only runs started at or after this time (UTC if no offset)."
)
@click.option(
    "--until", metavar="ISO", help="Only runs started at or before this time (UTC if no offset)."
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many runs.")
@metrics_option
@json_option
@store_option
def runs(
    dataset: str | None,
    project: str | None,
    since: str | None,
    until: str | None,
    limit: int | None,
    metrics: tuple[str, ...],
    as_json: bool,
    store: str | None,
) -> None:
    """List runs, newest first, with the means of as many of their scores as fit the terminal.

    Only scores are shown (config leaves such as threshold are not metrics), evaluators'
    aggregate scores first; a boolean shows its pass rate. Each is shown ± its 95 % interval
    (t on the mean, results as independent draws; Wilson for a pass rate). --json prints every
    run summary with every score (count, mean, min, max, p50, p90, se, ci_low, ci_high; count,
    pass_rate, pass_ci_low, pass_ci_high for booleans), exactly as get_experiment_history
    returns it; --metrics picks the table's columns.
    """
    filters = {
        "dataset_name": dataset,
        "project_name": project,
        "since": since,
        "until": until,
        "limit": limit,
    }
    with _reader(store) as reader:
        history = reader.history(HistoryFilter.from_kwargs(None, filters))
    if as_json:
        click.echo(to_json(history))
    elif history:
        click.echo(runs_table(history, terminal_width(), metrics))
    else:
        click.echo("no runs match", err=True)


@main.command()
@click.argument("run_id")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=RESULTS_LIMIT,
    help="Show at most this many results, 0 for all (the table only).",
)
@metrics_option
@json_option
@store_option
def results(
    run_id: str, limit: int, metrics: tuple[str, ...], as_json: bool, store: str | None
) -> None:
    """Show the results of RUN_ID in logging order: index, sample_id and their scores.

    The table fits the terminal: long cells are cut with an ellipsis and the score columns
    that do not fit are counted below it (--metrics picks them). --json prints each result
    dict as one JSON line, every result, as `export --format jsonl` does.
    """
    with _reader(store) as reader:
        stream = _streamed(reader, run_id)
        if as_json:
            for line in export_lines(stream, "jsonl"):
                click.echo(line, nl=False)
            return
        shown = list(itertools.islice(stream, limit) if limit else stream)
        total = len(shown) + sum(1 for _ in stream)  # counted as they stream by, not kept
    click.echo(results_table(shown, terminal_width(), metrics, limit, total=total))


@main.command()
@click.argument("run_a")
@click.argument("run_b")
@click.option(
    "--alpha",
    type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level of the verdicts, for the whole family of metrics.",
)
@click.option(
    "--min-effect",
    "--threshold",
    "min_effect",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Smallest difference that matters: a significant move within it is not a "
    "regression, and a TOST inside ±it is 'unchanged' (--threshold is its old name).",
)
@click.option(
    "--correction",
    type=click.Choice(["holm", "maxt"]),
    default="holm",
    show_default=True,
    help="Family-wise correction: Holm, or a paired max-T sign-flip permutation test "
    "(more powerful when metrics move together).",
)
@click.option(
    "--cluster",
    metavar="FIELD",
    help="A field of the rows' data (e.g. a passage id) whose samples share errors: "
    "clustered standard errors.",
)
@click.option(
    "--fail-on-regression",
    is_flag=True,
    help="Exit with status 1 on a regressed verdict, a vanished metric, missing samples or "
    "no pairs.",
)
@click.option("--strict", is_flag=True, help="Fail on any mean drop beyond --min-effect, too.")
@click.option(
    "--allow-dataset-change",
    is_flag=True,
    help="Let the gate pass runs whose datasets (inputs/expected outputs of paired samples) "
    "or evaluator versions differ.",
)
@click.option(
    "--lower-is-better",
    "lower_is_better",
    multiple=True,
    metavar="PATTERN",
    help="Scores whose dotted path matches this glob are better low, e.g. '*.verbosity.score' "
    "(repeatable; a higher_is_better flag in the result wins).",
)
@click.option(
    "--allow-missing",
    type=click.IntRange(min=0),
    default=0,
    help="How many samples of RUN_A may be missing from RUN_B before the gate fails.",
)
@metrics_option
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=10,
    help="How many regressed samples to list, most regressed first (--json lists all).",
)
@json_option
@store_option
def compare(
    run_a: str,
    run_b: str,
    alpha: float,
    min_effect: float,
    correction: str,
    cluster: str | None,
    fail_on_regression: bool,
    strict: bool,
    allow_dataset_change: bool,
    lower_is_better: tuple[str, ...],
    allow_missing: int,
    metrics: tuple[str, ...],
    samples: int,
    as_json: bool,
    store: str | None,
) -> None:
    """Compare RUN_B against RUN_A: a verdict per metric, the regressed samples, a CI gate.

    Only scores are compared, each in its direction: a higher_is_better flag beside the
    score (as gllm-evals writes it), else lower-is-better for --lower-is-better paths, else
    higher. Samples pair by sample_id; a sample's repeated trials are averaged first. Per
    metric: both means with 95 % intervals, the paired difference with its interval, the
    p-value corrected for the family (the scores compared) and the minimum detectable
    effect. Verdict: regressed/improved when significant at --alpha and beyond --min-effect,
    unchanged when equivalent within ±--min-effect, else inconclusive. With
    --fail-on-regression the command exits 1, one reason per line on stderr, on a regressed
    verdict (--strict: any mean drop), a vanished score, more than --allow-missing missing
    samples, no pairs at all, or (unless --allow-dataset-change) paired samples whose inputs
    or expected outputs differ between the runs, or evaluators whose versions differ.
    """
    with _reader(store) as reader:
        try:
            comparison = compare_scores(
                _run_scores(reader, run_a, cluster),
                _run_scores(reader, run_b, cluster),
                lower_is_better=lower_is_better,
                metrics=metrics or None,
                alpha=alpha,
                min_effect=min_effect,
                correction="maxt" if correction == "maxt" else "holm",
                cluster=cluster,
                dataset=diff_fingerprints(
                    reader.sample_fingerprints(run_a),
                    reader.sample_fingerprints(run_b),
                    _evaluators(reader, run_a),
                    _evaluators(reader, run_b),
                ),
            )
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        reviewed = reviews_summary({"A": reader.get_reviews(run_a), "B": reader.get_reviews(run_b)})
    if as_json:
        click.echo(to_json(comparison.to_dict(allow_missing, strict, allow_dataset_change)))
    else:
        text = compare_report(
            comparison, samples, allow_missing, terminal_width(), strict, allow_dataset_change
        )
        click.echo(text)
        if reviewed:
            click.echo(reviewed)
    gate = comparison.gate(allow_missing, strict, allow_dataset_change)
    if fail_on_regression and not gate.passed:
        for reason in gate.reasons:
            click.echo(f"FAIL: {terminal_safe(reason)}", err=True)
        sys.exit(1)


@main.command()
@click.argument("run_id")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "otlp"]), default="jsonl")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Write to this file [default: stdout]."
)
@click.option(
    "--as-sent",
    is_flag=True,
    help="otlp: the text as OTLP delivery sends it (the run's capture mode and redact= "
    "applied) [default: the store's full text].",
)
@click.option(
    "--reviews", is_flag=True, help="Export the run's human reviews instead of its results."
)
@store_option
def export(
    run_id: str, fmt: str, output: str | None, as_sent: bool, reviews: bool, store: str | None
) -> None:
    """Export every result of RUN_ID as JSON lines, CSV or an OTLP/JSON trace file.

    jsonl: each result dict exactly as get_run_results returns it. csv: columns run_id,
    sample_id, timestamp, trace_id, span_id, one per flattened metric (e.g.
    qa.token_f1.score), then data and metadata as JSON. otlp: the run's spans as evaltrace
    sends them, one ExportTraceServiceRequest per line as a collector's file exporter writes
    them, with the store's full text unless --as-sent; `evaltrace import FILE` reads it back.
    --reviews: every review of the run, oldest first (a sample's last is its standing one),
    as get_reviews returns them (jsonl or csv).
    """
    if as_sent and fmt != "otlp":
        raise click.UsageError("--as-sent applies to --format otlp only")
    if reviews:
        if fmt == "otlp":
            raise click.UsageError("--reviews writes jsonl or csv")
        with _reader(store) as reader:
            _run_results_exist(reader, run_id)
            with _output(output) as out:
                for line in review_lines(reader.get_reviews(run_id), fmt):
                    out.write(line)
        return
    with _reader(store) as reader:
        if fmt == "otlp":
            from ._config import Settings
            from .delivery._portable import export_run
            from .schema._walk import Limits

            settings = Settings.from_env(store=reader.path)
            _streamed(reader, run_id)  # an unknown run is an error before the file is made
            lines = export_run(
                reader.path,
                run_id,
                Limits(settings.max_metric_attributes, settings.max_metric_string),
                as_sent=as_sent,
            )
        else:
            lines = export_lines(
                _streamed(reader, run_id), fmt, again=lambda: reader.iter_run_results(run_id)
            )
        with _output(output) as out:
            for count, line in enumerate(lines, 1):  # streamed: memory stays bounded
                out.write(line)
                if count % PROGRESS_EVERY == 0:
                    click.echo(f"exporting {terminal_safe(run_id)}: {count} lines", err=True)


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
    """Send what the store's outbox holds, and the run summaries no delivered one covers, to
    the collector; exit 1 if some stays pending. Each run the store holds is summarised as
    closed (its writer is gone): readers of a sharded run stop waiting for it."""
    from .delivery._resend import sync as run_sync

    with _reader(store) as reader:  # refuses a missing or foreign file before writing
        path = reader.path
    try:
        if endpoint:
            check_endpoint(endpoint, "--endpoint", grpc=protocol == "grpc")
        report = run_sync(path, endpoint=endpoint, protocol=protocol, timeout=timeout, spool=spool)
    except EvalTraceError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{report.exported} spans delivered to {report.destination}; "
        f"{report.pending_after} pending (of {report.pending_before})"
        + (f"; {report.summaries} run summaries sent" if report.summaries else "")
        + (f"; {report.log_records} evaluation log records" if report.log_records else "")
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


def _ui_source(
    store: str | None, jaeger: str | None, tempo: str | None, *, review_store: bool = False
) -> Any:
    """An ``evaltrace.ui.Source`` over the one backend asked for (the store by default);
    with ``review_store``, ``--store`` may name the store reviews go to beside a remote one."""
    if jaeger is not None and tempo is not None:
        raise click.UsageError("pass at most one of --jaeger, --tempo")
    if store is not None and (jaeger or tempo) and not review_store:
        raise click.UsageError("pass at most one of --store, --jaeger, --tempo")
    try:
        from . import ui
    except ImportError as exc:
        raise click.ClickException(f"{exc.name} is missing: pip install 'evaltrace[ui]'") from exc
    if jaeger or tempo:
        try:
            return ui.open_source(jaeger=jaeger, tempo=tempo)
        except EvalTraceError as exc:
            raise click.ClickException(str(exc)) from exc
    path = _store_path(store)
    if not os.path.isfile(path):
        raise click.ClickException(f"no evaltrace store at {path}: pass --store PATH")
    return ui.open_source(store=path)


@main.command()
@backend_options
@click.option("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0: every one).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, help="Port to listen on.")
@click.option(
    "--allow-host",
    "allow",
    multiple=True,
    metavar="NAME",
    help="Another Host name to answer (a proxy's, a DNS name); others get 400.",
)
def ui(
    store: str | None,
    jaeger: str | None,
    tempo: str | None,
    host: str,
    port: int,
    allow: tuple[str, ...],
) -> None:
    """Serve the runs, run and compare pages of a store, Jaeger or Tempo (needs evaltrace[ui]).

    A sample page takes a person's review (pass/fail and a note) into the store read, or with
    --jaeger/--tempo into the store --store names (else the default one); sent over OTLP when
    OTEL_EXPORTER_OTLP_ENDPOINT is set.

    Every page's state is in its URL: /?dataset=D, /runs/RUN_ID?sort=M&where=M<0.5,
    /compare?a=RUN_A&b=RUN_B&lower=*latency*. Samples link to their traces when
    EVALTRACE_JAEGER_UI_URL or EVALTRACE_GRAFANA_URL is set.
    """
    source = _ui_source(store, jaeger, tempo, review_store=True)
    from .ui import serve

    desk = _review_desk(store, source, remote=bool(jaeger or tempo))
    click.echo(f"evaltrace ui on http://{host}:{port}/ reading {source.label} (Ctrl-C stops)")
    click.echo(f"reviews: {desk.refusal or 'written to ' + desk.label}", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: listening on {host}: other machines can read these runs", err=True)
    try:
        serve(source, host, port, allow, desk)
    finally:
        desk.close()
        source.close()


def _review_desk(store: str | None, source: Any, *, remote: bool) -> Any:
    """Where the UI writes reviews: the store it reads, or with a remote backend the store
    given by ``--store`` (else the default one), whose reviews it also shows beside the
    backend's; a store that cannot be written shows reviews and takes none (says why)."""
    from ._review_writer import ReviewWriter
    from .schema._review import ordered
    from .ui import ReviewDesk

    try:
        path = store_path(store)
    except EvalTraceError as exc:
        raise click.ClickException(str(exc)) from exc
    if path is None:
        refusal = "the store is turned off (EVALTRACE_STORE=off): pass --store PATH"
        return ReviewDesk(read=source.adapter.get_reviews, refusal=refusal, label="")
    opened: list[ReviewWriter] = []
    lock = threading.Lock()

    def writer() -> ReviewWriter:
        """Opened at the first review when the store is not there yet (a UI on Jaeger that
        takes no review makes no store)."""
        with lock:
            if not opened:
                opened.append(ReviewWriter(path))
            return opened[0]

    refused: str | None = None
    if os.path.exists(path):
        try:
            refused = writer().refusal
        except EvalTraceError as exc:
            raise click.ClickException(str(exc)) from exc
    read = source.adapter.get_reviews
    if remote:
        local = SQLiteQueryAdapter(path)

        def read(run_id: str) -> Any:  # the backend's reviews and those not delivered yet
            return ordered([*local.get_reviews(run_id), *source.adapter.get_reviews(run_id)])

    def close() -> None:
        for one in opened:
            one.close()

    return ReviewDesk(
        read=read,
        write=lambda *args, **kwargs: writer().review(*args, **kwargs),
        refusal=refused,
        close=close,
        label=f"the SQLite store {path}",
    )


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
    with _output(output) as out:
        out.write(html)
    click.echo(f"wrote {terminal_safe(output)}", err=True)


@main.command()
@click.argument("trace_id")
@click.option("--span", "span_id", metavar="SPAN_ID", help="Only results linked to this span.")
@json_option
@store_option
def linked(trace_id: str, span_id: str | None, as_json: bool, store: str | None) -> None:
    """List the evaluations (of any run) linked to the application trace TRACE_ID."""
    with _reader(store) as reader:
        rows = reader.linked_results(trace_id, span_id)
    if as_json:
        click.echo("".join(export_lines(rows, "jsonl")), nl=False)
    elif rows:
        click.echo(results_table(rows))
    else:
        raise click.ClickException(f"no results are linked to trace {trace_id}")


class _ImportGroup(click.Group):
    """``evaltrace import [--store PATH] FILE`` is ``evaltrace import otlp ...``: a first
    argument that is neither a subcommand nor --help starts the ``otlp`` command's."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["otlp", *args]
        return super().parse_args(ctx, args)


@main.group("import", cls=_ImportGroup)
def import_() -> None:
    """Import a run: `evaltrace import FILE` reads an OTLP/JSON trace file (`export --format
    otlp`'s, or a collector's file exporter's), the same as `evaltrace import otlp FILE`; the
    other subcommands read another framework's results file as one run (printing its id).

    Importing a file twice adds nothing.
    """


@import_.command("otlp")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@store_option
def import_otlp(file: str, store: str | None) -> None:
    """An OTLP/JSON trace file, into the store in one transaction (all or nothing).

    Prints the run ids it holds; spans the store holds already are not added again, and
    other services' spans (in a collector's file) are skipped and counted.
    """
    from .delivery._portable import import_run_file

    path = _store_path(store)
    try:
        with click.open_file(file, encoding="utf-8") as lines:
            report = import_run_file(lines, file, path)
    except (EvalTraceError, OSError, UnicodeDecodeError, sqlite3.Error) as exc:
        raise click.ClickException(str(exc)) from exc
    for run in report.runs:
        click.echo(run)
    click.echo(
        f"imported {report.added + report.held} results of {len(report.runs)} run(s) into "
        f"{path}: {report.added} new"
        + (f", {report.held} already there" if report.held else "")
        + (f"; skipped {report.foreign} spans not evaltrace's" if report.foreign else "")
        + (f"; skipped {report.summaries} run-summary spans" if report.summaries else ""),
        err=True,
    )


def import_options(f: F) -> F:
    """``--project``, ``--run-id`` and ``--store`` of the ``import`` commands."""
    f = click.option("--run-id", help="Run id [default: one derived from the file's eval id].")(f)
    f = click.option("--project", help="Project name [default: the framework's name].")(f)
    return store_option(f)


def _import(
    kind: str, path: str, project: str | None, run_id: str | None, store: str | None
) -> None:
    from .integrations._importing import import_file

    try:
        click.echo(import_file(kind, path, _store_path(store), project or kind, run_id))
    except (ImportError, ValueError, EvalTraceError, OSError, sqlite3.Error) as exc:
        raise click.ClickException(str(exc)) from exc


@import_.command("inspect")
@click.argument("log", type=click.Path(exists=True, dir_okay=False))
@import_options
def import_inspect(log: str, project: str | None, run_id: str | None, store: str | None) -> None:
    """An Inspect AI log (.eval or .json), read with Inspect's own reader (needs inspect-ai)."""
    _import("inspect", log, project, run_id, store)


@import_.command("promptfoo")
@click.argument("results", type=click.Path(exists=True, dir_okay=False))
@import_options
def import_promptfoo(
    results: str, project: str | None, run_id: str | None, store: str | None
) -> None:
    """The results file of `promptfoo eval -o results.json`."""
    _import("promptfoo", results, project, run_id, store)
