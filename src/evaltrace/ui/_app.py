"""The ``evaltrace ui`` web app: Starlette routes that turn query parameters into views.

Routes only parse the request, call the source and a pure view, and render; every view's
state is in its URL, so a page can be pasted into a PR comment.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from asgi_csrf import asgi_csrf
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .._config import TraceLinks
from .._exceptions import (
    ConfigurationError,
    EvalTraceError,
    InvalidInputError,
    InvalidInputTypeError,
)
from ..query import HistoryFilter, RunScores
from ._compare import CompareModel, CompareQuery, compare_view, comparison, dataset_check
from ._links import href, sample_path
from ._many import ManyQuery, many_view, run_samples
from ._render import STATIC, render
from ._reviews import (
    LOOPBACK_CLIENTS,
    ReviewDesk,
    from_this_page,
    latest_by_sample,
    review_panel,
)
from ._run import RunQuery, run_view
from ._run_columns import ColumnTable
from ._runs import RunsQuery, runs_view
from ._sample import ab_view, sample_view
from ._security import SecurityHeaders, allowed_hosts
from ._source import TTL, Source

__all__ = ["create_app"]


def _params(request: Request) -> Mapping[str, Sequence[str]]:
    query = request.query_params
    return {key: query.getlist(key) for key in query}


async def _no_body() -> dict[str, Any]:
    """The ``receive`` of a response sent before the request body was read."""
    return {"type": "http.disconnect"}


def create_app(
    source: Source,
    links: TraceLinks,
    hosts: Sequence[str] | None = None,
    reviews: ReviewDesk | None = None,
) -> Starlette:
    """The app over ``source``; trace links per ``links``; answers only requests whose
    ``Host`` is one of ``hosts`` (default: the loopback names), with security headers.
    ``reviews``: where reviews are written (``ReviewDesk``); without it they are shown only."""
    desk = reviews or ReviewDesk(
        read=source.adapter.get_reviews,
        refusal="this UI was started without a store to write reviews to",
    )

    memo_lock = threading.Lock()

    def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(render(template, source=source.label, **context), status_code=status)

    def problem(status: int, title: str, message: str) -> HTMLResponse:
        return page("error.html", status, title=title, message=message)

    key_type = tuple[str, str, tuple[str, ...], float, float, str]
    memo: OrderedDict[key_type, tuple[float, CompareModel]] = OrderedDict()
    comparing: dict[key_type, threading.Lock] = {}

    def compared(q: CompareQuery) -> CompareModel | Response:
        """``comparison`` of the runs' score columns (never their results), kept for the
        source's TTL: the page is re-requested for every metric, page or swap click. One
        computation per comparison at a time; no lock is held over it that another page
        waits for (``/`` answers meanwhile: ``scale.index_during_compare``)."""
        key = (q.a, q.b, q.lower, q.threshold, q.alpha, q.correction)
        with memo_lock:
            hit = memo.get(key)
            if hit is not None and source.clock() - hit[0] <= TTL:
                return hit[1]
            working = comparing.setdefault(key, threading.Lock())
        with working:
            with memo_lock:
                hit = memo.get(key)
            if hit is not None and source.clock() - hit[0] <= TTL:
                return hit[1]
            scores_a, scores_b = source.scores(q.a), source.scores(q.b)
            for run_id, scores in ((q.a, scores_a), (q.b, scores_b)):
                if not len(scores):
                    return problem(
                        404, "No such run", f"no results for run {run_id!r} in {source.label}"
                    )
            # Labels are read for the samples a page shows, by rowid: the model keeps each
            # run's sample ids (its moves name them anyway) and rowids, not its columns.
            rows = {
                s.run_id: RunScores(s.run_id, s.sample_ids, {}, None, s.row_ids)
                for s in (scores_a, scores_b)
            }

            def read(run_id: str, sample_ids: Sequence[str]) -> list[dict[str, Any]]:
                return source.sample_results(run_id, sample_ids, rows.get(run_id))

            dataset, unchecked = dataset_check(
                source.fingerprints,
                source.evaluators,
                (q.a, q.b),
                (len(scores_a), len(scores_b)),
                source.columnar_from,
            )
            model = comparison(
                scores_a,
                scores_b,
                q.lower,
                q.threshold,
                read,
                q.alpha,
                q.correction,
                dataset,
                unchecked,
            )
            del scores_a, scores_b
            with memo_lock:
                memo[key] = (source.clock(), model)
                while len(memo) > 4:
                    memo.popitem(last=False)
                comparing.pop(key, None)
        return model

    def runs(request: Request) -> Response:
        query = RunsQuery.from_params(_params(request))
        try:
            history = source.history(query.history_filter())
        except (InvalidInputError, InvalidInputTypeError) as exc:
            return problem(400, "Bad filter", str(exc))
        return page("runs.html", view=runs_view(history, query), title="Runs")

    def run(request: Request) -> Response:
        run_id = request.path_params["run_id"]
        table = source.table(run_id)
        if table is None:
            return problem(404, "No such run", f"no results for run {run_id!r} in {source.label}")
        view = run_view(table, RunQuery.from_params(_params(request)), links, request.url.path)
        return page(
            "run.html",
            400 if view["error"] else 200,
            view=view,
            title=run_id,
            others=_others(table.run),
            # a run read from its columns was not read whole: a store is one writer anyway
            writers=None if isinstance(table, ColumnTable) else source.completeness(run_id),
            reviews=latest_by_sample(desk.reviews(run_id)),
        )

    def sample(request: Request) -> Response:
        run_id, sample_id = request.path_params["run_id"], request.path_params["sample_id"]
        scores = source.scores(run_id, metrics=())
        if not len(scores):
            return problem(404, "No such run", f"no results for run {run_id!r} in {source.label}")
        view = sample_view(source.sample_results(run_id, [sample_id], scores), sample_id, links)
        if view is None:
            return problem(
                404, "No such sample", f"run {run_id!r} has no result for sample {sample_id!r}"
            )
        token = request.scope.get("csrftoken")
        review = review_panel(
            desk.reviews(run_id), run_id, sample_id, desk, token() if token else None
        )
        response = page(
            "sample.html",
            view=view,
            review=review,
            title=f"{view['label'] or sample_id} · {run_id}",
        )
        # The review form's POST must carry this page's Origin: under ``no-referrer`` browsers
        # send ``Origin: null``. Links to other sites (Jaeger, Grafana) still get no referrer.
        response.headers["referrer-policy"] = "same-origin"
        return response

    def read_runs(run_ids: Sequence[str]) -> list[list[dict[str, Any]]] | Response:
        """Each run's results, or the 404 page naming the first run that has none."""
        read = []
        for run_id in run_ids:
            results = source.results(run_id)
            if not results:
                return problem(
                    404, "No such run", f"no results for run {run_id!r} in {source.label}"
                )
            read.append(results)
        return read

    def ab(request: Request) -> Response:
        params = _params(request)
        query = CompareQuery.from_params(params)
        sample_id = (params.get("id") or [""])[0]
        if not query.a or not query.b or not sample_id:
            usage = "open /compare/sample?a=RUN_A&b=RUN_B&id=SAMPLE"
            return problem(400, "Two runs and a sample needed", usage)
        if query.problem:
            return problem(400, "Bad comparison parameter", query.problem)
        model = compared(query)
        if isinstance(model, Response):
            return model
        regressed = model.moves.subset(query.metric or None, better=False).sample_ids()
        results_a = source.sample_results(query.a, [sample_id])
        results_b = source.sample_results(query.b, [sample_id])
        view = ab_view(results_a, results_b, sample_id, query.params(), regressed, links)
        if view is None:
            missing = f"neither {query.a!r} nor {query.b!r} has sample {sample_id!r}"
            return problem(404, "No such sample", missing)
        return page(
            "ab.html",
            view=view,
            reviews_a=latest_by_sample(desk.reviews(query.a)),
            reviews_b=latest_by_sample(desk.reviews(query.b)),
            title=f"{view['label'] or sample_id} · A/B",
        )

    def _others(run: Mapping[str, Any]) -> list[dict[str, str]]:
        """The other runs of this run's project and dataset, newest first (compare with…);
        never a run of another project or dataset."""
        try:
            history = source.history(
                HistoryFilter.from_kwargs(None, {"project_name": run["project"]})
            )
        except EvalTraceError:
            return []  # the page stands without the menu
        return [
            {"run_id": str(r["run_id"]), "started": str(r["started_at"])[:16].replace("T", " ")}
            for r in history
            if r["run_id"] != run["run_id"]
            and r["project_name"] == run["project"]
            and r["dataset_name"] == run["dataset"]
        ]

    def many(params: Mapping[str, Sequence[str]]) -> Response:
        query = ManyQuery.from_params(params)
        if len(query.runs) == 2:  # two picked runs: the paired A/B page, oldest pick as A
            a, b = sorted(
                query.runs, key=lambda r: str((source.results(r) or [{}])[0].get("timestamp"))
            )
            return RedirectResponse(href("/compare", {}, a=a, b=b), status_code=303)
        if len(query.runs) < 2:
            return problem(400, "Runs needed", "pick two or more runs: /compare?runs=A,B,C")
        read = read_runs(query.runs)
        if isinstance(read, Response):
            return read
        view = many_view(
            [run_samples(r, results) for r, results in zip(query.runs, read, strict=True)], query
        )
        return page("many.html", view=view, title=f"{len(query.runs)} runs")

    def compare(request: Request) -> Response:
        params = _params(request)
        if "runs" in params:
            return many(params)
        query = CompareQuery.from_params(params)
        if not query.a or not query.b:
            return problem(400, "Two runs needed", "open /compare?a=RUN_A&b=RUN_B")
        if query.problem:
            return problem(400, "Bad comparison parameter", query.problem)
        model = compared(query)
        if isinstance(model, Response):
            return model
        return page(
            "compare.html",
            view=compare_view(model, query),
            reviews_a=latest_by_sample(desk.reviews(query.a)),
            reviews_b=latest_by_sample(desk.reviews(query.b)),
            title=f"{query.a} vs {query.b}",
        )

    def threaded(handler: Any) -> Any:
        """Adapters block (SQLite, HTTP): run each request in the thread pool; backend errors
        become a page naming the backend's own message."""

        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await run_in_threadpool(handler, request)
            except EvalTraceError as exc:
                return problem(502, "Backend error", str(exc))
            return response

        return endpoint

    def write_review(request: Request, form: Mapping[str, str]) -> Response:
        run_id, sample_id = form.get("run_id", ""), form.get("sample_id", "")
        # the sample's rows only: a run of a million results is never read whole for a review
        result = next(iter(source.sample_results(run_id, [sample_id])), None)
        if result is None:
            return problem(404, "No such sample", f"run {run_id!r} has no sample {sample_id!r}")
        assert desk.write is not None  # takes_reviews
        try:
            desk.write(
                run_id,
                sample_id,
                form.get("verdict", ""),
                form.get("note") or None,
                reviewer=form.get("reviewer") or None,
                result=result,
            )
        except (InvalidInputError, InvalidInputTypeError, ConfigurationError) as exc:
            return problem(400, "Review not recorded", str(exc))
        return RedirectResponse(sample_path(run_id, sample_id) + "#review", status_code=303)

    async def post_review(request: Request) -> Response:
        """A review from the sample page's form: only from this machine, from this UI's own
        page (Origin), with the form's CSRF token (checked before this runs), into a store
        that takes it."""
        client = request.client.host if request.client else ""
        if client not in LOOPBACK_CLIENTS:
            return problem(403, "Review refused", "reviews are taken only from this machine")
        if not from_this_page(request.headers, request.url.scheme):
            return problem(403, "Review refused", "the request did not come from this UI's page")
        if not desk.takes_reviews:
            return problem(403, "Review refused", desk.refusal or "this UI takes no reviews")
        form = await request.form()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        try:
            response: Response = await run_in_threadpool(write_review, request, fields)
        except EvalTraceError as exc:
            return problem(502, "Backend error", str(exc))
        return response

    async def csrf_failed(scope: Any, send: Any, _reason: Any) -> None:
        """asgi-csrf refused the post: a page that says what to do, not a bare message."""
        response = problem(
            403,
            "Review refused",
            "the form's CSRF token is missing or out of date (the UI may have restarted): "
            "reload the sample page and review again",
        )
        await response(scope, _no_body, send)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/", threaded(runs)),
            Route("/runs/{run_id:path}/samples/{sample_id:path}", threaded(sample)),
            Route("/runs/{run_id:path}", threaded(run)),
            Route("/compare", threaded(compare)),
            Route("/compare/sample", threaded(ab)),
            Route("/reviews", post_review, methods=["POST"]),
            Route("/healthz", health),
            Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),  # outermost: a refused Host gets the headers too
            Middleware(
                TrustedHostMiddleware,
                allowed_hosts=list(hosts) if hosts is not None else allowed_hosts("127.0.0.1"),
                www_redirect=False,
            ),
            # CSRF: a double-submit cookie; /reviews is checked even without a cookie
            Middleware(
                asgi_csrf,
                signing_secret=secrets.token_hex(32),
                always_protect={"/reviews"},
                send_csrf_failed=csrf_failed,
            ),
        ],
    )
